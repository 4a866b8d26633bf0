// Tables: CSV and LIBSVM loading, standardisation, the stratified split.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "fixtures.hpp"
#include "softreg/batch.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {
namespace {

using test::TempDir;
using test::write_text;

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError thrown)";
}

TEST(DataCsvTest, ReadsHeaderFeaturesAndStringLabels) {
  TempDir dir;
  const auto f = dir.path() / "t.csv";
  write_text(f, "a,b,kind\n1,2,cat\n3.5,-4e1,dog\n5,6,cat\n");
  const Dataset d = load_csv(f);
  EXPECT_EQ(d.rows, 3u);
  EXPECT_EQ(d.inputs, 2u);
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{0, 1, 0}));
  EXPECT_EQ(d.values, (std::vector<float>{1, 2, 3.5f, -40, 5, 6}));
  EXPECT_FALSE(d.is_bytes());
  EXPECT_EQ(d.shape, (std::vector<std::size_t>{2}));
}

TEST(DataCsvTest, IntegerLabelsAreOrderedByValueAndLabelColumnCanBeAnywhere) {
  TempDir dir;
  const auto f = dir.path() / "t.csv";
  write_text(f, "y;x1;x2\r\n10;1;2\r\n-1;3;4\r\n2;5;6\r\n");
  const Dataset d = load_csv(f, {.label = "y"});
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"-1", "2", "10"}));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{2, 0, 1}));
  EXPECT_EQ(d.values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(DataCsvTest, QuotedFieldsTabsAndGivenClasses) {
  TempDir dir;
  const auto f = dir.path() / "t.tsv";
  write_text(f, "\"x, one\"\t\"label \"\"L\"\"\"\n\"1.5\"\t\"b, with comma\"\n2\ta\n");
  const Dataset d = load_csv(f, {.class_names = {"a", "b, with comma"}});
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"x, one"}));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{1, 0}));
  EXPECT_EQ(d.values, (std::vector<float>{1.5f, 2}));
}

TEST(DataCsvTest, PredictionRowsWithoutTheLabelColumn) {
  TempDir dir;
  const auto f = dir.path() / "t.csv";
  write_text(f, "a,b\n1,2\n");
  const Dataset d = load_csv(f, {.label = "diagnosis", .require_label = false});
  EXPECT_EQ(d.inputs, 2u);
  EXPECT_TRUE(d.labels.empty());
}

struct BadCsv {
  const char* name;
  const char* text;
  const char* label;
  const char* message;
};

class DataCsvErrorTest : public ::testing::TestWithParam<BadCsv> {};

TEST_P(DataCsvErrorTest, NamesFileLineAndColumn) {
  TempDir dir;
  const auto f = dir.path() / "bad.csv";
  write_text(f, GetParam().text);
  const std::string m = message_of([&] { load_csv(f, {.label = GetParam().label}); });
  EXPECT_NE(m.find(f.string()), std::string::npos) << m;
  EXPECT_NE(m.find(GetParam().message), std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DataCsvErrorTest,
    ::testing::Values(
        BadCsv{"Empty", "", "", "empty file"},
        BadCsv{"HeaderOnly", "a,b,y\n", "", "no data rows after the header"},
        BadCsv{"Ragged", "a,b,y\n1,2,x\n1,2\n", "",
               "line 3: expected 3 fields (as in the header) but found 2"},
        BadCsv{"NonNumeric", "a,b,y\n1,2,x\n1,abc,y\n", "",
               "line 3, column 2 (b): expected a number but found 'abc'"},
        BadCsv{"EmptyFeature", "a,b,y\n1,,x\n", "", "line 2, column 2 (b): empty feature"},
        BadCsv{"NameNotUtf8", "a,b\xFE,y\n1,2,x\n", "",
               "line 1, column 2: the name 'b\\xFE' is not UTF-8 text"},
        BadCsv{"LabelNotUtf8", "a,b,y\n1,2,x\xC3\n", "",
               "line 2: label 'x\\xC3' is not UTF-8 text"},
        BadCsv{"NaN", "a,b,y\n1,nan,x\n2,3,y\n", "",
               "line 2, column 2 (b): expected a finite number but found 'nan'"},
        BadCsv{"Infinite", "a,b,y\n1,2,x\n1e999,3,y\n", "",
               "line 3, column 1 (a): expected a finite number but found '1e999'"},
        BadCsv{"NoSuchLabel", "a,b,y\n1,2,x\n", "diagnosis",
               "no column 'diagnosis' in the header (columns: a, b, y)"},
        BadCsv{"SingleClass", "a,y\n1,x\n2,x\n", "", "only one class ('x') in column 'y'"},
        BadCsv{"UnclosedQuote", "a,y\n\"1,x\n", "", "line 2: a quoted field is never closed"},
        BadCsv{"EmptyLabel", "a,y\n1,\n2,x\n", "", "line 2, column 2 (y): empty label"},
        // Found by fuzzing: these crashed (no record was left for the header).
        BadCsv{"OnlyAByteOrderMark", "\xEF\xBB\xBF", "", "empty file"},
        BadCsv{"BlankLinesOnly", "\r\n\n\r", "", "empty file"},
        BadCsv{"HeaderOfOneEmptyQuotedField", "\n\"\"", "", "no data rows after the header"},
        BadCsv{"OnlyTheLabelColumn", "\"\"\n1\n", "",
               "line 1: expected a label column and at least one feature column"},
        // Beyond the largest float (3.4028235e38) a value would be infinite.
        BadCsv{"BeyondTheLargestFloat", "a,y\n3.5e38,x\n1,y\n", "",
               "line 2, column 1 (a): expected a finite number but found '3.5e38'"},
        // Lines are counted through a quoted field's CR LF, LF and lone CR alike.
        BadCsv{"LineCountAfterQuotedLineEnds", "a,y\n1,\"p\r\nq\nr\rs\"\nbad,x\n", "",
               "line 6, column 1 (a): expected a number but found 'bad'"},
        BadCsv{"SeparatorAfterClosingQuote", "a,y\n1,\"x\"z\n", "",
               "line 2, column 2: expected a separator after the closing quote but found 'z'"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DataCsvTest, AModelsFeatureCountFindsTheLabelLastWithoutItsName) {
  // predict on a model trained with the label last (its name unknown): a file of D features
  // plus one column is the training file, whose last column is the label, even a string one.
  TempDir dir;
  const auto f = dir.path() / "t.csv";
  write_text(f, "a,b,kind\n1,2,cat\n3,4,dog\n");
  CsvOptions o;
  o.require_label = false;
  o.class_names = {"cat", "dog"};
  EXPECT_THROW(load_csv(f, o), InputError) << "without the hint 'cat' is read as a feature";
  o.features = 2;
  const Dataset d = load_csv(f, o);
  EXPECT_EQ(d.inputs, 2u);
  EXPECT_EQ(d.values, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{0, 1}));
  o.features = 3;  // three features: every column is one, and 'cat' is not a number
  EXPECT_THROW(load_csv(f, o), InputError);
}

TEST(DataCsvTest, UnknownLabelForAModelsClasses) {
  TempDir dir;
  const auto f = dir.path() / "t.csv";
  write_text(f, "a,y\n1,x\n2,z\n");
  const std::string m = message_of([&] { load_csv(f, {.class_names = {"x", "y"}}); });
  EXPECT_NE(m.find("line 3: label 'z' is not one of the model's classes (x, y)"), std::string::npos)
      << m;
}

TEST(DataCsvTest, RealDataSetsLoad) {
  const Dataset bc = load_csv(SOFTREG_TEST_DATA "/breast_cancer.csv", {.label = "diagnosis"});
  EXPECT_EQ(bc.rows, 569u);
  EXPECT_EQ(bc.inputs, 30u);
  EXPECT_EQ(bc.class_names, (std::vector<std::string>{"benign", "malignant"}));
  EXPECT_EQ(std::count(bc.labels.begin(), bc.labels.end(), 1), 212);
  const Dataset iris = load_csv(SOFTREG_TEST_DATA "/iris.csv");
  EXPECT_EQ(iris.rows, 150u);
  EXPECT_EQ(iris.inputs, 4u);
  EXPECT_EQ(iris.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
}

TEST(DataLibsvmTest, LabelsCanBeIgnoredForPrediction) {
  TempDir dir;
  const auto f = dir.path() / "p.svm";
  write_text(f, "0 1:0.5\n0 2:1\n");
  EXPECT_THROW(load_libsvm(f, 2, {"cat", "dog"}), InputError) << "0 is not a class";
  const Dataset d = load_libsvm(f, 2, {"cat", "dog"}, /*keep_labels=*/false);
  EXPECT_EQ(d.rows, 2u);
  EXPECT_TRUE(d.labels.empty());
  EXPECT_EQ(d.sparse.cols, (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(d.sparse.vals, (std::vector<float>{0.5f, 1}));
  write_text(f, "0 1:0.5\n0 3=1\n");  // the format is still checked
  EXPECT_THROW(load_libsvm(f, 2, {"cat", "dog"}, false), InputError);
  // A feature beyond the model's 2 was never trained (weight 0): skipped, as liblinear does.
  write_text(f, "0 1:0.5\n0 2:2 3:1 4294967295:7\n");
  const Dataset beyond = load_libsvm(f, 2, {"cat", "dog"}, false);
  EXPECT_EQ(beyond.inputs, 2u);
  EXPECT_EQ(beyond.sparse.offsets, (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_EQ(beyond.sparse.vals, (std::vector<float>{0.5f, 2}));
}

TEST(DataLibsvmTest, KeepsSparseRows) {
  TempDir dir;
  const auto f = dir.path() / "t.svm";
  write_text(f, "+1 1:0.5 3:2\n-1 2:1  # a comment\n\n+1 3:-1\n");
  const Dataset d = load_libsvm(f);
  EXPECT_EQ(d.rows, 3u);
  EXPECT_EQ(d.inputs, 3u);
  ASSERT_TRUE(d.is_sparse());
  EXPECT_FALSE(d.is_bytes());
  EXPECT_TRUE(d.values.empty()) << "never densified";
  EXPECT_EQ(d.sparse.offsets, (std::vector<std::uint64_t>{0, 2, 3, 4}));
  EXPECT_EQ(d.sparse.cols, (std::vector<std::uint32_t>{0, 2, 1, 2}));
  EXPECT_EQ(d.sparse.vals, (std::vector<float>{0.5f, 2, 1, -1}));
  const std::vector<std::uint32_t> all{0, 1, 2};
  EXPECT_EQ(gather_features(d, all).data, (std::vector<float>{0.5f, 0, 2, 0, 1, 0, 0, 0, -1}));
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"-1", "+1"}));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{1, 0, 1}));
  const Dataset wide = load_libsvm(f, 5);
  EXPECT_EQ(wide.inputs, 5u);
}

struct BadSvm {
  const char* name;
  const char* text;
  const char* message;
};

class DataLibsvmErrorTest : public ::testing::TestWithParam<BadSvm> {};

TEST_P(DataLibsvmErrorTest, NamesFileLineAndPair) {
  TempDir dir;
  const auto f = dir.path() / "bad.svm";
  write_text(f, GetParam().text);
  const std::string m = message_of([&] { load_libsvm(f); });
  EXPECT_NE(m.find(f.string()), std::string::npos) << m;
  EXPECT_NE(m.find(GetParam().message), std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DataLibsvmErrorTest,
    ::testing::Values(
        BadSvm{"Unsorted", "1 1:1\n0 3:1 2:1\n",
               "line 2, pair 2: indices must increase but 2 follows 3"},
        BadSvm{"Repeated", "1 1:1 1:2\n0 2:1\n", "line 1, pair 2: index 1 is repeated"},
        BadSvm{"Malformed", "1 1:1\n0 2-1\n",
               "line 2, pair 1: expected index:value but found '2-1'"},
        BadSvm{"BadValue", "1 1:x\n0 2:1\n",
               "line 1, pair 1: expected index:value but found '1:x'"},
        BadSvm{"ZeroIndex", "1 0:1\n0 2:1\n", "line 1, pair 1: indices start at 1 but found 0"},
        BadSvm{"NoLabel", "1:1 2:2\n", "line 1: expected a label first"},
        BadSvm{"Empty", "", "empty file"},
        BadSvm{"SingleClass", "1 1:1\n1 2:1\n", "only one class ('1')"},
        BadSvm{"BeyondTheFeatureLimit", "1 1:1 4294967296:1\n0 1:1\n",
               "line 1, pair 2: index 4294967296 is beyond 4294967295, the most features"},
        BadSvm{"FarBeyondTheFeatureLimit", "1 1:1\n0 99999999999999999999999:1\n",
               "line 2, pair 1: index 9223372036854775807 is beyond 4294967295"},
        BadSvm{"BeyondTheLargestFloat", "1 1:1\n0 1:3.5e38\n",
               "line 2, pair 1: expected a finite value but found '3.5e38'"},
        BadSvm{"NegativeIndex", "1 -3:1\n0 1:1\n",
               "line 1, pair 1: indices start at 1 but found -3"}),
    [](const auto& info) { return std::string(info.param.name); });

// Indices run to 2³² − 1 (32-bit columns) without a dense table: the file of two rows is two
// stored values. A file of only 1s keeps no values (4 bytes a stored value).
TEST(DataLibsvmTest, IndicesUpTo2To32Minus1LoadSparse) {
  const Dataset d = parse_libsvm("1 4294967295:1\n0 1:1 7:1\n", "wide");
  EXPECT_EQ(d.inputs, 4294967295u);
  EXPECT_EQ(d.sparse.cols, (std::vector<std::uint32_t>{4294967294u, 0, 6}));
  EXPECT_TRUE(d.sparse.binary());
  EXPECT_EQ(d.feature_bytes(), 3 * 8u + 3 * 4u);
  const Dataset v = parse_libsvm("1 2:1 3:0.5\n0 1:1\n", "values");
  EXPECT_EQ(v.sparse.vals, (std::vector<float>{1, 0.5f, 1}))
      << "the 1s before the first other value";
}

TEST(DataLibsvmTest, SplitsAndFoldsKeepSparseRows) {
  std::string text;
  for (int i = 0; i < 40; ++i)
    text += std::to_string(i % 2) + " " + std::to_string(i + 1) + ":" + std::to_string(i) + "\n";
  Rng rng(3);
  const Dataset all = parse_libsvm(text, "rows");
  const TrainTest tt = stratified_split(all, 0.25, rng);
  ASSERT_TRUE(tt.train.is_sparse() && tt.test.is_sparse());
  EXPECT_EQ(tt.train.rows + tt.test.rows, 40u);
  EXPECT_EQ(tt.test.rows, 10u);
  // Every row keeps its one feature, whose column says which row it was, and its label.
  for (const Dataset* part : {&tt.train, &tt.test})
    for (std::size_t i = 0; i < part->rows; ++i) {
      ASSERT_EQ(part->sparse.offsets[i + 1] - part->sparse.offsets[i], 1u);
      const std::uint32_t c = part->sparse.cols[part->sparse.offsets[i]];
      EXPECT_EQ(part->labels[i], static_cast<std::int32_t>(c % 2));
      EXPECT_EQ(part->sparse.vals[part->sparse.offsets[i]], static_cast<float>(c));
    }
  Dataset first = all;
  first.keep_first(3);
  EXPECT_EQ(first.sparse.offsets, (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(first.sparse.vals, (std::vector<float>{0, 1, 2}));
}

TEST(DataCsvTest, ValuesUpToTheLargestFloatAreRead) {
  // 3e38 was the old cut-off: values between it and the largest float were refused, while
  // 2.99999999e38, which rounds to 3.0000000054977558e38, was not.
  const Dataset d = parse_csv("a,y\n3.4028234e38,x\n-3.1e38,y\n2.99999999e38,x\n", "t.csv");
  EXPECT_EQ(d.values, (std::vector<float>{3.4028234e38f, -3.1e38f, 2.99999999e38f}));
}

TEST(DataCsvTest, ANamedLabelColumnAloneIsNoTable) {
  // Found by fuzzing: with the label named and not required (predict's way), a file of only that
  // column was read as rows of no features.
  CsvOptions o;
  o.label = "label";
  o.require_label = false;
  EXPECT_NE(message_of([&] {
              parse_csv("label\na\nb\n", "t.csv", o);
            }).find("t.csv: line 1: expected a label column and at least one feature column"),
            std::string::npos);
}

TEST(DataCsvTest, MoreDistinctLabelsThanClassesAllowedStopsThere) {
  std::string text = "x,id\n";
  for (std::size_t i = 0; i <= kMaxClasses; ++i) text += "1,row" + std::to_string(i) + "\n";
  EXPECT_EQ(message_of([&] { parse_csv(text, "ids.csv"); }),
            "ids.csv: line 65538: more than 65536 distinct labels in column 'id' (softreg's limit "
            "on classes; is it the label column?)");
}

TEST(DataCsvTest, MoreColumnsThanAllowed) {
  std::string text;
  for (std::size_t j = 0; j <= kMaxCsvColumns; ++j) text += "c,";
  text += "y\n";
  EXPECT_NE(message_of([&] {
              parse_csv(text, "wide.csv");
            }).find("wide.csv: line 1: more than 1048576 columns"),
            std::string::npos);
}

TEST(DataLibsvmTest, CarriageReturnsTabsAndFormFeedsSeparateTokens) {
  // Found by fuzzing: "1\r 1:2" had the label "1\r", and a lone CR line was a row.
  const Dataset d = parse_libsvm("1\r 1:2\n-1\t2:1\v3:4\r\n\r\n2 \f1:1\n", "t.svm");
  ASSERT_EQ(d.rows, 3u);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"-1", "1", "2"}));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{1, 0, 2}));
  const std::vector<std::uint32_t> all{0, 1, 2};
  EXPECT_EQ(gather_features(d, all).data, (std::vector<float>{2, 0, 0, 0, 1, 4, 1, 0, 0}));
}

TEST(DataStandardizeTest, MeanZeroUnitVarianceAndConstantFeaturesOnlyCentred) {
  Dataset d;
  d.rows = 4;
  d.inputs = 2;
  d.values = {1, 7, 2, 7, 3, 7, 4, 7};
  const Standardization s = fit_standardization(d);
  EXPECT_FLOAT_EQ(s.mean[0], 2.5f);
  EXPECT_FLOAT_EQ(s.stddev[0], std::sqrt(1.25f));
  EXPECT_FLOAT_EQ(s.stddev[1], 0.0f);
  standardize(d, s);
  double sum = 0, sq = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    sum += d.values[i * 2];
    sq += d.values[i * 2] * d.values[i * 2];
    EXPECT_EQ(d.values[i * 2 + 1], 0.0f);  // constant: centred, not divided by zero
  }
  EXPECT_NEAR(sum, 0.0, 1e-6);
  EXPECT_NEAR(sq / 4, 1.0, 1e-6);
}

TEST(DataSplitTest, StratifiedAndReproducible) {
  Dataset d = load_csv(SOFTREG_TEST_DATA "/breast_cancer.csv", {.label = "diagnosis"});
  Rng a(5), b(5), c(6);
  const TrainTest s1 = stratified_split(d, 0.2, a), s2 = stratified_split(d, 0.2, b),
                  s3 = stratified_split(d, 0.2, c);
  // round(0.2 * 357) = 71 benign and round(0.2 * 212) = 42 malignant go to the test set.
  EXPECT_EQ(s1.test.rows, 113u);
  EXPECT_EQ(s1.train.rows, 456u);
  EXPECT_EQ(std::count(s1.test.labels.begin(), s1.test.labels.end(), 1), 42);
  EXPECT_EQ(std::count(s1.test.labels.begin(), s1.test.labels.end(), 0), 71);
  EXPECT_EQ(s1.test.values, s2.test.values);
  EXPECT_NE(s1.test.values, s3.test.values);
  EXPECT_EQ(s1.train.class_names, d.class_names);
  Rng r(1);
  EXPECT_THROW(stratified_split(d, 1.5, r), InputError);
}

}  // namespace
}  // namespace softreg
