// End-to-end tests of the pictures: `softreg show predictions|weights|confusion` and
// `softreg train --plot/--report`, run as a user runs them. PNGs are decoded with libpng and
// checked pixel by pixel where the answer is known (a model with known weights); SVGs are parsed
// as XML; the report is rendered in headless Chromium, which must load every picture.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "expect.hpp"
#include "fixtures.hpp"
#include "png.hpp"
#include "run.hpp"
#include "softreg/data.hpp"
#include "softreg/io.hpp"
#include "softreg/plot.hpp"
#include "xml.hpp"

namespace softreg::test {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kRows = 28, kCols = 28, kD = kRows * kCols;

// The pictures' sizes, from the layout of src/plot.cpp (grid_layout): a 28x28 image is drawn 5
// times its size (140 pixels) in a cell max(140, text_width("T-shirt/top") = 130) + 24 = 164
// pixels wide, 6 cells to a row for predictions and 5 for weights, with margins of 24 pixels left
// and right. Above the grid 78 pixels hold the figure's title, below it 10 (weights: 76 more for
// the colour bar). A cell's height is its title (lines of 22 pixels: 2 for predictions, 1 for
// weights), 6, the image's 140 and 20. A picture is widened only for a title or subtitle wider
// than its grid (text_width + 40); every one drawn here is narrower, so these are exact.
constexpr std::size_t grid_width(std::size_t columns) {
  return 2 * 24 + columns * 164;
}
constexpr std::size_t predictions_height(std::size_t grid_rows) {
  return 78 + grid_rows * (2 * 22 + 6 + 140 + 20) + 10;
}
constexpr std::size_t kWeightsWidth = grid_width(5);                            // 868
constexpr std::size_t kWeightsHeight = 78 + 2 * (22 + 6 + 140 + 20) + 76 + 10;  // 540

std::string q(const fs::path& p) {
  return "'" + p.string() + "'";
}

std::vector<std::string> fashion_names() {
  std::vector<std::string> names;
  for (auto n : fashion_mnist_classes()) names.emplace_back(n);
  return names;
}

// A model of Fashion-MNIST's shape whose weights and biases the test chooses.
fs::path write_model(const fs::path& file, const std::vector<float>& weight,
                     const std::vector<float>& bias, std::vector<std::size_t> shape = {28, 28}) {
  SoftmaxRegression model(kD, 10);
  std::copy(weight.begin(), weight.end(), model.weight().begin());
  std::copy(bias.begin(), bias.end(), model.bias().begin());
  ModelInfo info;
  info.class_names = fashion_names();
  info.input_shape = std::move(shape);
  info.input_scale = 1.0f / 255.0f;
  save_model(file, model, info);
  return file;
}

// Every image gets class 3 (Dress): zero weights, the largest bias on class 3. The tiny test set
// labels image i with i % 10, so exactly the images 3, 13, 23, ... are right.
fs::path write_always_dress(const fs::path& file) {
  std::vector<float> bias(10, 0.0f);
  bias[3] = 1.0f;
  return write_model(file, std::vector<float>(10 * kD, 0.0f), bias);
}

std::size_t count_color(const DecodedPng& png, Rgb c, std::size_t x0, std::size_t y0,
                        std::size_t x1, std::size_t y1) {
  std::size_t n = 0;
  for (std::size_t y = y0; y < std::min(y1, png.height); ++y)
    for (std::size_t x = x0; x < std::min(x1, png.width); ++x)
      n += png.r(x, y) == c.r && png.g(x, y) == c.g && png.b(x, y) == c.b;
  return n;
}

// Red (mistake) and dark (correct) title pixels of image k of a prediction grid.
std::pair<std::size_t, std::size_t> title_inks(const DecodedPng& png, const GridLayout& g,
                                               std::size_t k) {
  const std::size_t dx = (png.width - g.width) / 2, x0 = g.title_x(k) + dx, y0 = g.title_y(k);
  const std::size_t x1 = x0 + g.cell_width, y1 = y0 + g.title_height();
  return {count_color(png, colors::kMistake, x0, y0, x1, y1),
          count_color(png, colors::kText, x0, y0, x1, y1)};
}

class ShowCliTest : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_fashion(data_, 300, 100); }
  fs::path out(const std::string& name) const { return dir_.path() / name; }

  TempDir dir_;
  fs::path data_ = dir_.path() / "data";
};

// ------------------------------------------------------------------------------ predictions

TEST_F(ShowCliTest, PredictionsTitleTheKnownMistakesInRed) {
  const fs::path model = write_always_dress(out("dress.safetensors"));
  const fs::path png_file = out("predictions.png");
  const RunResult r = run_softreg("show predictions --model " + q(model) + " --data " + q(data_) +
                                  " --n 12 --out " + q(png_file));
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "wrote " + png_file.string() + "\n");
  const DecodedPng png = decode_png_file(png_file);
  ASSERT_TRUE(png.error.empty()) << png.error;
  const GridLayout g = prediction_grid_layout(12, kRows, kCols);
  EXPECT_EQ(png.width, grid_width(6));           // 1032: 12 images, 6 to a row
  EXPECT_EQ(png.height, predictions_height(2));  // 508: 2 rows
  EXPECT_EQ(png.width, g.width);
  EXPECT_EQ(png.height, g.height);
  const Dataset test = load_fashion_mnist(data_).test;
  const std::size_t dx = (png.width - g.width) / 2;
  for (std::size_t k = 0; k < 12; ++k) {
    const auto [red, dark] = title_inks(png, g, k);
    if (k % 10 == 3) {  // Dress, predicted Dress
      EXPECT_EQ(red, 0u) << "image " << k;
      EXPECT_GT(dark, 40u) << "image " << k;
    } else {
      EXPECT_GT(red, 40u) << "image " << k;
      EXPECT_EQ(dark, 0u) << "image " << k;
    }
    // The image itself, drawn dark on white: pixel (r, c) shows 255 - value.
    for (const auto [r0, c0] : {std::pair{0, 0}, std::pair{int(k % 10) * 28 / 10 + 1, 14}}) {
      const std::size_t x = g.image_x(k) + dx + c0 * g.zoom + g.zoom / 2;
      const std::size_t y = g.image_y(k) + r0 * g.zoom + g.zoom / 2;
      EXPECT_EQ(png.r(x, y), 255 - test.pixels[k * kD + r0 * kCols + c0])
          << "image " << k << " pixel " << r0 << "," << c0;
    }
  }
}

TEST_F(ShowCliTest, WrongShowsOnlyMistakes) {
  const fs::path model = write_always_dress(out("dress.safetensors"));
  const fs::path png_file = out("wrong.png");
  const RunResult r = run_softreg("show predictions --model " + q(model) + " --data " + q(data_) +
                                  " --n 5 --wrong --out " + q(png_file));
  ASSERT_EQ(r.status, 0) << describe(r);
  const DecodedPng png = decode_png_file(png_file);
  ASSERT_TRUE(png.error.empty()) << png.error;
  const GridLayout g = prediction_grid_layout(5, kRows, kCols);
  EXPECT_EQ(png.width, grid_width(5));           // 868: 5 images, one row of 5
  EXPECT_EQ(png.height, predictions_height(1));  // 298
  EXPECT_EQ(png.width, g.width);
  EXPECT_EQ(png.height, g.height);
  for (std::size_t k = 0; k < 5; ++k) {
    const auto [red, dark] = title_inks(png, g, k);
    EXPECT_GT(red, 40u) << "image " << k;
    EXPECT_EQ(dark, 0u) << "image " << k;
  }
}

TEST_F(ShowCliTest, PredictionsNeedAPngFileName) {
  const fs::path model = write_always_dress(out("dress.safetensors"));
  expect_rejected(run_softreg("show predictions --model " + q(model) + " --data " + q(data_) +
                              " --out " + q(out("p.jpg"))),
                  {"--out " + out("p.jpg").string() +
                   ": expected a file name ending in .png but found \".jpg\""});
  EXPECT_FALSE(fs::exists(out("p.jpg")));
}

TEST_F(ShowCliTest, ShowWithoutAPictureIsAUsageError) {
  expect_rejected(run_softreg("show"),
                  {"softreg: show: expected what to draw: predictions, weights or confusion"});
}

TEST_F(ShowCliTest, MissingModelExitsTwoNamingIt) {
  expect_rejected(run_softreg("show weights --model " + q(out("none.safetensors")) + " --out " +
                              q(out("w.png"))),
                  {out("none.safetensors").string() + ": cannot open file (no such file)"});
  EXPECT_FALSE(fs::exists(out("w.png")));
}

// docs/cli.md: "With --wrong and a model that makes no mistake, it exits 1 and writes nothing."
TEST_F(ShowCliTest, WrongWithAModelThatMakesNoMistakeExitsOneAndWritesNothing) {
  // The tiny set's class y lights up its own band of rows (write_tiny_fashion): a model whose
  // weights are 1 on its class's band and 0 elsewhere gets every test image right.
  std::vector<float> w(10 * kD, 0.0f);
  for (std::size_t y = 0; y < 10; ++y)
    for (std::size_t p = 0; p < kD; ++p)
      w[y * kD + p] = (p / kCols) * 10 / kRows == y ? 1.0f : 0.0f;
  const fs::path model = write_model(out("perfect.safetensors"), w, std::vector<float>(10, 0.0f));
  const RunResult all = run_softreg("eval --json --model " + q(model) + " --data " + q(data_));
  ASSERT_EQ(all.status, 0) << describe(all);
  ASSERT_EQ(nlohmann::json::parse(all.out)["accuracy"], 1.0) << "not perfect: " << all.out;

  const std::string message = "softreg: --wrong: the model classifies all 100 test images of " +
                              (data_ / "t10k-images-idx3-ubyte.gz").string() +
                              " correctly: no mistake to show\n";
  const RunResult r = run_softreg("show predictions --wrong --model " + q(model) + " --data " +
                                  q(data_) + " --out " + q(out("none.png")));
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_EQ(r.out, "") << describe(r);
  EXPECT_EQ(r.err, message);
  EXPECT_FALSE(fs::exists(out("none.png")));
  // Nothing written is also an earlier picture left as it was.
  write_text(out("earlier.png"), "an earlier picture");
  const RunResult again = run_softreg("show predictions --wrong --model " + q(model) + " --data " +
                                      q(data_) + " --out " + q(out("earlier.png")));
  EXPECT_EQ(again.status, 1) << describe(again);
  EXPECT_EQ(slurp(out("earlier.png")), "an earlier picture");
  // Without --wrong the same model is shown.
  const RunResult shown = run_softreg("show predictions --model " + q(model) + " --data " +
                                      q(data_) + " --out " + q(out("right.png")));
  EXPECT_EQ(shown.status, 0) << describe(shown);
  EXPECT_TRUE(decode_png_file(out("right.png")).error.empty());
}

// docs/cli.md: --n is "how many images, default 18, at most 1000".
TEST_F(ShowCliTest, PredictionsShowAtMostAThousandImages) {
  const fs::path model = write_always_dress(out("dress.safetensors"));
  for (const char* n : {"1001", "0"}) {
    SCOPED_TRACE(n);
    expect_rejected(run_softreg("show predictions --model " + q(model) + " --data " + q(data_) +
                                " --n " + n + " --out " + q(out("p.png"))),
                    {"--n", std::string("Value ") + n + " not in range 1 to 1000"});
    EXPECT_FALSE(fs::exists(out("p.png")));
  }
  // 1000 is allowed: the tiny set's 100 test images, all of them, in 17 rows of 6.
  const RunResult r = run_softreg("show predictions --model " + q(model) + " --data " + q(data_) +
                                  " --n 1000 --out " + q(out("p.png")));
  ASSERT_EQ(r.status, 0) << describe(r);
  const DecodedPng png = decode_png_file(out("p.png"));
  ASSERT_TRUE(png.error.empty()) << png.error;
  EXPECT_EQ(png.width, grid_width(6));
  EXPECT_EQ(png.height, predictions_height(17));
}

// ------------------------------------------------------------------------------ weights

TEST_F(ShowCliTest, WeightsShowTheSignOfStrongWeights) {
  std::vector<float> w(10 * kD, 0.0f);
  w[3 * kD + 5 * kCols + 7] = 2.0f;     // Dress, pixel (5, 7): strongly for
  w[3 * kD + 20 * kCols + 14] = -2.0f;  // Dress, pixel (20, 14): strongly against
  w[9 * kD + 27 * kCols + 27] = -1.0f;  // Ankle boot, last pixel: half as strongly against
  const fs::path model = write_model(out("w.safetensors"), w, std::vector<float>(10, 0.0f));
  const fs::path png_file = out("weights.png");
  const RunResult r = run_softreg("show weights --model " + q(model) + " --out " + q(png_file));
  ASSERT_EQ(r.status, 0) << describe(r);
  const DecodedPng png = decode_png_file(png_file);
  ASSERT_TRUE(png.error.empty()) << png.error;
  const GridLayout g = weight_grid_layout(10, kRows, kCols);
  EXPECT_EQ(png.width, kWeightsWidth);
  EXPECT_EQ(png.height, kWeightsHeight);
  EXPECT_EQ(png.width, g.width);
  EXPECT_EQ(png.height, g.height);
  const std::size_t dx = (png.width - g.width) / 2;
  auto pixel = [&](std::size_t cls, std::size_t r, std::size_t c) {
    const std::size_t x = g.image_x(cls) + dx + c * g.zoom + g.zoom / 2;
    const std::size_t y = g.image_y(cls) + r * g.zoom + g.zoom / 2;
    return Rgb{png.r(x, y), png.g(x, y), png.b(x, y)};
  };
  const Rgb pos = pixel(3, 5, 7), neg = pixel(3, 20, 14), half = pixel(9, 27, 27);
  EXPECT_GT(pos.r, pos.b + 60) << "a strongly positive weight is red";
  EXPECT_GT(neg.b, neg.r + 60) << "a strongly negative weight is blue";
  EXPECT_GT(half.b, half.r + 30);
  EXPECT_GT(half.r, neg.r) << "half the weight, a lighter blue";
  EXPECT_EQ(pos, diverging_color(1.0));
  EXPECT_EQ(neg, diverging_color(-1.0));
  EXPECT_EQ(pixel(3, 14, 14), colors::kWhite) << "zero is white";
  EXPECT_EQ(pixel(0, 5, 7), colors::kWhite);
}

TEST_F(ShowCliTest, WeightsOfAModelThatIsNotOfImagesExitTwo) {
  const fs::path model = write_model(out("flat.safetensors"), std::vector<float>(10 * kD, 0.0f),
                                     std::vector<float>(10, 0.0f), {kD});
  expect_rejected(run_softreg("show weights --model " + q(model) + " --out " + q(out("w.png"))),
                  {model.string() +
                   ": weight templates need a model of images (input shape rows x cols) but its "
                   "input shape is 784"});
  EXPECT_FALSE(fs::exists(out("w.png")));
}

// ------------------------------------------------------------------------------ confusion

TEST_F(ShowCliTest, ConfusionSvgHasTheKnownCounts) {
  const fs::path model = write_always_dress(out("dress.safetensors"));
  const fs::path svg = out("confusion.svg");
  const RunResult r = run_softreg("show confusion --model " + q(model) + " --data " + q(data_) +
                                  " --out " + q(svg));
  ASSERT_EQ(r.status, 0) << describe(r);
  const XmlSummary x = parse_xml(svg);
  ASSERT_TRUE(x.well_formed) << x.error;
  EXPECT_EQ(x.classes.at("cell"), 100u);
  EXPECT_EQ(x.classes.at("count"), 100u);
  // 100 test images, 10 of each class, all predicted Dress: column 3 holds 10s, the rest 0s.
  const std::string text = slurp(svg);
  for (int t = 0; t < 10; ++t)
    EXPECT_NE(text.find("<title>" + xml_escape(fashion_names()[t]) + " as Dress: 10</title>"),
              std::string::npos)
        << t;
  EXPECT_EQ(std::count(x.texts.begin(), x.texts.end(), "10"), 10);
  EXPECT_EQ(std::count(x.texts.begin(), x.texts.end(), "0"), 90);
  for (const auto& name : fashion_names())
    EXPECT_EQ(std::count(x.texts.begin(), x.texts.end(), name), 2) << name;
}

TEST_F(ShowCliTest, ConfusionNeedsAnSvgFileName) {
  const fs::path model = write_always_dress(out("dress.safetensors"));
  expect_rejected(run_softreg("show confusion --model " + q(model) + " --data " + q(data_) +
                              " --out " + q(out("c.png"))),
                  {"--out " + out("c.png").string() +
                   ": expected a file name ending in .svg but found \".png\""});
  EXPECT_FALSE(fs::exists(out("c.png")));
}

// ------------------------------------------------------------------------------ train --plot

TEST_F(ShowCliTest, TrainPlotSvgHasOnePointPerEpochInEachSeries) {
  const fs::path svg = out("curves.svg");
  const RunResult r = run_softreg("train --data " + q(data_) + " --epochs 3 --plot " + q(svg));
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("wrote the training curves to " + svg.string()), std::string::npos);
  const XmlSummary x = parse_xml(svg);
  ASSERT_TRUE(x.well_formed) << x.error;
  EXPECT_EQ(x.root, "svg");
  for (const char* id : {"series-loss", "series-train-acc", "series-test-acc"})
    EXPECT_EQ(x.points.count(id) ? x.points.at(id) : 0u, 3u) << id;
  for (const char* label : {"loss", "train acc", "test acc", "epoch", "1", "2", "3"})
    EXPECT_NE(std::find(x.texts.begin(), x.texts.end(), label), x.texts.end()) << label;
}

TEST_F(ShowCliTest, TrainPlotPngDecodes) {
  const fs::path png_file = out("curves.png");
  const RunResult r =
      run_softreg("train --data " + q(data_) + " --epochs 2 --quiet --plot " + q(png_file));
  ASSERT_EQ(r.status, 0) << describe(r);
  const DecodedPng png = decode_png_file(png_file);
  ASSERT_TRUE(png.error.empty()) << png.error;
  EXPECT_EQ(png.width, 900u);
  EXPECT_EQ(png.height, 540u);
  for (Rgb c : {colors::kLoss, colors::kTrainAccuracy, colors::kTestAccuracy})
    EXPECT_GT(count_color(png, c, 0, 0, png.width, png.height), 100u);
}

TEST_F(ShowCliTest, TrainPlotWithAnotherExtensionExitsTwoBeforeTraining) {
  // Nothing on stdout: no epoch ran before the refusal.
  expect_rejected(
      run_softreg("train --data " + q(data_) + " --epochs 2 --plot " + q(out("curves.pdf"))),
      {"--plot " + out("curves.pdf").string() +
       ": expected a file name ending in .svg or .png but found \".pdf\""});
}

TEST_F(ShowCliTest, TrainPlotIntoAMissingFolderExitsTwoBeforeTraining) {
  // Nothing on stdout: no epoch ran before the refusal.
  expect_rejected(run_softreg("train --data " + q(data_) + " --epochs 2 --plot " +
                              q(out("no/such/folder/curves.svg"))),
                  {out("no/such/folder/curves.svg").string() + ": folder " +
                   out("no/such/folder").string() + " does not exist (--plot)"});
}

// A report is whole or not there: an earlier report (here with a file of its own) is replaced
// whole by a run that succeeded and left as it was by one that did not; no staging folder stays.
TEST_F(ShowCliTest, TrainReportReplacesAnEarlierOneWholeOrNotAtAll) {
  const fs::path report = out("rep");
  fs::create_directories(report);
  write_text(report / "stale.txt", "from an earlier run");
  const RunResult refused = run_softreg("train --data " + q(data_) +
                                        " --epochs 1 --model logistic --report " + q(report));
  EXPECT_EQ(refused.status, 2) << describe(refused);  // ten classes: refused after reading
  EXPECT_EQ(slurp(report / "stale.txt"), "from an earlier run");
  const RunResult ok =
      run_softreg("train --data " + q(data_) + " --epochs 1 --report " + q(report));
  ASSERT_EQ(ok.status, 0) << describe(ok);
  EXPECT_FALSE(fs::exists(report / "stale.txt"));
  EXPECT_TRUE(fs::exists(report / "report.html"));
  EXPECT_TRUE(fs::exists(report / "model.safetensors"));
  for (const auto& e : fs::directory_iterator(report.parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST_F(ShowCliTest, TrainReportOnAFileExitsTwo) {
  write_text(out("taken"), "x");
  expect_rejected(
      run_softreg("train --data " + q(data_) + " --epochs 1 --report " + q(out("taken"))),
      {"--report " + out("taken").string() + ": expected a folder but found a file"});
  EXPECT_EQ(slurp(out("taken")), "x");
}

// ------------------------------------------------------------------------------ train --report

// Chromium is a test dependency (scripts/setup installs Debian's chromium; CI has it): the tests
// that render the report fail without it.
bool have_chromium() {
  return run_command("command -v chromium").status == 0;
}
constexpr const char* kNoChromium = "chromium is not installed (scripts/setup installs it)";

// Runs headless Chromium on `url` with no network and a fresh profile; `what` is the action
// (--screenshot=FILE or --dump-dom).
RunResult chromium(const std::string& what, const std::string& url) {
  TempDir profile;
  return run_command(
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--disable-extensions --proxy-server=127.0.0.1:9 --user-data-dir=" +
      q(profile.path()) +
      " --window-size=1200,2000 --run-all-compositor-stages-before-draw "
      "--virtual-time-budget=5000 " +
      what + " " + q(url));
}

TEST(ReportCliTest, ReportHoldsEveryPictureAndRendersInChromium) {
  const fs::path data = real_fashion_mnist_dir();
  ASSERT_FALSE(data.empty()) << no_real_fashion_mnist();
  TempDir dir;
  const fs::path report = dir.path() / "out";
  const RunResult r =
      run_softreg("train --data " + q(data) + " --limit 2000 --epochs 2 --report " + q(report));
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("wrote the report to " + (report / "report.html").string()),
            std::string::npos)
      << r.out;

  // The model is saved and loads.
  const SavedModel saved = load_model(report / "model.safetensors");
  EXPECT_EQ(saved.model.classes(), 10u);
  // Every picture decodes or parses, and has its layout's size: 18 test images (and 18 of the
  // many mistakes of so short a run) in 3 rows of 6; 10 weight templates.
  const struct {
    const char* name;
    std::size_t width, height;
  } pictures[] = {{"predictions.png", grid_width(6), predictions_height(3)},
                  {"mistakes.png", grid_width(6), predictions_height(3)},
                  {"weights.png", kWeightsWidth, kWeightsHeight}};
  for (const auto& [name, width, height] : pictures) {
    const DecodedPng png = decode_png_file(report / name);
    EXPECT_TRUE(png.error.empty()) << name << ": " << png.error;
    EXPECT_EQ(png.width, width) << name;
    EXPECT_EQ(png.height, height) << name;
  }
  for (const char* name : {"curves.svg", "confusion.svg"}) {
    const XmlSummary x = parse_xml(report / name);
    EXPECT_TRUE(x.well_formed) << name << ": " << x.error;
  }
  const std::string html = slurp(report / "report.html");
  for (const char* name :
       {"curves.svg", "predictions.png", "mistakes.png", "weights.png", "confusion.svg"})
    EXPECT_NE(html.find("<img src=\"" + std::string(name) + "\""), std::string::npos) << name;
  EXPECT_NE(html.find("<th>lr</th><td>0.1</td>"), std::string::npos);
  EXPECT_NE(html.find("<th>limit</th><td>2000</td>"), std::string::npos);
  EXPECT_NE(html.find("test accuracy"), std::string::npos);

  ASSERT_TRUE(have_chromium()) << kNoChromium;
  const std::string url = "file://" + (report / "report.html").string();
  const RunResult dom = chromium("--dump-dom", url);
  ASSERT_EQ(dom.status, 0) << describe(dom);
  EXPECT_NE(dom.out.find("data-images=\"loaded\""), std::string::npos)
      << "not every image loaded:\n"
      << dom.out.substr(0, dom.out.find('\n', dom.out.find("<body")));

  const fs::path shot = dir.path() / "shot.png";
  const RunResult s = chromium("--screenshot=" + shot.string(), url);
  ASSERT_EQ(s.status, 0) << describe(s);
  const DecodedPng png = decode_png_file(shot);
  ASSERT_TRUE(png.error.empty()) << png.error;
  EXPECT_EQ(png.width, 1200u);
  std::set<std::uint32_t> distinct;
  for (std::size_t i = 0; i + 2 < png.rgb.size(); i += 3)
    distinct.insert(std::uint32_t{png.rgb[i]} << 16 | std::uint32_t{png.rgb[i + 1]} << 8 |
                    png.rgb[i + 2]);
  EXPECT_GT(distinct.size(), 200u) << "the screenshot looks blank";
}

TEST(ReportCliTest, ChromiumCheckCatchesABrokenImage) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  TempDir dir;
  write_tiny_fashion(dir.path() / "data", 300, 100);
  const fs::path report = dir.path() / "out";
  const RunResult r = run_softreg("train --data " + q(dir.path() / "data") +
                                  " --epochs 1 --quiet --report " + q(report));
  ASSERT_EQ(r.status, 0) << describe(r);
  fs::remove(report / "weights.png");
  const RunResult dom = chromium("--dump-dom", "file://" + (report / "report.html").string());
  ASSERT_EQ(dom.status, 0) << describe(dom);
  EXPECT_NE(dom.out.find("data-images=\"broken: weights.png\""), std::string::npos)
      << dom.out.substr(0, 2000);
}

}  // namespace
}  // namespace softreg::test
