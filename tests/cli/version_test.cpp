// softreg --version and softreg version: what this build is, as a user (or a bug report) asks.
#include "softreg/version.hpp"

#include <gtest/gtest.h>

#include <string>

#include "run.hpp"
#include "softreg/kernel.hpp"

namespace softreg::test {
namespace {

TEST(CliVersion, VersionFlagAndCommandSayWhatThisBuildIs) {
  const RunResult flag = run_softreg("--version");
  ASSERT_EQ(flag.status, 0) << flag.err;
  EXPECT_EQ(flag.err, "");
  const BuildInfo b = build_info();
  EXPECT_EQ(flag.out.rfind("softreg " + b.version + "\ncommit: " + b.commit + "\nbuild: ", 0), 0u)
      << flag.out;
  EXPECT_NE(b.version, "unknown");
  EXPECT_EQ(b.kernel_lanes, kernel_lanes());
  for (const std::string& part : {"\nkernels: " + simd_name(kernel_lanes()) + " (" +
                                      std::to_string(kernel_lanes()) + " floats a vector)\n",
                                  std::string("\nMPI: ") + (b.mpi ? "yes" : "no") + "\n",
                                  std::string("\nLibTorch backend: ")})
    EXPECT_NE(flag.out.find(part), std::string::npos) << part << "\n" << flag.out;
  const RunResult command = run_softreg("version");
  ASSERT_EQ(command.status, 0) << command.err;
  EXPECT_EQ(command.out, flag.out);
  // Without a subcommand (and without --version) it is still a usage error.
  const RunResult none = run_softreg("");
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("A subcommand is required"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace softreg::test
