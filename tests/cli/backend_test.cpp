// `softreg train --backend torch`: the lesson's concise model on LibTorch, run as a user runs it,
// and examples/concise_torch.cpp. Built with Torch, the backend must print the native engine's
// lines; built without, it must say so and exit 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "expect.hpp"
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

constexpr bool kHaveTorch = SOFTREG_TEST_HAVE_TORCH;

TEST(BackendCliTest, ParityTestOfTheTwoBackendsIsBuiltWithLibTorch) {
  // torch/parity_test.cpp (the two backends from the same W and b on the same batches) is
  // compiled only with LibTorch; without it this says why the parity check does not run.
  if (!kHaveTorch)
    GTEST_SKIP() << "the parity test of the native and torch backends (torch/parity_test.cpp) "
                    "is built only with LibTorch: Debian's libtorch-dev was not found";
  const std::filesystem::path exe = SOFTREG_PARITY_EXE;
  ASSERT_FALSE(exe.empty()) << "built with LibTorch but without the parity test";
  EXPECT_TRUE(std::filesystem::exists(exe)) << exe;
}

TEST(BackendCliTest, TorchPrintsTheNativeEnginesLines) {
  if (!kHaveTorch) GTEST_SKIP() << "built without LibTorch (Debian's libtorch-dev not found)";
  TempDir dir;
  write_tiny_fashion(dir.path(), 700, 150);
  const std::string common = "train --data '" + dir.path().string() + "' --epochs 3";
  const RunResult native = run_softreg(common);
  const RunResult torch = run_softreg(common + " --backend torch");
  ASSERT_EQ(native.status, 0) << native.err;
  ASSERT_EQ(torch.status, 0) << torch.err;
  const auto a = epochs(native.out), b = epochs(torch.out);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u) << torch.out;
  for (std::size_t i = 0; i < 3; ++i) {
    // Same start, same batches: equal up to float rounding, i.e. within 2 in the 4th decimal.
    EXPECT_NEAR(a[i].loss, b[i].loss, 2e-4) << "epoch " << i + 1;
    EXPECT_NEAR(a[i].train_acc, b[i].train_acc, 2e-4) << "epoch " << i + 1;
    EXPECT_NEAR(a[i].test_acc, b[i].test_acc, 2e-4) << "epoch " << i + 1;
  }
}

TEST(BackendCliTest, TorchReachesTheLessonsAccuracyOnFashionMnist) {
  if (!kHaveTorch) GTEST_SKIP() << "built without LibTorch (Debian's libtorch-dev not found)";
  const auto dir = real_fashion_mnist_dir();
  ASSERT_FALSE(dir.empty()) << no_real_fashion_mnist();
  const RunResult r = run_softreg("train --backend torch --data '" + dir.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto e = epochs(r.out);
  ASSERT_EQ(e.size(), 10u) << r.out;
  EXPECT_GE(e.back().test_acc, 0.83);  // the issue's bar; PyTorch gets 0.834 with this recipe
}

// What a build without LibTorch says. A build with LibTorch also makes softreg-without-torch, the
// same CLI without the plugin (tools/softreg/CMakeLists.txt), so this runs in every build.
TEST(BackendCliTest, TorchWithoutLibTorchIsAUsageError) {
  const std::string exe = kHaveTorch ? SOFTREG_EXE_WITHOUT_TORCH : SOFTREG_EXE;
  ASSERT_FALSE(exe.empty()) << "built with LibTorch but without softreg-without-torch";
  TempDir dir;
  write_tiny_fashion(dir.path(), 20, 10);
  // SOFTREG_TORCH_PLUGIN would name a plugin to load: unset, as a user without LibTorch has it.
  const RunResult r = run_command("env -u SOFTREG_TORCH_PLUGIN '" + exe +
                                  "' train --backend torch --data '" + dir.path().string() + "'");
  EXPECT_EQ(r.signal, 0) << describe(r);
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_EQ(r.out, "") << "nothing trained";
  EXPECT_EQ(r.err,
            "softreg: --backend torch: this softreg was built without LibTorch (install Debian's "
            "libtorch-dev and rebuild)\n");
  // The rest of that softreg works: the native backend trains.
  const RunResult native =
      run_command("'" + exe + "' train -q --epochs 1 --data '" + dir.path().string() + "'");
  EXPECT_EQ(native.status, 0) << describe(native);
  EXPECT_EQ(native.out.rfind("trained 1 epoch on 20 images", 0), 0u) << describe(native);
}

TEST(BackendCliTest, UnknownBackendIsAUsageError) {
  expect_rejected(run_softreg("train --backend tensorflow"),
                  {"--backend: tensorflow not in {native,torch}"});
}

TEST(BackendCliTest, ConciseExampleRunsTheLessonsSecondHalf) {
  const std::string exe = SOFTREG_CONCISE_EXE;
  if (exe.empty()) GTEST_SKIP() << "examples/concise_torch.cpp is built only with LibTorch";
  TempDir dir;
  write_tiny_fashion(dir.path(), 600, 200);
  const RunResult r = run_command("'" + exe + "' '" + dir.path().string() + "' 3");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto e = epochs(r.out);
  ASSERT_EQ(e.size(), 3u) << r.out;
  EXPECT_LT(e[2].loss, e[0].loss);
  EXPECT_GT(e[2].test_acc, 0.9);  // the tiny set's classes are separable
}

}  // namespace
}  // namespace softreg::test
