// Faults while softreg works (docs/security.md): Ctrl-C or SIGTERM during training, and a save
// that fails because the disk filled up, the folder was removed or the file system was made
// read-only after the run's checks passed. Each must stop promptly, keep any earlier file
// byte for byte, leave no temporary file, and say what happened in one line.
//
// The disk faults need a small file system of their own: a tmpfs mounted for the test, which
// needs root (CI runs as root). As another user they are skipped; as root a mount that fails
// fails the test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "child.hpp"
#include "expect.hpp"
#include "fixtures.hpp"
#include "run.hpp"
#include "softreg/io.hpp"

namespace softreg::test {
namespace {

namespace fs = std::filesystem;

// Names in `dir` that are temporary files of an atomic save.
std::vector<std::string> temporary_files(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos)
      names.push_back(e.path().filename().string());
  return names;
}

// A small model, saved where the test's earlier file should be.
std::string save_earlier_model(const fs::path& file) {
  SoftmaxRegression m(4, 2);
  ModelInfo info;
  info.class_names = {"a", "b"};
  info.input_shape = {2, 2};
  save_model(file, m, info);
  return slurp(file);
}

// ------------------------------------------------------------------ signals

class Interrupt : public testing::TestWithParam<int> {};

TEST_P(Interrupt, StopsWithinASecondSavesNothingAndExitsWith128PlusTheSignal) {
  TempDir dir;
  write_tiny_fashion(dir.path(), 2000, 100);
  const fs::path model = dir.path() / "m.safetensors";
  Child run("train --data " + quoted(dir.path()) + " --epochs 1000000 --out " + quoted(model) +
            " --report " + quoted(dir.path() / "report"));
  ASSERT_TRUE(run.wait_for_line("epoch 1 ", 60)) << "training did not start";
  const auto sent = std::chrono::steady_clock::now();
  run.signal(GetParam());
  const RunResult r = run.wait(10);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  EXPECT_FALSE(run.timed_out());
  EXPECT_LT(took, 1.0) << "seconds from the signal to the exit";
  EXPECT_EQ(r.signal, 0) << describe(r);
  EXPECT_EQ(r.status, 128 + GetParam()) << describe(r);
  EXPECT_TRUE(std::regex_match(
      r.err, std::regex(R"(softreg: interrupted (in|after) epoch \d+.*: nothing was saved\n)")))
      << describe(r);
  EXPECT_FALSE(fs::exists(model));
  EXPECT_FALSE(fs::exists(dir.path() / "report" / "report.html"));
  EXPECT_TRUE(temporary_files(dir.path()).empty());
}

INSTANTIATE_TEST_SUITE_P(Signals, Interrupt, testing::Values(SIGINT, SIGTERM),
                         [](const testing::TestParamInfo<int>& p) {
                           return p.param == SIGINT ? "CtrlC" : "Sigterm";
                         });

// ------------------------------------------------------------------ the disk under a save

// A tmpfs of `kib` KiB mounted on a fresh folder, unmounted at the end.
class Tmpfs {
 public:
  explicit Tmpfs(int kib) : path_(dir_.path() / "mnt") {
    fs::create_directory(path_);
    const RunResult r =
        run_command("mount -t tmpfs -o size=" + std::to_string(kib) + "k tmpfs " + quoted(path_));
    mounted_ = r.status == 0;
    error_ = r.err;
  }
  ~Tmpfs() {
    if (mounted_) run_command("umount " + quoted(path_));
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const fs::path& path() const { return path_; }
  RunResult make_read_only() { return run_command("mount -o remount,ro " + quoted(path_)); }

 private:
  TempDir dir_;
  fs::path path_;
  bool mounted_ = false;
  std::string error_;
};

#define REQUIRE_MOUNTED(fs_)                                                  \
  if (!(fs_).mounted()) {                                                     \
    if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";        \
    FAIL() << "running as root but mount -t tmpfs failed: " << (fs_).error(); \
  }

// Trains on tiny data for many epochs and stops the run after its first epoch, so that the disk
// can change under it before it saves; `change` does that, then the run goes on and saves.
RunResult train_then_change_the_disk(const fs::path& data, const fs::path& model,
                                     const std::function<void()>& change) {
  Child run("train --data " + quoted(data) + " --epochs 400 --out " + quoted(model));
  if (!run.wait_for_line("epoch 1 ", 60)) {
    ADD_FAILURE() << "training did not start";
    return run.wait(10);
  }
  run.signal(SIGSTOP);
  change();
  run.signal(SIGCONT);
  return run.wait(120);
}

void expect_failed_save(const RunResult& r, const fs::path& model, const std::string& why) {
  EXPECT_EQ(r.signal, 0) << describe(r);
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_EQ(lines_of(r.err).size(), 1u) << describe(r);
  EXPECT_EQ(r.err, "softreg: " + model.string() + ": " + why + "; the file was not changed\n")
      << describe(r);
}

TEST(FailedSave, FullDiskKeepsTheEarlierModel) {
  Tmpfs disk(64);
  REQUIRE_MOUNTED(disk);
  TempDir data;
  write_tiny_fashion(data.path(), 50, 20);
  const fs::path model = disk.path() / "m.safetensors";
  const std::string earlier = save_earlier_model(model);
  // Fill the disk but for 12 KiB: room for the check's empty file, not for a 31 KB model.
  const fs::space_info space = fs::space(disk.path());
  write_file(disk.path() / "filler",
             std::vector<std::uint8_t>(static_cast<std::size_t>(space.available) - 12 * 1024, 1));
  const RunResult r =
      run_softreg("train -q --epochs 1 --data " + quoted(data.path()) + " --out " + quoted(model));
  expect_failed_save(r, model, "writing failed (No space left on device)");
  EXPECT_EQ(slurp(model), earlier);
  EXPECT_TRUE(temporary_files(disk.path()).empty());
}

TEST(FailedSave, FileSystemMadeReadOnlyDuringTrainingKeepsTheEarlierModel) {
  Tmpfs disk(1024);
  REQUIRE_MOUNTED(disk);
  TempDir data;
  write_tiny_fashion(data.path(), 2000, 20);
  const fs::path model = disk.path() / "m.safetensors";
  const std::string earlier = save_earlier_model(model);
  const RunResult r = train_then_change_the_disk(data.path(), model, [&] {
    const RunResult ro = disk.make_read_only();
    ASSERT_EQ(ro.status, 0) << describe(ro);
  });
  expect_failed_save(
      r, model,
      "cannot create a file in folder " + disk.path().string() + " (Read-only file system)");
  EXPECT_EQ(slurp(model), earlier);
  EXPECT_TRUE(temporary_files(disk.path()).empty());
}

TEST(FailedSave, FolderRemovedDuringTraining) {
  TempDir data, out;
  write_tiny_fashion(data.path(), 2000, 20);
  const fs::path folder = out.path() / "models";
  fs::create_directory(folder);
  const fs::path model = folder / "m.safetensors";
  const RunResult r =
      train_then_change_the_disk(data.path(), model, [&] { fs::remove_all(folder); });
  expect_failed_save(r, model, "folder " + folder.string() + " does not exist");
  EXPECT_FALSE(fs::exists(folder));
}

}  // namespace
}  // namespace softreg::test
