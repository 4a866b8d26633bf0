// softreg train --checkpoint / --resume as a user runs them: 10 epochs equal 5 resumed for 5 more
// (the model's weights bit for bit, the metrics' rows), for 1 and 2 threads, on images, sparse
// rows in memory and streamed, and from a checkpoint of an earlier softreg's fingerprints; a
// truncated, altered or foreign checkpoint, other data and options that contradict the
// checkpoint exit 2 with one line naming the file or the option.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "expect.hpp"
#include "fixtures.hpp"
#include "run.hpp"
#include "softreg/data.hpp"
#include "softreg/io.hpp"
#include "softreg/random.hpp"

namespace softreg::test {
namespace {

namespace fs = std::filesystem;

RunResult train(const std::string& args) {
  return run_softreg("train " + args);
}

void expect_ok(const RunResult& r) {
  EXPECT_EQ(0, r.status) << describe(r);
}

// The weights and bias of a model file, as bytes.
std::vector<float> weights_of(const fs::path& file) {
  const SavedModel m = load_model(file);
  std::vector<float> all(m.model.weight().begin(), m.model.weight().end());
  all.insert(all.end(), m.model.bias().begin(), m.model.bias().end());
  return all;
}

void expect_same_weights(const fs::path& a, const fs::path& b) {
  const std::vector<float> x = weights_of(a), y = weights_of(b);
  ASSERT_EQ(x.size(), y.size());
  EXPECT_EQ(0, std::memcmp(x.data(), y.data(), x.size() * sizeof(float)))
      << a << " and " << b << " differ";
}

// A LIBSVM file of n rows over 300 columns in 4 classes (each class likelier on its columns).
void write_rows(const fs::path& file, std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::string text;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t y = rng.below(4);
    text += std::to_string(y);
    for (std::size_t j = 1; j <= 300; ++j)
      if (rng.uniform() < (j % 4 == y ? 0.12 : 0.04))
        text += " " + std::to_string(j) + ":" + std::to_string(1 + rng.below(3));
    text += "\n";
  }
  write_text(file, text);
}

class CheckpointCli : public testing::Test {
 protected:
  void SetUp() override {
    write_tiny_fashion(dir_.path(), 500, 100);
    write_rows(path("train.svm"), 900, 1);
    write_rows(path("test.svm"), 200, 2);
  }
  fs::path path(const std::string& name) const { return dir_.path() / name; }
  std::string images() const { return "--data " + quoted(dir_.path()); }
  std::string rows() const {
    return "--libsvm " + quoted(path("train.svm")) + " --test " + quoted(path("test.svm")) +
           " --solver sgd --batch-size 16";
  }
  // `options` run for 10 epochs, and for 5 with a checkpoint resumed for 5 more on `threads`:
  // the same weights.
  void expect_resumed_equal(const std::string& options, unsigned threads) {
    const std::string t = " --threads " + std::to_string(threads);
    expect_ok(train(options + t + " --epochs 10 --out " + quoted(path("full.st"))));
    expect_ok(train(options + t + " --epochs 5 --checkpoint " + quoted(path("c.ckpt")) +
                    " --metrics " + quoted(path("half.csv"))));
    const RunResult r =
        train("--resume " + quoted(path("c.ckpt")) + " --epochs 10" + t + " --out " +
              quoted(path("resumed.st")) + " --metrics " + quoted(path("resumed.csv")));
    expect_ok(r);
    EXPECT_NE(r.out.find("resuming " + path("c.ckpt").string() + " after epoch 5 of 10"),
              std::string::npos)
        << r.out;
    // The epoch lines of the resumed run: 6 to 10.
    std::vector<std::string> epochs;
    for (const std::string& line : lines_of(r.out))
      if (line.rfind("epoch ", 0) == 0) epochs.push_back(line.substr(0, line.find("  ")));
    EXPECT_EQ((std::vector<std::string>{"epoch 6", "epoch 7", "epoch 8", "epoch 9", "epoch 10"}),
              epochs)
        << r.out;
    expect_same_weights(path("full.st"), path("resumed.st"));
    // The metrics of the resumed run hold all 10 epochs, the first 5 as the first run wrote them.
    const auto half = lines_of(slurp(path("half.csv")));
    const auto all = lines_of(slurp(path("resumed.csv")));
    ASSERT_EQ(6u, half.size());
    ASSERT_EQ(11u, all.size());
    for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(half[i], all[i]);
  }
  TempDir dir_;
};

TEST_F(CheckpointCli, ImagesResumedEqualTenEpochsOnOneThread) {
  expect_resumed_equal(images() + " --momentum 0.9 --average 4 --schedule step --step-every 3", 1);
}

TEST_F(CheckpointCli, ImagesResumedEqualTenEpochsOnTwoThreads) {
  expect_resumed_equal(images() + " --momentum 0.9 --average 4 --schedule step --step-every 3", 2);
}

TEST_F(CheckpointCli, SparseRowsResumedEqualTenEpochsOnOneThread) {
  expect_resumed_equal(rows() + " --lr 0.5 --l2 0.001", 1);
}

TEST_F(CheckpointCli, SparseRowsResumedEqualTenEpochsOnTwoThreads) {
  expect_resumed_equal(rows() + " --lr 0.5 --average 3 --validation-split 0.2 --early-stopping 20",
                       2);
}

TEST_F(CheckpointCli, StreamedRowsResumedEqualTenEpochs) {
  expect_resumed_equal(rows() + " --stream 200 --optimizer adagrad --lr 0.2", 2);
}

TEST_F(CheckpointCli, ResumingTheOtherThreadCountGivesTheSameWeights) {
  const std::string options = images() + " --momentum 0.5";
  expect_ok(train(options + " --threads 2 --epochs 6 --out " + quoted(path("full.st"))));
  expect_ok(train(options + " --threads 1 --epochs 3 --checkpoint " + quoted(path("c.ckpt"))));
  expect_ok(train("--resume " + quoted(path("c.ckpt")) + " --epochs 6 --threads 2 --out " +
                  quoted(path("resumed.st"))));
  expect_same_weights(path("full.st"), path("resumed.st"));
}

// A checkpoint of an earlier softreg holds 16 hex digits of fingerprint() over the whole data
// set (not "rows:"): it resumes in one process, checked that way, and continues exactly; with
// the wrong digits it is refused as other data.
TEST_F(CheckpointCli, ACheckpointWithTheEarlierFingerprintsResumes) {
  const std::string options = images() + " --momentum 0.5";
  expect_ok(train(options + " --epochs 6 --out " + quoted(path("full.st"))));
  expect_ok(train(options + " --epochs 3 --checkpoint " + quoted(path("c.ckpt"))));
  Checkpoint c = load_checkpoint(path("c.ckpt"));
  ASSERT_TRUE(c.notes.at("fingerprint.train").starts_with("rows:"));
  const TrainTest data = load_fashion_mnist(dir_.path());
  const auto hex = [](std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  c.notes["fingerprint.train"] = hex(fingerprint(data.train));
  c.notes["fingerprint.test"] = hex(fingerprint(data.test));
  save_checkpoint(path("earlier.ckpt"), c.state, c.notes);
  expect_ok(train("--resume " + quoted(path("earlier.ckpt")) + " --epochs 6 --out " +
                  quoted(path("resumed.st"))));
  expect_same_weights(path("full.st"), path("resumed.st"));
  c.notes["fingerprint.train"] = hex(fingerprint(data.train) ^ 1);
  save_checkpoint(path("other.ckpt"), c.state, c.notes);
  const RunResult r = train("--resume " + quoted(path("other.ckpt")) + " --epochs 6");
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_NE(r.err.find("the checkpoint was trained on other training data"), std::string::npos)
      << describe(r);
}

class CheckpointCliRefuses : public CheckpointCli {
 protected:
  void SetUp() override {
    CheckpointCli::SetUp();
    expect_ok(
        train(images() + " --epochs 3 --momentum 0.9 --checkpoint " + quoted(path("c.ckpt"))));
    bytes_ = read_file(path("c.ckpt"));
  }
  RunResult resume(const std::string& file, const std::string& options = "--epochs 6") {
    return train("--resume " + quoted(path(file)) + " " + options);
  }
  std::vector<std::uint8_t> bytes_;
};

TEST_F(CheckpointCliRefuses, ATruncatedCheckpoint) {
  for (const std::size_t keep : {std::size_t{5}, std::size_t{400}, bytes_.size() - 8}) {
    write_file(path("cut.ckpt"), std::span<const std::uint8_t>(bytes_.data(), keep));
    expect_rejected(resume("cut.ckpt"), {path("cut.ckpt").string() + ":"});
  }
}

TEST_F(CheckpointCliRefuses, AnAlteredCheckpoint) {
  std::vector<std::uint8_t> altered = bytes_;
  altered[altered.size() / 2] ^= 1;
  write_file(path("altered.ckpt"), altered);
  expect_rejected(resume("altered.ckpt"),
                  {path("altered.ckpt").string() + ": the checksum does not match"});
}

TEST_F(CheckpointCliRefuses, AModelFile) {
  expect_ok(train(images() + " --epochs 1 --out " + quoted(path("model.st"))));
  expect_rejected(resume("model.st"), {path("model.st").string() + ": not a softreg checkpoint"});
}

TEST_F(CheckpointCliRefuses, ACheckpointOfAnotherModel) {
  // The checkpoint of a sparse run resumed on images: its recorded --libsvm contradicts --data.
  expect_ok(train(rows() + " --epochs 2 --checkpoint " + quoted(path("rows.ckpt"))));
  expect_rejected(resume("rows.ckpt", images() + " --epochs 4"),
                  {"--data", "was trained without it"});
}

TEST_F(CheckpointCliRefuses, OtherData) {
  // The same file names, other images in them (more of them).
  write_tiny_fashion(dir_.path(), 600, 100);
  expect_rejected(resume("c.ckpt"), {"--resume", "trained on other training data"});
}

TEST_F(CheckpointCliRefuses, OptionsThatContradictTheCheckpoint) {
  expect_rejected(resume("c.ckpt", "--epochs 6 --batch-size 64"),
                  {"--batch-size 64: the checkpoint", "with the default --batch-size 256"});
  expect_rejected(resume("c.ckpt", "--epochs 6 --momentum 0.5"),
                  {"--momentum 0.5: the checkpoint", "was trained with --momentum 0.9"});
  expect_rejected(resume("c.ckpt", "--epochs 6 --solver lbfgs"), {"--solver lbfgs"});
  expect_rejected(resume("c.ckpt", "--epochs 6 --model logistic"), {"--model logistic"});
  expect_rejected(resume("c.ckpt", "--epochs 6 --limit 100"), {"--limit 100"});
  expect_rejected(resume("c.ckpt", "--epochs 6 --seed 5"), {"--seed 5"});
  expect_rejected(resume("c.ckpt", "--epochs 3"),
                  {"--epochs 3: the checkpoint", "has done 3 epochs already"});
  expect_rejected(resume("nowhere.ckpt"), {path("nowhere.ckpt").string()});
  // What may change does: the threads, the outputs.
  expect_ok(resume("c.ckpt", "--epochs 4 --threads 1 --quiet --out " + quoted(path("m.st"))));
}

TEST_F(CheckpointCliRefuses, CheckpointsOfWhatIsNotSgd) {
  expect_rejected(train("--csv " + quoted(fs::path(SOFTREG_TEST_DATA) / "iris.csv") +
                        " --checkpoint " + quoted(path("x.ckpt"))),
                  {"--checkpoint", "--solver lbfgs"});
  expect_rejected(train(images() + " --checkpoint " + quoted(path("no/such/dir/x.ckpt"))),
                  {"--checkpoint"});
}

}  // namespace
}  // namespace softreg::test
