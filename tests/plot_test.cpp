// Tests of the pictures: PNGs decode (with libpng's own reader) to the expected size with the
// expected colours at known places; SVGs parse as XML (Python's minidom) and hold the expected
// series, labels and number of points; the report page names every picture.
#include "softreg/plot.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "png.hpp"
#include "softreg/metrics.hpp"
#include "xml.hpp"

namespace softreg {
namespace {

namespace fs = std::filesystem;

std::vector<EpochMetrics> history_of(int epochs) {
  std::vector<EpochMetrics> h;
  for (int e = 1; e <= epochs; ++e) {
    EpochMetrics m;
    m.epoch = e;
    m.loss = 0.8 / std::sqrt(static_cast<double>(e));
    m.train_accuracy = 0.70 + 0.012 * e;
    m.test_accuracy = 0.69 + 0.011 * e;
    m.test_loss = m.loss * 1.05;
    m.seconds = 0.1;
    h.push_back(m);
  }
  return h;
}

std::size_t count_color(const test::DecodedPng& png, Rgb c, std::size_t x0 = 0, std::size_t y0 = 0,
                        std::size_t x1 = SIZE_MAX, std::size_t y1 = SIZE_MAX) {
  std::size_t n = 0;
  for (std::size_t y = y0; y < std::min(y1, png.height); ++y)
    for (std::size_t x = x0; x < std::min(x1, png.width); ++x)
      n += png.r(x, y) == c.r && png.g(x, y) == c.g && png.b(x, y) == c.b;
  return n;
}

std::vector<std::string> fashion_names() {
  std::vector<std::string> names;
  for (auto n : fashion_mnist_classes()) names.emplace_back(n);
  return names;
}

// ------------------------------------------------------------------------------ font, canvas

TEST(Font, EveryPrintableCharacterHasInkExceptSpace) {
  for (char ch = 33; ch < 127; ++ch) {
    Canvas c(20, 30);
    c.text(2, 2, std::string(1, ch), colors::kBlack, 2);
    const auto png = test::decode_png_bytes(png_bytes(c));
    ASSERT_TRUE(png.error.empty()) << png.error;
    EXPECT_GT(count_color(png, colors::kBlack), 0u) << "character '" << ch << "' has no ink";
  }
  Canvas c(20, 30);
  c.text(2, 2, " ", colors::kBlack, 2);
  EXPECT_EQ(count_color(test::decode_png_bytes(png_bytes(c)), colors::kBlack), 0u);
}

TEST(Font, TextWidthCountsAdvancesWithoutTheLastGap) {
  EXPECT_EQ(text_width("", 2), 0);
  EXPECT_EQ(text_width("A", 1), 5);
  EXPECT_EQ(text_width("AB", 1), 11);
  EXPECT_EQ(text_width("AB", 2), 22);
}

TEST(Font, FitTextCutsWithDots) {
  EXPECT_EQ(fit_text("Sandal", 1000), "Sandal");
  const std::string cut = fit_text("T-shirt/top", text_width("T-shirt", 2), 2);
  EXPECT_EQ(cut, "T-shi..");  // 7 characters, as "T-shirt"
  EXPECT_LE(text_width(cut), text_width("T-shirt"));
}

TEST(Font, GlyphPixelsLandWhereTheBitmapSays) {
  // 'L' is a vertical bar at column 0 and a bottom row of 5; at scale 3 each is 3x3 pixels.
  Canvas c(30, 40);
  c.text(4, 5, "L", colors::kBlack, 3);
  EXPECT_EQ(c.at(4, 5), colors::kBlack);                  // top of the bar
  EXPECT_EQ(c.at(6, 5 + 6 * 3 + 2), colors::kBlack);      // bottom-left corner, last pixel
  EXPECT_EQ(c.at(4 + 4 * 3, 5 + 6 * 3), colors::kBlack);  // right end of the foot
  EXPECT_EQ(c.at(4 + 3, 5), colors::kWhite);              // right of the bar
  EXPECT_EQ(c.at(4 + 4 * 3, 5 + 5 * 3), colors::kWhite);  // above the foot's end
}

TEST(Canvas, PolylineCoversItsPathAndNothingFar) {
  Canvas c(40, 20);
  const std::pair<double, double> pts[] = {{5, 10}, {35, 10}};
  c.polyline(pts, 3, colors::kLoss);
  EXPECT_EQ(c.at(20, 9), colors::kLoss);
  EXPECT_EQ(c.at(20, 10), colors::kLoss);
  EXPECT_EQ(c.at(20, 3), colors::kWhite);
  EXPECT_EQ(c.at(38, 10), colors::kWhite);
}

TEST(Canvas, DrawingOutsideIsIgnored) {
  Canvas c(10, 10);
  c.fill_rect(-5, -5, 100, 100, colors::kBlack);
  c.text(-20, 8, "Hello", colors::kMistake);
  EXPECT_EQ(c.at(0, 0), colors::kBlack);  // the text starts at row 8
}

TEST(Colors, DivergingIsWhiteAtZeroRedAboveBlueBelow) {
  EXPECT_EQ(diverging_color(0), colors::kWhite);
  const Rgb hi = diverging_color(1), lo = diverging_color(-1);
  EXPECT_GT(hi.r, hi.b + 60);
  EXPECT_GT(lo.b, lo.r + 60);
  EXPECT_EQ(diverging_color(5), hi);  // clipped
  const Rgb half = diverging_color(0.5);
  EXPECT_GT(half.r, half.b);
  EXPECT_EQ(sequential_color(0), colors::kWhite);
  EXPECT_LT(sequential_color(1).r, 50);
}

TEST(Xml, EscapesMarkup) {
  EXPECT_EQ(xml_escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
  EXPECT_EQ(xml_escape(std::string("x\x01y")), "xy");
}

// ------------------------------------------------------------------------------ curves

// With a validation set, its loss and accuracy are two more series.
TEST(TrainingCurves, ValidationAddsTwoSeries) {
  auto h = history_of(5);
  for (EpochMetrics& m : h) {
    m.validated = true;
    m.validation_loss = m.loss * 1.1;
    m.validation_accuracy = m.test_accuracy + 0.01;
  }
  test::TempDir dir;
  const fs::path file = dir.path() / "curves.svg";
  write_svg(file, training_curves_svg(h, "validated"));
  const auto x = test::parse_xml(file);
  ASSERT_TRUE(x.well_formed) << x.error;
  for (const char* id : {"series-loss", "series-train-acc", "series-test-acc", "series-val-loss",
                         "series-val-acc"}) {
    ASSERT_TRUE(x.points.count(id)) << id;
    EXPECT_EQ(x.points.at(id), 5u) << id;
  }
  EXPECT_EQ(x.classes.at("series"), 5u);
}

TEST(TrainingCurves, SvgParsesAndHoldsThreeSeriesOfOnePointPerEpoch) {
  const auto h = history_of(7);
  test::TempDir dir;
  const fs::path file = dir.path() / "curves.svg";
  write_svg(file, training_curves_svg(h, "Training <run> & more"));
  const auto x = test::parse_xml(file);
  ASSERT_TRUE(x.well_formed) << x.error;
  EXPECT_EQ(x.root, "svg");
  EXPECT_EQ(x.root_attributes.at("xmlns"), "http://www.w3.org/2000/svg");
  EXPECT_EQ(x.root_attributes.at("width"), "900");
  for (const char* id : {"series-loss", "series-train-acc", "series-test-acc"}) {
    ASSERT_TRUE(x.points.count(id)) << id;
    EXPECT_EQ(x.points.at(id), 7u) << id;
  }
  EXPECT_EQ(x.classes.at("series"), 3u);
  EXPECT_EQ(x.tags.at("circle"), 3u * 7u + 3u);  // markers, and one in each legend entry
  auto has = [&](const std::string& t) {
    return std::find(x.texts.begin(), x.texts.end(), t) != x.texts.end();
  };
  EXPECT_TRUE(has("Training <run> & more"));
  EXPECT_TRUE(has("loss"));
  EXPECT_TRUE(has("train acc"));
  EXPECT_TRUE(has("test acc"));
  EXPECT_TRUE(has("epoch"));
  for (int e = 1; e <= 7; ++e) EXPECT_TRUE(has(std::to_string(e))) << "x tick " << e;
  // y ticks cover the values (0.30 .. 0.80) in steps of 0.1
  EXPECT_TRUE(has("0.3"));
  EXPECT_TRUE(has("0.8"));
}

TEST(TrainingCurves, OneEpochStillDrawsPoints) {
  const auto h = history_of(1);
  test::TempDir dir;
  write_svg(dir.path() / "c.svg", training_curves_svg(h, "one"));
  const auto x = test::parse_xml(dir.path() / "c.svg");
  ASSERT_TRUE(x.well_formed) << x.error;
  EXPECT_EQ(x.points.at("series-loss"), 1u);
  EXPECT_EQ(x.tags.at("circle"), 3u + 3u);
  EXPECT_FALSE(training_curves_image(h, "one").samples().empty());
}

TEST(TrainingCurves, NoEpochsIsAnError) {
  EXPECT_THROW(training_curves_svg({}, "t"), std::invalid_argument);
}

TEST(TrainingCurves, PngDecodesWithEachSeriesInItsColour) {
  const auto h = history_of(10);
  const auto png = test::decode_png_bytes(png_bytes(training_curves_image(h, "curves")));
  ASSERT_TRUE(png.error.empty()) << png.error;
  EXPECT_EQ(png.width, 900u);
  EXPECT_EQ(png.height, 540u);
  // Solid pixels of each series' colour: its line, markers and legend entry.
  EXPECT_GT(count_color(png, colors::kLoss), 500u);
  EXPECT_GT(count_color(png, colors::kTrainAccuracy), 500u);
  EXPECT_GT(count_color(png, colors::kTestAccuracy), 500u);
  // The title is drawn in text colour in the band at the top.
  EXPECT_GT(count_color(png, colors::kText, 0, 0, 900, 40), 50u);
  EXPECT_EQ(png.r(0, 0), 255);  // white corners
  EXPECT_EQ(png.b(899, 539), 255);
}

// ------------------------------------------------------------------------------ grids

TEST(PredictionGrid, MistakesHaveRedTitlesAndImagesAreDrawnDarkOnWhite) {
  const std::size_t n = 4, rows = 28, cols = 28;
  std::vector<std::uint8_t> pixels(n * rows * cols, 0);
  for (std::size_t k = 0; k < n; ++k) pixels[k * rows * cols + 10 * cols + 12] = 255;
  const std::vector<std::int32_t> truth = {0, 1, 9, 5};
  const std::vector<std::int32_t> predicted = {0, 3, 9, 7};  // 1 and 3 are mistakes
  const auto names = fashion_names();
  const Canvas c = prediction_grid(pixels, rows, cols, truth, predicted, names, "Predictions");
  const GridLayout g = prediction_grid_layout(n, rows, cols);
  const auto png = test::decode_png_bytes(png_bytes(c));
  ASSERT_TRUE(png.error.empty()) << png.error;
  EXPECT_EQ(png.width, c.width());
  EXPECT_EQ(png.height, g.height);
  EXPECT_GE(png.width, g.width);
  // The grid may be centred under a wide title: find the shift from the layout's width.
  const std::size_t dx = (png.width - g.width) / 2;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t x0 = g.title_x(k) + dx, y0 = g.title_y(k);
    const std::size_t red =
        count_color(png, colors::kMistake, x0, y0, x0 + g.cell_width, y0 + g.title_height());
    const std::size_t dark =
        count_color(png, colors::kText, x0, y0, x0 + g.cell_width, y0 + g.title_height());
    if (truth[k] == predicted[k]) {
      EXPECT_EQ(red, 0u) << "image " << k;
      EXPECT_GT(dark, 40u) << "image " << k;
    } else {
      EXPECT_GT(red, 40u) << "image " << k;
      EXPECT_EQ(dark, 0u) << "image " << k;
    }
    // The lit pixel (10, 12) is black, its neighbours white.
    const std::size_t ix = g.image_x(k) + dx, iy = g.image_y(k);
    const std::size_t px = ix + 12 * g.zoom + g.zoom / 2, py = iy + 10 * g.zoom + g.zoom / 2;
    EXPECT_EQ(png.r(px, py), 0) << "image " << k;
    EXPECT_EQ(png.r(px + g.zoom, py), 255) << "image " << k;
  }
}

TEST(PredictionGrid, SizeMismatchIsAnError) {
  std::vector<std::uint8_t> pixels(2 * 4, 0);
  const std::vector<std::int32_t> truth = {0, 1}, predicted = {0};
  EXPECT_THROW(prediction_grid(pixels, 2, 2, truth, predicted, {}, "t"), std::invalid_argument);
}

TEST(WeightTemplates, SignOfAStrongWeightShowsAsRedOrBlue) {
  const std::size_t k = 10, rows = 28, cols = 28, d = rows * cols;
  std::vector<float> w(k * d, 0.0f);
  w[3 * d + 5 * cols + 7] = 0.8f;     // class 3, pixel (5, 7): strongly for
  w[3 * d + 20 * cols + 14] = -0.8f;  // class 3, pixel (20, 14): strongly against
  w[8 * d + 0] = 0.4f;                // class 8, pixel (0, 0): half as strong
  const auto names = fashion_names();
  const Canvas c = weight_templates(w, k, rows, cols, names, "Weights");
  const GridLayout g = weight_grid_layout(k, rows, cols);
  const auto png = test::decode_png_bytes(png_bytes(c));
  ASSERT_TRUE(png.error.empty()) << png.error;
  const std::size_t dx = (png.width - g.width) / 2;
  EXPECT_EQ(png.height, g.height);
  auto pixel = [&](std::size_t cls, std::size_t r, std::size_t q) {
    const std::size_t x = g.image_x(cls) + dx + q * g.zoom + g.zoom / 2;
    const std::size_t y = g.image_y(cls) + r * g.zoom + g.zoom / 2;
    return Rgb{png.r(x, y), png.g(x, y), png.b(x, y)};
  };
  EXPECT_EQ(pixel(3, 5, 7), diverging_color(1.0));
  EXPECT_EQ(pixel(3, 20, 14), diverging_color(-1.0));
  EXPECT_EQ(pixel(8, 0, 0), diverging_color(0.5));
  EXPECT_EQ(pixel(3, 0, 0), colors::kWhite);  // zero weight
  EXPECT_EQ(pixel(0, 14, 14), colors::kWhite);
  const Rgb pos = pixel(3, 5, 7), neg = pixel(3, 20, 14);
  EXPECT_GT(pos.r, pos.b + 60);
  EXPECT_GT(neg.b, neg.r + 60);
  // Each class's name is written above its template.
  for (std::size_t cls = 0; cls < k; ++cls) {
    const std::size_t x0 = g.title_x(cls) + dx, y0 = g.title_y(cls);
    EXPECT_GT(count_color(png, colors::kText, x0, y0, x0 + g.cell_width, y0 + g.title_height()),
              40u)
        << names[cls];
  }
  // The colour bar below the grid runs from blue to red.
  const std::size_t bar_y = g.top + g.rows * g.cell_height + 4 + 8;
  std::size_t blue = 0, red = 0;
  for (std::size_t x = 0; x < png.width; ++x) {
    blue += png.b(x, bar_y) > png.r(x, bar_y) + 60;
    red += png.r(x, bar_y) > png.b(x, bar_y) + 60;
  }
  EXPECT_GT(blue, 50u);
  EXPECT_GT(red, 50u);
}

TEST(WeightTemplates, WrongSizeIsAnError) {
  std::vector<float> w(10);
  EXPECT_THROW(weight_templates(w, 2, 2, 2, {}, "t"), std::invalid_argument);
}

// ------------------------------------------------------------------------------ confusion

TEST(ConfusionSvg, ParsesWithOneCellPerPairCountsAndNames) {
  const std::vector<std::int32_t> truth = {0, 0, 0, 1, 1, 2, 2, 2, 2, 1};
  const std::vector<std::int32_t> pred = {0, 0, 1, 1, 1, 2, 2, 0, 2, 1};
  const ConfusionMatrix cm = confusion_matrix(truth, pred, 3);
  const std::vector<std::string> names = {"cat", "dog & co", "<bird>"};
  test::TempDir dir;
  write_svg(dir.path() / "cm.svg", confusion_svg(cm, names, "Confusion"));
  const auto x = test::parse_xml(dir.path() / "cm.svg");
  ASSERT_TRUE(x.well_formed) << x.error;
  EXPECT_EQ(x.classes.at("cell"), 9u);
  EXPECT_EQ(x.classes.at("count"), 9u);
  EXPECT_EQ(x.classes.at("row-label"), 3u);
  EXPECT_EQ(x.classes.at("column-label"), 3u);
  EXPECT_EQ(x.tag_of.at("cell-2-0"), "rect");
  // The counts in row-major order: the texts of class "count" come in cell order.
  std::vector<std::string> counts;
  for (const auto& t : x.texts)
    if (!t.empty() && std::all_of(t.begin(), t.end(), ::isdigit) && counts.size() < 9)
      counts.push_back(t);
  EXPECT_EQ(counts, (std::vector<std::string>{"2", "1", "0", "0", "3", "0", "1", "0", "3"}));
  for (const auto& n : names)
    EXPECT_EQ(std::count(x.texts.begin(), x.texts.end(), n), 2) << n;  // row and column
  EXPECT_NE(std::find(x.texts.begin(), x.texts.end(), "true class"), x.texts.end());
  EXPECT_NE(std::find(x.texts.begin(), x.texts.end(), "predicted class"), x.texts.end());
}

// ------------------------------------------------------------------------------ report

TEST(ReportHtml, ShowsEveryPictureTheFiguresAndOptions) {
  ReportPage page;
  page.title = "softreg <report>";
  page.figures = {{"test accuracy", "0.8400"}};
  page.options = {{"lr", "0.1"}};
  page.history = history_of(2);
  page.images = {{"curves.svg", "Training curves", "loss and accuracy"},
                 {"weights.png", "Weights", "templates"}};
  const std::string h = report_html(page);
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(h.find("<img src=\"curves.svg\""), std::string::npos);
  EXPECT_NE(h.find("<img src=\"weights.png\""), std::string::npos);
  EXPECT_NE(h.find("softreg &lt;report&gt;"), std::string::npos);
  EXPECT_NE(h.find("<th>test accuracy</th><td>0.8400</td>"), std::string::npos);
  EXPECT_NE(h.find("<th>lr</th><td>0.1</td>"), std::string::npos);
  EXPECT_NE(h.find("data-images"), std::string::npos);
  // Nothing is fetched from the network.
  EXPECT_EQ(h.find("http://"), std::string::npos);
  EXPECT_EQ(h.find("https://"), std::string::npos);
}

}  // namespace
}  // namespace softreg
