// examples/scratch.cpp, the lesson in one page, runs and agrees with `softreg train`: both draw
// the initial weights and every shuffle from the same seeded generator in the same order, so the
// plain float loop and the fused kernel must print the same epochs up to float rounding.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "run.hpp"

namespace softreg::test {
namespace {

struct Epoch {
  double loss, train_acc, test_acc;
};

std::vector<Epoch> epochs(const std::string& out) {
  static const std::regex line(
      R"(^epoch \d+  loss ([0-9.]+)  train acc ([0-9.]+)  test acc ([0-9.]+))");
  std::vector<Epoch> e;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line))
      e.push_back({std::stod(m[1]), std::stod(m[2]), std::stod(m[3])});
  }
  return e;
}

TEST(ExampleTest, ScratchRunsTheLessonAndAgreesWithSoftregTrain) {
  const std::string exe = SOFTREG_SCRATCH_EXE;
  if (exe.empty()) GTEST_SKIP() << "examples are not built (SOFTREG_BUILD_EXAMPLES=OFF)";
  TempDir dir;
  write_tiny_fashion(dir.path(), 600, 200);
  const RunResult scratch = run_command("'" + exe + "' '" + dir.path().string() + "' 3");
  ASSERT_EQ(scratch.status, 0) << scratch.err;
  const RunResult fast = run_softreg("train --data '" + dir.path().string() + "' --epochs 3");
  ASSERT_EQ(fast.status, 0) << fast.err;
  const auto a = epochs(scratch.out), b = epochs(fast.out);
  ASSERT_EQ(a.size(), 3u) << scratch.out;
  ASSERT_EQ(b.size(), 3u) << fast.out;
  for (std::size_t i = 0; i < 3; ++i) {
    // Printed with 4 decimals; summation orders differ, so allow 2 in the last digit.
    EXPECT_NEAR(a[i].loss, b[i].loss, 2e-4) << "epoch " << i + 1;
    EXPECT_NEAR(a[i].train_acc, b[i].train_acc, 2e-4) << "epoch " << i + 1;
    EXPECT_NEAR(a[i].test_acc, b[i].test_acc, 2e-4) << "epoch " << i + 1;
  }
  EXPECT_LT(a[2].loss, a[0].loss);  // it learns
  EXPECT_GT(a[2].test_acc, 0.9);    // the tiny set's classes are separable
}

// examples/classify.cpp, the library on the caller's arrays: it reads the float32 table in place,
// converges, and classifies a feverish, low-oxygen patient sick and the other well.
TEST(ExampleTest, ClassifyFitsTheCallersArraysInPlace) {
  const std::string exe = SOFTREG_CLASSIFY_EXE;
  if (exe.empty()) GTEST_SKIP() << "examples are not built (SOFTREG_BUILD_EXAMPLES=OFF)";
  const RunResult r = run_command("'" + exe + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("read in place: yes"), std::string::npos) << r.out;
  const std::regex sick(R"(patient 0: P\(sick\) = 0\.(9\d\d|[5-8]\d\d) -> sick)");
  const std::regex well(R"(patient 1: P\(sick\) = 0\.([0-4]\d\d) -> well)");
  EXPECT_TRUE(std::regex_search(r.out, sick)) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, well)) << r.out;
}

}  // namespace
}  // namespace softreg::test
