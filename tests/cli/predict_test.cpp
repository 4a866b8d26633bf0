// End-to-end tests of `softreg predict`: IDX images, PNG images of any size and colour, CSV and
// LIBSVM rows (as INPUT files or by --csv / --libsvm); the output formats; probabilities that sum
// to 1; and a reader written in Python (standard library and numpy), and the code docs/formats.md
// gives for loading a model into PyTorch's nn.Linear, that must agree with softreg on the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "expect.hpp"
#include "fixtures.hpp"
#include "run.hpp"
#include "softreg/data.hpp"
#include "softreg/io.hpp"

namespace softreg::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> v;
  for (const auto& line : lines_of(out)) v.push_back(json::parse(line));
  return v;
}

// A data folder and a model trained on it with `softreg train --out`: the tiny learnable set, or
// the real Fashion-MNIST (Debian's dataset-fashion-mnist, which scripts/setup installs and CI has).
struct Trained {
  fs::path data;
  fs::path model;
  fs::path test_images;
  std::string error;  // why there is no model: every test that needs it fails with this
};

class PredictCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir;
    tiny_ = train(tmp_->path() / "tiny", "--epochs 3", true);
    const fs::path real = real_fashion_mnist_dir();
    if (real.empty())
      real_.error = no_real_fashion_mnist();
    else
      real_ = train(real, "--limit 5000 --epochs 2", false);
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }

  static Trained train(const fs::path& data, const std::string& options, bool tiny) {
    Trained t;
    if (tiny) write_tiny_fashion(data, 500, 100);
    t.data = data;
    t.model = tmp_->path() / (tiny ? "tiny.safetensors" : "real.safetensors");
    t.test_images = data / "t10k-images-idx3-ubyte.gz";
    const RunResult r = run_softreg("train -q --data " + quoted(data) + " " + options + " --out " +
                                    quoted(t.model));
    if (r.status != 0) t.error = "training failed: " + describe(r);
    return t;
  }

  RunResult predict(const Trained& t, const std::string& args) {
    return run_softreg("predict --model " + quoted(t.model) + " " + args);
  }

  static TempDir* tmp_;
  static Trained tiny_;
  static Trained real_;
};

TempDir* PredictCli::tmp_ = nullptr;
Trained PredictCli::tiny_;
Trained PredictCli::real_;

// --- IDX -----------------------------------------------------------------------------------

TEST_F(PredictCli, EveryImageOfAnIdxFileAgreesWithEval) {
  ASSERT_EQ(tiny_.error, "");
  const RunResult r = predict(tiny_, quoted(tiny_.test_images));
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.err, "");
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 100u);
  // One line per image: "FILE[i]  CLASS P". The tiny set's label of image i is i % 10.
  const auto& names = fashion_mnist_classes();
  std::size_t correct = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string prefix = tiny_.test_images.string() + "[" + std::to_string(i) + "]  ";
    ASSERT_EQ(lines[i].rfind(prefix, 0), 0u) << lines[i];
    const std::string rest = lines[i].substr(prefix.size());
    std::smatch m;
    ASSERT_TRUE(std::regex_match(rest, m, std::regex(R"(^(.+) (0\.\d{4}|1\.0000)$)"))) << lines[i];
    correct += m[1].str() == names[i % 10];
  }
  const RunResult e =
      run_softreg("eval --json --model " + quoted(tiny_.model) + " --data " + quoted(tiny_.data));
  ASSERT_EQ(e.status, 0) << describe(e);
  EXPECT_DOUBLE_EQ(json::parse(e.out)["accuracy"].get<double>(), correct / 100.0);
}

TEST_F(PredictCli, IndexPicksOneImage) {
  ASSERT_EQ(tiny_.error, "");
  const RunResult all = predict(tiny_, quoted(tiny_.test_images));
  const RunResult one = predict(tiny_, "--index 37 " + quoted(tiny_.test_images));
  ASSERT_EQ(one.status, 0) << describe(one);
  ASSERT_EQ(lines_of(one.out).size(), 1u) << one.out;
  EXPECT_EQ(lines_of(one.out)[0], lines_of(all.out).at(37));
  expect_rejected(predict(tiny_, "--index 100 " + quoted(tiny_.test_images)),
                  {"--index 100", "t10k-images-idx3-ubyte.gz", "holds 100 examples (0 to 99)"});
}

TEST_F(PredictCli, ProbabilitiesAreTheSoftmaxOfTheLogitsAndSumToOne) {
  ASSERT_EQ(tiny_.error, "");
  const RunResult r = predict(tiny_, "--top 10 --format json " + quoted(tiny_.test_images));
  ASSERT_EQ(r.status, 0) << describe(r);
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 100u);
  for (const json& row : rows) {
    SCOPED_TRACE(row.dump());
    const auto& top = row["top"];
    ASSERT_EQ(top.size(), 10u);
    const auto& logits = row["logits"];
    ASSERT_EQ(logits.size(), 10u);
    double max_logit = -1e300;
    for (const auto& o : logits) max_logit = std::max(max_logit, o.get<double>());
    double denom = 0;
    for (const auto& o : logits) denom += std::exp(o.get<double>() - max_logit);
    double sum = 0, previous = 2;
    std::set<int> seen;
    for (const auto& t : top) {
      const double p = t["probability"].get<double>();
      const int k = t["index"].get<int>();
      sum += p;
      EXPECT_LE(p, previous) << "sorted from the most probable";
      previous = p;
      seen.insert(k);
      EXPECT_EQ(t["class"], std::string(fashion_mnist_classes()[static_cast<std::size_t>(k)]));
      EXPECT_NEAR(
          p, std::exp(logits[static_cast<std::size_t>(k)].get<double>() - max_logit) / denom, 1e-6);
    }
    EXPECT_EQ(seen.size(), 10u);
    EXPECT_NEAR(sum, 1.0, 1e-6);
    EXPECT_EQ(row["class"], top[0]["class"]);
    EXPECT_EQ(row["probability"], top[0]["probability"]);
  }
}

TEST_F(PredictCli, TopThreeAsTextAndCsv) {
  ASSERT_EQ(tiny_.error, "");
  const RunResult text = predict(tiny_, "--top 3 --index 5 " + quoted(tiny_.test_images));
  ASSERT_EQ(text.status, 0) << describe(text);
  const std::regex entry(R"(  ([A-Za-z/ -]+) (\d\.\d{4}))");
  const std::string line = lines_of(text.out).at(0);
  std::vector<std::string> classes;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), entry);
       it != std::sregex_iterator(); ++it)
    classes.push_back((*it)[1]);
  EXPECT_EQ(classes.size(), 3u) << line;

  const RunResult csv =
      predict(tiny_, "--top 3 --format csv --index 5 " + quoted(tiny_.test_images));
  ASSERT_EQ(csv.status, 0) << describe(csv);
  const auto rows = lines_of(csv.out);
  ASSERT_EQ(rows.size(), 2u) << csv.out;
  EXPECT_EQ(rows[0], "input,class_1,probability_1,class_2,probability_2,class_3,probability_3");
  std::vector<std::string> cells;
  std::istringstream in(rows[1]);
  for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
  ASSERT_EQ(cells.size(), 7u) << rows[1];
  EXPECT_EQ(cells[0], tiny_.test_images.string() + "[5]");
  // The same three classes and probabilities as --format json: the CSV writes each probability
  // as the shortest text of the float, so it reads back as the very same float.
  const RunResult j =
      predict(tiny_, "--top 3 --format json --index 5 " + quoted(tiny_.test_images));
  ASSERT_EQ(j.status, 0) << describe(j);
  const json top = json::parse(j.out)["top"];
  ASSERT_EQ(top.size(), 3u) << j.out;
  for (std::size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(cells[1 + 2 * r], classes[r]);
    EXPECT_EQ(cells[1 + 2 * r], top[r]["class"].get<std::string>());
    EXPECT_EQ(std::stof(cells[2 + 2 * r]), top[r]["probability"].get<float>()) << cells[2 + 2 * r];
    // The text shows the same probability with 4 decimals.
    char four[16];
    std::snprintf(four, sizeof four, "%.4f", top[r]["probability"].get<double>());
    EXPECT_NE(line.find(classes[r] + " " + four), std::string::npos) << line;
  }
  expect_rejected(predict(tiny_, "--top 11 " + quoted(tiny_.test_images)),
                  {"--top 11", "only 10 classes"});
  expect_rejected(predict(tiny_, "--format xml " + quoted(tiny_.test_images)), {"--format"});
}

TEST_F(PredictCli, MissingInput) {
  ASSERT_EQ(tiny_.error, "");
  expect_rejected(predict(tiny_, quoted(tmp_->path() / "none.png")), {"none.png", "no such file"});
  expect_rejected(predict(tiny_, ""), {"nothing to predict", "--csv FILE or --libsvm FILE"});
}

// --- PNG -----------------------------------------------------------------------------------

// Writes test image `i` of `images` (28x28) as a 280x280 PNG, each pixel a 10x10 block, with the
// colours inverted: a dark garment on a light background, as a photo would show it.
void write_scaled_inverted_png(const IdxArray& images, std::size_t i, const fs::path& file) {
  const std::size_t rows = images.dims[1], cols = images.dims[2];
  std::vector<std::uint8_t> big(rows * 10 * cols * 10);
  for (std::size_t r = 0; r < rows * 10; ++r)
    for (std::size_t c = 0; c < cols * 10; ++c)
      big[r * cols * 10 + c] =
          static_cast<std::uint8_t>(255 - images.data[i * rows * cols + r / 10 * cols + c / 10]);
  write_file(file, encode_png(rows * 10, cols * 10, 1, 8, big));
}

void check_png_predicted_as_the_array(const Trained& t, const fs::path& dir, std::size_t count) {
  const IdxArray images = load_idx(t.test_images, 3);
  std::string pngs;
  for (std::size_t i = 0; i < count; ++i) {
    const fs::path file = dir / ("image-" + std::to_string(i) + ".png");
    write_scaled_inverted_png(images, i, file);
    pngs += " " + quoted(file);
  }
  const RunResult from_png =
      run_softreg("predict --format json --top 3 --model " + quoted(t.model) + pngs);
  ASSERT_EQ(from_png.status, 0) << describe(from_png);
  const RunResult from_idx = run_softreg("predict --format json --top 3 --model " +
                                         quoted(t.model) + " " + quoted(t.test_images));
  ASSERT_EQ(from_idx.status, 0) << describe(from_idx);
  const auto png_rows = json_lines(from_png.out), idx_rows = json_lines(from_idx.out);
  ASSERT_EQ(png_rows.size(), count);
  for (std::size_t i = 0; i < count; ++i) {
    SCOPED_TRACE("image " + std::to_string(i));
    EXPECT_EQ(png_rows[i]["inverted"], true) << "the light border should be inverted";
    EXPECT_EQ(png_rows[i]["class"], idx_rows[i]["class"]);
    // Block averages of 100 equal pixels give back the very same pixels (sums of whole numbers
    // below 2^24 are exact in float, and so is v * 100 / 100), and inverting twice gives back v:
    // the same features, so the very same logits and probabilities.
    EXPECT_EQ(png_rows[i]["logits"], idx_rows[i]["logits"]);
    EXPECT_EQ(png_rows[i]["top"], idx_rows[i]["top"]);
  }
}

TEST_F(PredictCli, ScaledUpInvertedPngIsPredictedAsTheArrayTiny) {
  ASSERT_EQ(tiny_.error, "");
  TempDir dir;
  check_png_predicted_as_the_array(tiny_, dir.path(), 10);
}

TEST_F(PredictCli, ScaledUpInvertedPngIsPredictedAsTheArrayFashionMnist) {
  ASSERT_EQ(real_.error, "");
  TempDir dir;
  check_png_predicted_as_the_array(real_, dir.path(), 30);
}

TEST_F(PredictCli, PngOfAnySizeAndColour) {
  ASSERT_EQ(tiny_.error, "");
  TempDir dir;
  // 37x50 RGBA and 9x9 16-bit gray: resized to 28x28, one line each.
  std::vector<std::uint8_t> rgba(37 * 50 * 4), gray16(9 * 9 * 2);
  for (std::size_t i = 0; i < rgba.size(); ++i) rgba[i] = static_cast<std::uint8_t>(i * 31 % 256);
  for (std::size_t i = 0; i < gray16.size(); ++i) gray16[i] = static_cast<std::uint8_t>(i * 7);
  write_file(dir.path() / "a.png", encode_png(37, 50, 4, 8, rgba));
  write_file(dir.path() / "b.png", encode_png(9, 9, 1, 16, gray16));
  const RunResult r = predict(
      tiny_, "--invert no " + quoted(dir.path() / "a.png") + " " + quoted(dir.path() / "b.png"));
  ASSERT_EQ(r.status, 0) << describe(r);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0].rfind((dir.path() / "a.png").string() + "  ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind((dir.path() / "b.png").string() + "  ", 0), 0u) << lines[1];

  write_file(dir.path() / "bad.png", std::vector<std::uint8_t>{0x89, 'P', 'N', 'G', 1, 2, 3});
  expect_rejected(predict(tiny_, quoted(dir.path() / "bad.png")), {"bad.png", "PNG"});
  expect_rejected(predict(tiny_, "--invert maybe " + quoted(dir.path() / "a.png")), {"--invert"});
}

// --- CSV rows and 1-D models ----------------------------------------------------------------

// A model of 4 inputs and 3 classes whose logits are the first three inputs.
fs::path write_tabular_model(const fs::path& dir, Output output = Output::softmax) {
  SoftmaxRegression m(4, output == Output::logistic ? 2 : 3, output);
  ModelInfo info;
  if (output == Output::logistic) {
    const float w[] = {1, -1, 0, 0};
    std::copy(std::begin(w), std::end(w), m.weight().begin());
    info.class_names = {"no", "yes"};
  } else {
    for (std::size_t k = 0; k < 3; ++k) m.weight()[k * 4 + k] = 1.0f;
    info.class_names = {"alpha", "beta", "gamma"};
  }
  info.input_shape = {4};
  const fs::path file =
      dir / (output == Output::logistic ? "logistic.safetensors" : "t.safetensors");
  save_model(file, m, info);
  return file;
}

TEST(PredictCliCsv, RowsOfNumbersForA1DModel) {
  TempDir dir;
  const fs::path model = write_tabular_model(dir.path());
  // A table with a header (the data module's CSV loader: blank lines skipped, CRLF, spaces).
  write_text(dir.path() / "rows.csv", "x1,x2,x3,x4\n5,1,0,0\n\n0, 0, 9, 1\r\n");
  const RunResult r = run_softreg("predict --top 2 --model " + quoted(model) + " " +
                                  quoted(dir.path() / "rows.csv"));
  ASSERT_EQ(r.status, 0) << describe(r);
  const double e5 = std::exp(5.0), e1 = std::exp(1.0);
  char expected[200];
  std::snprintf(expected, sizeof expected,
                "%s[0]  alpha %.4f  beta %.4f\n%s[1]  gamma %.4f  alpha %.4f\n",
                (dir.path() / "rows.csv").c_str(), e5 / (e5 + e1 + 1), e1 / (e5 + e1 + 1),
                (dir.path() / "rows.csv").c_str(), std::exp(9.0) / (std::exp(9.0) + 2),
                1 / (std::exp(9.0) + 2));
  EXPECT_EQ(r.out, expected);

  write_text(dir.path() / "short.csv", "a,b,c\n1,2,3\n");
  expect_rejected(
      run_softreg("predict --model " + quoted(model) + " " + quoted(dir.path() / "short.csv")),
      {"short.csv", "rows of 3 features but the model expects 4"});
  write_text(dir.path() / "word.csv", "a,b,c,d\n1,2,x,4\n");
  expect_rejected(
      run_softreg("predict --model " + quoted(model) + " " + quoted(dir.path() / "word.csv")),
      {"word.csv", "line 2, column 3 (c): expected a number but found 'x'"});
  // A PNG is no input for a model of rows.
  write_file(dir.path() / "i.png", encode_png(2, 2, 1, 8, std::vector<std::uint8_t>(4, 0)));
  expect_rejected(
      run_softreg("predict --model " + quoted(model) + " " + quoted(dir.path() / "i.png")),
      {"i.png", "needs a model of images", "input shape is 4"});
}

TEST(PredictCliCsv, LogisticModelGivesBothProbabilities) {
  TempDir dir;
  const fs::path model = write_tabular_model(dir.path(), Output::logistic);
  write_text(dir.path() / "rows.csv", "a,b,c,d\n2,0,0,0\n0,3,0,0\n");
  const RunResult r = run_softreg("predict --format json --top 2 --model " + quoted(model) + " " +
                                  quoted(dir.path() / "rows.csv"));
  ASSERT_EQ(r.status, 0) << describe(r);
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 2u);
  const double s2 = 1 / (1 + std::exp(-2.0)), s3 = 1 / (1 + std::exp(-3.0));
  EXPECT_EQ(rows[0]["class"], "yes");
  EXPECT_NEAR(rows[0]["probability"].get<double>(), s2, 1e-6);
  EXPECT_NEAR(rows[0]["top"][1]["probability"].get<double>(), 1 - s2, 1e-6);
  EXPECT_EQ(rows[1]["class"], "no");
  EXPECT_NEAR(rows[1]["probability"].get<double>(), s3, 1e-6);
}

// --- Tables: --csv and --libsvm ------------------------------------------------------------

// Iris (tests/data/iris.csv: four features, the species last) written three ways, with a model
// trained on it by `softreg train --csv --standardize`: predict must apply the stored
// standardisation to the raw rows, whichever way they come.
class PredictCliTable : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir;
    iris_ = fs::path(SOFTREG_TEST_DATA) / "iris.csv";
    model_ = tmp_->path() / "iris.safetensors";
    const RunResult r = run_softreg("train -q --csv " + quoted(iris_) +
                                    " --standardize --epochs 30 --out " + quoted(model_));
    if (r.status != 0) error_ = "training failed: " + describe(r);
    // Without the label column, and in LIBSVM format with liblinear's kind of label (1 to 3, none
    // of them a class of the model: predict does not use it).
    std::ifstream in(iris_);
    std::string line, features = "sepal_length,sepal_width,petal_length,petal_width\n", svm;
    std::getline(in, line);  // header
    const std::string names[] = {"setosa", "versicolor", "virginica"};
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();  // the file has CRLF endings
      if (line.empty()) continue;
      const auto last = line.rfind(',');
      features += line.substr(0, last) + "\n";
      std::size_t y = 0;
      while (y < 3 && names[y] != line.substr(last + 1)) ++y;
      std::istringstream cells(line.substr(0, last));
      svm += std::to_string(y + 1);
      std::string cell;
      for (int j = 1; std::getline(cells, cell, ','); ++j)
        svm += " " + std::to_string(j) + ":" + cell;
      svm += "\n";
      truth_.push_back(y);
    }
    nolabel_ = tmp_->path() / "features.csv";
    svm_ = tmp_->path() / "iris.svm";
    write_text(nolabel_, features);
    write_text(svm_, svm);
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }

  static RunResult predict(const std::string& args) {
    return run_softreg("predict --model " + quoted(model_) + " " + args);
  }

  // One JSON object per row, checked to be named FILE[0], FILE[1], ...
  static std::vector<json> predict_rows(const std::string& args, const fs::path& named) {
    const RunResult r = predict("--format json --top 3 " + args);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.err, "");
    std::vector<json> rows = json_lines(r.out);
    for (std::size_t i = 0; i < rows.size(); ++i)
      EXPECT_EQ(rows[i]["input"], named.string() + "[" + std::to_string(i) + "]");
    return rows;
  }

  // The same predictions, whatever the names of the rows: classes, probabilities, logits.
  static void expect_same_predictions(const std::vector<json>& a, const std::vector<json>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      SCOPED_TRACE("row " + std::to_string(i));
      EXPECT_EQ(a[i]["top"], b[i]["top"]);
      EXPECT_EQ(a[i]["logits"], b[i]["logits"]);
      EXPECT_FALSE(a[i].contains("inverted"));
    }
  }

  static TempDir* tmp_;
  static fs::path iris_, model_, nolabel_, svm_;
  static std::vector<std::size_t> truth_;  // the species of each row, 0 to 2
  static std::string error_;               // why there is no model: every test fails with this
};

TempDir* PredictCliTable::tmp_ = nullptr;
fs::path PredictCliTable::iris_, PredictCliTable::model_, PredictCliTable::nolabel_,
    PredictCliTable::svm_;
std::vector<std::size_t> PredictCliTable::truth_;
std::string PredictCliTable::error_;

TEST_F(PredictCliTable, CsvWithAndWithoutTheLabelColumnGivesEvalsClasses) {
  ASSERT_EQ(error_, "");
  ASSERT_EQ(truth_.size(), 150u);
  const auto with_label = predict_rows("--csv " + quoted(iris_), iris_);
  const auto without_label = predict_rows("--csv " + quoted(nolabel_), nolabel_);
  ASSERT_EQ(with_label.size(), 150u);
  expect_same_predictions(with_label, without_label);
  // As INPUT files too: the same rows, the same names.
  EXPECT_EQ(predict_rows(quoted(iris_), iris_), with_label);
  EXPECT_EQ(predict_rows(quoted(nolabel_), nolabel_), without_label);

  // eval's confusion matrix on the same rows, counted again from predict's classes.
  const RunResult e =
      run_softreg("eval --json --model " + quoted(model_) + " --csv " + quoted(iris_));
  ASSERT_EQ(e.status, 0) << describe(e);
  const json eval = json::parse(e.out);
  ASSERT_EQ(eval["examples"], 150);
  std::vector<std::vector<int>> confusion(3, std::vector<int>(3, 0));
  for (std::size_t i = 0; i < 150; ++i)
    ++confusion[truth_[i]][with_label[i]["index"].get<std::size_t>()];
  EXPECT_EQ(eval["confusion"], json(confusion));
  EXPECT_GT(eval["accuracy"].get<double>(), 0.8) << "a model that learnt something";
}

TEST_F(PredictCliTable, TextAndCsvOutputOfCsvRowsAreTheInputsOnes) {
  ASSERT_EQ(error_, "");
  for (const std::string format : {"text", "csv"}) {
    SCOPED_TRACE(format);
    const RunResult option = predict("--top 2 --format " + format + " --csv " + quoted(nolabel_));
    const RunResult input = predict("--top 2 --format " + format + " " + quoted(nolabel_));
    ASSERT_EQ(option.status, 0) << describe(option);
    EXPECT_EQ(option.out, input.out);
    EXPECT_EQ(lines_of(option.out).size(), format == "csv" ? 151u : 150u);
  }
}

TEST_F(PredictCliTable, LibsvmGivesTheSamePredictionsAsCsv) {
  ASSERT_EQ(error_, "");
  const auto from_csv = predict_rows("--csv " + quoted(nolabel_), nolabel_);
  const auto from_svm = predict_rows("--libsvm " + quoted(svm_), svm_);
  ASSERT_EQ(from_csv.size(), 150u);
  expect_same_predictions(from_svm, from_csv);
  // An INPUT named .svm, .libsvm or .libsvm.txt is read as LIBSVM, not as CSV.
  for (const std::string name : {"copy.svm", "copy.libsvm", "copy.libsvm.txt", "COPY.SVM"}) {
    SCOPED_TRACE(name);
    fs::copy_file(svm_, tmp_->path() / name, fs::copy_options::overwrite_existing);
    expect_same_predictions(predict_rows(quoted(tmp_->path() / name), tmp_->path() / name),
                            from_csv);
  }
}

TEST_F(PredictCliTable, FilesArePredictedInTheOrderOfTheCommandLine) {
  ASSERT_EQ(error_, "");
  const RunResult r = predict("--libsvm " + quoted(svm_) + " " + quoted(nolabel_) + " --csv " +
                              quoted(iris_) + " --libsvm " + quoted(svm_));
  ASSERT_EQ(r.status, 0) << describe(r);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 600u);
  const fs::path order[] = {svm_, nolabel_, iris_, svm_};
  for (std::size_t i = 0; i < 600; ++i)
    EXPECT_EQ(lines[i].rfind(order[i / 150].string() + "[" + std::to_string(i % 150) + "]  ", 0),
              0u)
        << lines[i];
}

// A feature beyond the model's was never seen in training: its weight is 0, so it is skipped
// (liblinear's rule), and the row predicts as it would without it.
TEST(PredictCliLibsvm, FeaturesBeyondTheModelsAreSkipped) {
  TempDir dir;
  const fs::path model = write_tabular_model(dir.path());
  write_text(dir.path() / "beyond.svm", "1 1:1 4:2\n2 2:1 5:3 4000000000:1\n");
  write_text(dir.path() / "within.svm", "1 1:1 4:2\n2 2:1\n");
  const RunResult a = run_softreg("predict --format json --model " + quoted(model) + " --libsvm " +
                                  quoted(dir.path() / "beyond.svm"));
  const RunResult b = run_softreg("predict --format json --model " + quoted(model) + " --libsvm " +
                                  quoted(dir.path() / "within.svm"));
  ASSERT_EQ(a.status, 0) << describe(a);
  ASSERT_EQ(b.status, 0) << describe(b);
  const auto x = json_lines(a.out), y = json_lines(b.out);
  ASSERT_EQ(x.size(), 2u);
  ASSERT_EQ(y.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(x[i]["logits"], y[i]["logits"]) << i;
}

// Sparse rows predict as their dense rows: a missing index is a 0, as in the CSV rows written out
// in full.
TEST(PredictCliLibsvm, SparseRowsEqualTheirCsvRows) {
  TempDir dir;
  const fs::path model = write_tabular_model(dir.path());
  write_text(dir.path() / "rows.csv", "x1,x2,x3,x4\n5,1,0,0\n0,0,9,1\n0,0,0,0\n");
  write_text(dir.path() / "rows.txt",
             "# liblinear's kind of file\n-1 1:5 2:1\r\n\n+1 3:9 4:1\n0\n");
  const RunResult csv = run_softreg("predict --format json --top 3 --model " + quoted(model) +
                                    " --csv " + quoted(dir.path() / "rows.csv"));
  const RunResult svm = run_softreg("predict --format json --top 3 --model " + quoted(model) +
                                    " --libsvm " + quoted(dir.path() / "rows.txt"));
  ASSERT_EQ(csv.status, 0) << describe(csv);
  ASSERT_EQ(svm.status, 0) << describe(svm);
  const auto c = json_lines(csv.out), s = json_lines(svm.out);
  ASSERT_EQ(s.size(), 3u) << svm.out;
  ASSERT_EQ(c.size(), 3u) << csv.out;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(s[i]["input"], (dir.path() / "rows.txt").string() + "[" + std::to_string(i) + "]");
    EXPECT_EQ(s[i]["top"], c[i]["top"]) << i;
    EXPECT_EQ(s[i]["logits"], c[i]["logits"]) << i;
  }
  EXPECT_EQ(s[0]["class"], "alpha");
  EXPECT_EQ(s[1]["class"], "gamma");
  EXPECT_NEAR(s[2]["probability"].get<double>(), 1.0 / 3, 1e-6);
}

TEST(PredictCliLibsvm, ErrorsNameTheFileTheLineAndThePair) {
  TempDir dir;
  const fs::path model = write_tabular_model(dir.path());
  auto rejected = [&](const std::string& name, const std::string& text,
                      const std::string& message) {
    SCOPED_TRACE(name);
    const fs::path file = dir.path() / name;
    write_text(file, text);
    // Given by --libsvm, and as an INPUT named .svm.
    expect_rejected(run_softreg("predict --model " + quoted(model) + " --libsvm " + quoted(file)),
                    {file.string() + ": " + message});
    fs::copy_file(file, dir.path() / (name + ".svm"));
    expect_rejected(run_softreg("predict --model " + quoted(model) + " " +
                                quoted(dir.path() / (name + ".svm"))),
                    {(dir.path() / (name + ".svm")).string() + ": " + message});
  };
  rejected("malformed", "1 1:1\n\n0 3=1\n", "line 3, pair 1: expected index:value but found '3=1'");
  rejected("value", "1 1:1 2:x\n", "line 1, pair 2: expected index:value but found '2:x'");
  rejected("unlabelled", "1:1 2:1\n", "line 1: expected a label first but found '1:1'");
  rejected("zero", "1 0:1\n", "line 1, pair 1: indices start at 1 but found 0");
  expect_rejected(run_softreg("predict --model " + quoted(model) + " --libsvm " +
                              quoted(dir.path() / "none.svm")),
                  {"none.svm"});
  expect_rejected(
      run_softreg("predict --model " + quoted(model) + " --csv " + quoted(dir.path() / "none.csv")),
      {"none.csv"});
}

// --- Python reads the file -----------------------------------------------------------------

// A python3 that imports `modules`: $SOFTREG_PYTHON, python3 on the PATH, or Debian's
// /usr/bin/python3 (a pyenv or venv python3 first on the PATH may lack Debian's python3-numpy and
// python3-torch, which scripts/setup installs). Empty when none does; `tried` lists them.
std::string python_with(const std::string& modules, std::string& tried) {
  std::vector<std::string> candidates;
  if (const char* p = std::getenv("SOFTREG_PYTHON"); p != nullptr && *p != '\0')
    candidates.push_back(p);
  candidates.push_back("python3");
  candidates.push_back("/usr/bin/python3");
  for (const auto& c : candidates) {
    tried += (tried.empty() ? "" : ", ") + c;
    if (run_command("'" + c + "' -c 'import " + modules + "'").status == 0) return c;
  }
  return {};
}

// The one ```python block of docs/formats.md: the code it gives users to load a model into
// PyTorch. The test runs that very text, so the page and the test cannot drift apart.
std::string documented_torch_loader() {
  const std::string doc = slurp(fs::path(SOFTREG_SOURCE_DIR) / "docs" / "formats.md");
  const std::string open = "\n```python\n";
  const auto first = doc.find(open);
  if (first == std::string::npos || doc.find(open, first + 1) != std::string::npos) return {};
  const auto begin = first + open.size();
  const auto end = doc.find("\n```\n", begin);
  return end == std::string::npos ? std::string() : doc.substr(begin, end + 1 - begin);
}

// |a - b| / max(1, |b|): two float32 sums of 784 products in different orders differ by a few
// units in the last place of the logit (ulp(8) = 9.5e-7), so the difference scales with it.
double relative_difference(double a, double b) {
  return std::abs(a - b) / std::max(1.0, std::abs(b));
}

// The model trained on the real Fashion-MNIST (no fallback to the tiny set: the point is a real
// model of 784 inputs and 10 classes), read by the Python reader on the first 100 test images.
class PythonReader : public PredictCli {
 protected:
  // Runs the reader (with PyTorch and the documented loader when `torch`); also softreg predict
  // on the same images.
  void run_both(bool torch) {
    std::string tried;
    const std::string python = python_with(torch ? "numpy, torch" : "numpy", tried);
    ASSERT_FALSE(python.empty()) << "no python3 that imports "
                                 << (torch ? "numpy and torch" : "numpy")
                                 << " (Debian's python3-numpy and python3-torch; scripts/setup "
                                    "installs them): tried "
                                 << tried;
    ASSERT_EQ(real_.error, "");
    const Trained& t = real_;
    const IdxArray all = load_idx(t.test_images, 3);
    const std::size_t n = 100, d = all.dims[1] * all.dims[2];
    write_file(dir_.path() / "images.idx", idx_bytes({100, static_cast<std::uint32_t>(all.dims[1]),
                                                      static_cast<std::uint32_t>(all.dims[2])},
                                                     std::span(all.data).first(n * d)));
    const RunResult s = run_softreg("predict --format json --model " + quoted(t.model) + " " +
                                    quoted(dir_.path() / "images.idx"));
    ASSERT_EQ(s.status, 0) << describe(s);
    softreg_ = json_lines(s.out);
    ASSERT_EQ(softreg_.size(), n);
    std::string torch_args;
    if (torch) {
      // The documented code loads "m.safetensors" from its folder: put both there.
      const std::string loader = documented_torch_loader();
      ASSERT_NE(loader, "") << "docs/formats.md should hold exactly one ```python block";
      ASSERT_NE(loader.find("load_state_dict"), std::string::npos) << loader;
      const fs::path folder = dir_.path() / "user";
      fs::create_directory(folder);
      write_text(folder / "load_softreg.py", loader);
      fs::copy_file(t.model, folder / "m.safetensors");
      torch_args = " --torch " + quoted(folder / "load_softreg.py");
    }
    const RunResult p = run_command(
        "'" + python + "' " +
        quoted(fs::path(SOFTREG_SOURCE_DIR) / "tests" / "python" / "read_safetensors.py") + " " +
        quoted(t.model) + " " + quoted(dir_.path() / "images.idx") + torch_args);
    ASSERT_EQ(p.status, 0) << describe(p);
    python_ = json::parse(p.out);
  }
  TempDir dir_;
  std::vector<json> softreg_;
  json python_;
};

TEST_F(PythonReader, NumpyReproducesSoftregsPredictions) {
  run_both(false);
  if (HasFatalFailure()) return;
  ASSERT_EQ(python_["classes"].size(), 100u);
  double worst = 0;
  for (std::size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(python_["classes"][i].get<std::size_t>(), softreg_[i]["index"].get<std::size_t>())
        << "image " << i;
    EXPECT_EQ(python_["class_names"][python_["classes"][i].get<std::size_t>()],
              softreg_[i]["class"]);
    for (std::size_t k = 0; k < 10; ++k)
      worst = std::max(worst, relative_difference(python_["logits"][i][k].get<double>(),
                                                  softreg_[i]["logits"][k].get<double>()));
  }
  // softreg sums 784 float32 products; numpy's reference sums them in float64.
  EXPECT_LT(worst, 1e-5) << "largest logit difference, relative to max(1, |logit|)";
}

// docs/formats.md's code, run as it stands on the page: it must build nn.Linear(784, 10) with
// load_state_dict, and that layer must give softreg's logits.
TEST_F(PythonReader, TorchNnLinearLoadsTheFileAndGivesTheSameLogits) {
  run_both(true);
  if (HasFatalFailure()) return;
  ASSERT_EQ(python_["torch_logits"].size(), 100u);
  double worst = 0;
  for (std::size_t i = 0; i < 100; ++i)
    for (std::size_t k = 0; k < 10; ++k)
      worst = std::max(worst, relative_difference(python_["torch_logits"][i][k].get<double>(),
                                                  softreg_[i]["logits"][k].get<double>()));
  EXPECT_LT(worst, 1e-5)
      << "largest logit difference between nn.Linear and softreg, relative to max(1, |logit|)";
}

}  // namespace
}  // namespace softreg::test
