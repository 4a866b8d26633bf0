// Text features (src/data/text.cpp, docs/formats.md "Text"): the hash against published XXH3
// vectors, words and n-gram columns of a sentence worked out by hand, the weighting and the
// normalisation, and the file format's edge cases.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {
namespace {

using Row = std::vector<std::pair<std::uint32_t, float>>;

std::string message_of(const std::string& text, bool require_label = true) {
  try {
    parse_text(text, "docs.txt", TextOptions{}, {}, require_label);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// XXH3-64 with seed 0: the empty input's value is the one xxHash's own sanity test checks; the
// others are what Debian's `xxhsum -H3` (xxHash 0.8.1) prints for the bytes, e.g.
// `printf 'real time' | xxhsum -H3 -`.
TEST(TextHash, MatchesPublishedXxh3Vectors) {
  EXPECT_EQ(text_hash("", 0), 0x2d06800538d394c2u);
  EXPECT_EQ(text_hash("a", 0), 0xe6c632b61e964e1fu);
  EXPECT_EQ(text_hash("games", 0), 0x3c8a7f626febee75u);
  EXPECT_EQ(text_hash("real", 0), 0x7eececae4675e66au);
  EXPECT_EQ(text_hash("real time", 0), 0x32226d9eacd420f6u);
  EXPECT_EQ(text_hash("strategy game", 0), 0x901bcd60696ae036u);
  EXPECT_NE(text_hash("real", 1), text_hash("real", 0)) << "the seed is used";
}

TEST(TextWords, LowercaseAsciiSplitOnEverythingElseUtf8KeptWhole) {
  EXPECT_EQ(text_words("Real-Time strategy (DATA files)"),
            (std::vector<std::string>{"real", "time", "strategy", "data", "files"}));
  EXPECT_EQ(text_words("C++ x86-64, python3!"),
            (std::vector<std::string>{"c", "x86", "64", "python3"}));
  // Multi-byte UTF-8 (é, ü) stays inside its word and is not lowercased; an invalid byte
  // (0xff) is a word byte like any byte from 0x80 up.
  EXPECT_EQ(text_words("Caf\xc3\xa9 M\xc3\x9cNCHEN \xff"),
            (std::vector<std::string>{"caf\xc3\xa9", "m\xc3\x9cnchen", "\xff"}));
  EXPECT_EQ(text_words("__label__x hello"), (std::vector<std::string>{"hello"}));
  EXPECT_TRUE(text_words(" \t\r ... ").empty());
}

// "Real-Time strategy" with 2-grams in 2^8 columns: the words real, time, strategy and the
// bigrams "real time", "time strategy", each column the low 8 bits of its XXH3 (xxhsum):
// real 0x…6a = 106, time 0x…d2 = 210, strategy 0x…ee = 238, "real time" 0x…f6 = 246,
// "time strategy" 0x…b3 = 179.
TEST(TextFeatures, NgramColumnsOfASentenceByHand) {
  TextOptions o;
  o.hash_bits = 8;
  o.ngrams = 2;
  EXPECT_EQ(text_features("Real-Time strategy", o),
            (Row{{106, 1}, {179, 1}, {210, 1}, {238, 1}, {246, 1}}));
  o.ngrams = 1;
  EXPECT_EQ(text_features("Real-Time strategy", o), (Row{{106, 1}, {210, 1}, {238, 1}}));
  o.ngrams = 2;
  o.l2_normalize = true;
  const float f = static_cast<float>(1 / std::sqrt(5.0));
  EXPECT_EQ(text_features("real time strategy", o),
            (Row{{106, f}, {179, f}, {210, f}, {238, f}, {246, f}}));
}

TEST(TextFeatures, RepeatsMergeIntoCountsWeightedBinaryOrLog) {
  TextOptions o;
  o.hash_bits = 8;
  o.ngrams = 1;
  EXPECT_EQ(text_features("real real REAL time", o), (Row{{106, 1}, {210, 1}}));
  o.weighting = TextOptions::Weighting::log_count;
  EXPECT_EQ(
      text_features("real real REAL time", o),
      (Row{{106, static_cast<float>(std::log(4.0))}, {210, static_cast<float>(std::log(2.0))}}));
  // Two features in one column (2^1 columns: a collision) count as one feature seen twice.
  o.hash_bits = 1;
  o.weighting = TextOptions::Weighting::binary;
  const Row r = text_features("a b c d e f g", o);
  EXPECT_LE(r.size(), 2u);
}

TEST(TextFile, LabelsBlankLinesCrlfAndMoreLabels) {
  TextOptions o;
  o.hash_bits = 8;
  o.ngrams = 1;
  const Dataset d = parse_text(
      "__label__games real time\r\n\n   \t\n__label__libs __label__extra strategy\n"
      "strategy __label__games\n__label__libs\n",
      "docs.txt", o);
  ASSERT_EQ(d.rows, 4u) << "blank lines are skipped";
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"games", "libs"}));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{0, 1, 0, 1}))
      << "the first label is the class, wherever it is; more are ignored";
  EXPECT_EQ(d.sparse.offsets, (std::vector<std::uint64_t>{0, 2, 3, 4, 4}))
      << "a label without text is a document without features";
  EXPECT_EQ(d.sparse.cols, (std::vector<std::uint32_t>{106, 210, 238, 238}));
  EXPECT_TRUE(d.sparse.binary());
  EXPECT_EQ(d.inputs, 256u);
}

TEST(TextFile, ErrorsNameTheLine) {
  EXPECT_NE(message_of("__label__a x\n\nno label here\n")
                .find("docs.txt: line 3: expected a label (__label__NAME) but found none"),
            std::string::npos);
  EXPECT_NE(
      message_of("__label__a x\n__label__ y\n").find("docs.txt: line 2: a label without a name"),
      std::string::npos);
  EXPECT_NE(message_of("__label__a x\n__label__a y\n").find("only one class ('a')"),
            std::string::npos);
  EXPECT_NE(message_of("\n\n").find("no documents"), std::string::npos);
  // A class name must be text (the model keeps it in JSON): refused where it is read, the byte
  // written as \xFF (a save after training used to fail naming no file).
  EXPECT_EQ(message_of("__label__a x\n__label__b\xFF y\n"),
            "docs.txt: line 2: label 'b\\xFF' is not UTF-8 text (class names are kept as text in "
            "the model)");
  EXPECT_EQ(message_of("no label\n", /*require_label=*/false), "") << "predict reads unlabelled";
  try {
    parse_text("__label__a x\n__label__c y\n", "docs.txt", TextOptions{}, {"a", "b"});
    ADD_FAILURE() << "a class the model does not have";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2: label 'c' is not one of the model's classes"),
              std::string::npos)
        << e.what();
  }
}

// A line of 10 MB (1.5 million words) is one document: its row holds its distinct features, no
// more memory than they take.
TEST(TextFile, ATenMegabyteLineIsOneDocument) {
  std::string line = "__label__big";
  for (int i = 0; i < 1500000; ++i) line += " w" + std::to_string(i % 50000);
  line += "\n__label__small w1\n";
  TextOptions o;
  o.ngrams = 1;
  const Dataset d = parse_text(line, "big.txt", o);
  ASSERT_EQ(d.rows, 2u);
  EXPECT_GT(line.size(), 10000000u);
  // 50,000 distinct words in 2^18 columns: a few collide.
  EXPECT_GT(d.sparse.offsets[1], 45000u);
  EXPECT_LE(d.sparse.offsets[1], 50000u);
}

}  // namespace
}  // namespace softreg
