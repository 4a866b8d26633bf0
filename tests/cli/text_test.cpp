// softreg train / eval / predict --text: fastText's format end to end. The model records how its
// features were made, so predict and eval rebuild them; a model of text refuses other data and
// the reverse; a line that is not a document is exit 2 with its line number.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "expect.hpp"
#include "fixtures.hpp"
#include "softreg/io.hpp"

namespace softreg::test {
namespace {

namespace fs = std::filesystem;

// Two topics told apart by their words; the test documents mix the words into new sentences.
std::string corpus(int copies) {
  std::string s;
  for (int i = 0; i < copies; ++i) {
    s += "__label__space a rocket flies to the moon and the stars\n";
    s += "__label__space the telescope sees a distant galaxy\n";
    s += "__label__food a recipe for bread with flour and butter\n";
    s += "__label__food the soup tastes of garlic and onion\n";
  }
  return s;
}

class TextCli : public ::testing::Test {
 protected:
  void SetUp() override {
    train_ = dir_.path() / "train.txt";
    test_ = dir_.path() / "test.txt";
    model_ = dir_.path() / "m.safetensors";
    write_text(train_, corpus(25));
    write_text(test_,
               "__label__space the rocket and the galaxy\n__label__food bread and garlic soup\n");
  }
  TempDir dir_;
  fs::path train_, test_, model_;
};

TEST_F(TextCli, TrainSavesTheFeaturePipelineAndPredictRebuildsIt) {
  const RunResult r = run_softreg("train --text " + quoted(train_) + " --test " + quoted(test_) +
                                  " --hash-bits 12 --out " + quoted(model_));
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("100 rows x 4096 features"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("on 100 documents"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test acc 1.0000"), std::string::npos) << r.out;
  const SavedModel saved = load_model(model_);
  EXPECT_EQ(saved.model.inputs(), 4096u);
  const auto j = nlohmann::json::parse(saved.info.notes.at("text_features"));
  EXPECT_EQ(j["tokenizer"], "softreg-words-1");
  EXPECT_EQ(j["hash"], "xxh3_64");
  EXPECT_EQ(j["hash_bits"], 12);
  EXPECT_EQ(j["ngrams"], 2);
  EXPECT_EQ(j["seed"], 0);
  EXPECT_EQ(j["weighting"], "binary");
  EXPECT_EQ(j["norm"], "none");

  // The same documents through predict, from a file and from standard input (labels ignored,
  // and lines without one predicted too), give train's test predictions.
  const RunResult p =
      run_softreg("predict --format json --model " + quoted(model_) + " --text " + quoted(test_));
  ASSERT_EQ(p.status, 0) << describe(p);
  const auto lines = lines_of(p.out);
  ASSERT_EQ(lines.size(), 2u) << p.out;
  EXPECT_EQ(nlohmann::json::parse(lines[0])["class"], "space");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["class"], "food");
  const RunResult s =
      run_softreg("predict --format json --model " + quoted(model_) + " --text -",
                  "the rocket and the galaxy\n__label__food bread and garlic soup\n");
  ASSERT_EQ(s.status, 0) << describe(s);
  const auto from_stdin = lines_of(s.out);
  ASSERT_EQ(from_stdin.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i)
    EXPECT_EQ(nlohmann::json::parse(from_stdin[i])["logits"],
              nlohmann::json::parse(lines[i])["logits"])
        << "the same text gives the same features, labelled or not";

  const RunResult e = run_softreg("eval --model " + quoted(model_) + " --text " + quoted(test_));
  ASSERT_EQ(e.status, 0) << describe(e);
  EXPECT_NE(e.out.find("accuracy 1.0000"), std::string::npos) << e.out;
}

TEST_F(TextCli, AModelOfTextRefusesOtherDataAndTheReverse) {
  ASSERT_EQ(
      run_softreg("train -q --text " + quoted(train_) + " --hash-bits 10 --out " + quoted(model_))
          .status,
      0);
  const fs::path svm = dir_.path() / "rows.svm";
  write_text(svm, "1 1:1 3:2\n");
  expect_rejected(run_softreg("predict --model " + quoted(model_) + " --libsvm " + quoted(svm)),
                  {"a model of text", "give documents with --text"});
  expect_rejected(run_softreg("eval --model " + quoted(model_) + " --libsvm " + quoted(svm)),
                  {"a model of text"});
  const fs::path table = dir_.path() / "table.safetensors";
  write_text(dir_.path() / "t.svm", "1 1:1\n0 2:1\n1 1:1\n0 2:1\n1 1:1\n0 2:1\n");
  ASSERT_EQ(
      run_softreg("train -q --libsvm " + quoted(dir_.path() / "t.svm") + " --out " + quoted(table))
          .status,
      0);
  expect_rejected(run_softreg("predict --model " + quoted(table) + " --text " + quoted(test_)),
                  {"not trained on text"});
  expect_rejected(run_softreg("eval --model " + quoted(table) + " --text " + quoted(test_)),
                  {"not trained on text"});
}

// --cache: the first run parses and writes it, the next reads it instead and trains the same
// model; other text options rebuild it; a damaged cache is exit 2 naming it.
TEST_F(TextCli, CacheIsWrittenOnceThenReadAndCheckedOnRead) {
  const fs::path cache = dir_.path() / "train.cache";
  const std::string cmd = "train --text " + quoted(train_) + " --test " + quoted(test_) +
                          " --hash-bits 12 --epochs 3 --cache " + quoted(cache);
  const RunResult first = run_softreg(cmd);
  ASSERT_EQ(first.status, 0) << describe(first);
  EXPECT_NE(first.out.find("wrote the cache"), std::string::npos) << first.out;
  const RunResult second = run_softreg(cmd);
  ASSERT_EQ(second.status, 0) << describe(second);
  EXPECT_NE(second.out.find("from the cache"), std::string::npos) << second.out;
  const auto last_line = [](const std::string& out) { return lines_of(out).back(); };
  EXPECT_EQ(last_line(second.out), last_line(first.out)) << "the same data, the same run";
  const RunResult other = run_softreg(cmd + " --ngrams 1");
  ASSERT_EQ(other.status, 0) << describe(other);
  EXPECT_NE(other.out.find("rebuilt the cache"), std::string::npos) << other.out;
  std::string bytes = slurp(cache);
  bytes[bytes.size() / 2] ^= 1;
  write_text(cache, bytes);
  expect_rejected(run_softreg(cmd + " --ngrams 1"),
                  {cache.string(), "not a valid softreg cache", "checksum"});
  expect_rejected(run_softreg("train --csv " + quoted(train_) + " --cache " + quoted(cache)),
                  {"--cache", "--libsvm and --text"});
}

TEST_F(TextCli, BadFilesAndOptionsExitTwoWithTheLine) {
  const fs::path bad = dir_.path() / "bad.txt";
  write_text(bad, corpus(2) + "no label on this line\n");
  expect_rejected(run_softreg("train --text " + quoted(bad)),
                  {bad.string(), "line 9: expected a label (__label__NAME) but found none"});
  expect_rejected(run_softreg("train --libsvm " + quoted(bad) + " --ngrams 3"), {"--ngrams"});
  expect_rejected(run_softreg("train --text " + quoted(train_) + " --hash-bits 32"),
                  {"--hash-bits"});
  expect_rejected(run_softreg("train --text " + quoted(dir_.path() / "none.txt")), {"none.txt"});
}

}  // namespace
}  // namespace softreg::test
