// Pictures of a run: training curves (SVG or PNG), test images titled with their true and
// predicted classes (PNG), weight templates (PNG), the confusion matrix (SVG), and an HTML page
// that shows them together. Every function takes plain data and returns the picture; nothing here
// trains, evaluates or parses options.
//
// Raster pictures are drawn on a Canvas (8-bit RGB) and written with libpng (io.hpp's
// encode_png). Their text uses a bitmap font of the project's own, a 5x7 ASCII font (with two
// rows for descenders) kept as data in src/plot.cpp, drawn at integer scales. Why not FreeType
// with DejaVu: the font is 95 glyphs of data, where FreeType is a library and a font file that
// must be found at run time (and may be missing or differ between machines); bitmap glyphs put
// every pixel exactly where the tests can check it (the red title of a mistake is pure red);
// and labels of a few short words, drawn at 2x, read well. SVG pictures use the viewer's fonts.
//
// SVG written here is SVG 1.1: one <svg> root with xmlns, width, height and viewBox; only
// standard elements and attributes; text escaped. Series and cells carry ids and classes so that
// tools (and the tests) can find them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "softreg/metrics.hpp"
#include "softreg/train.hpp"

namespace softreg {

// ------------------------------------------------------------------------------ raster

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

/// The colours the pictures use, so that tests and callers can name them.
namespace colors {
inline constexpr Rgb kWhite{255, 255, 255};
inline constexpr Rgb kBlack{0, 0, 0};
inline constexpr Rgb kText{34, 34, 34};
inline constexpr Rgb kGray{120, 120, 120};
inline constexpr Rgb kGrid{228, 228, 228};
inline constexpr Rgb kMistake{215, 25, 28};  // title of a misclassified image
inline constexpr Rgb kLoss{31, 100, 180};
inline constexpr Rgb kTrainAccuracy{235, 120, 20};
inline constexpr Rgb kTestAccuracy{40, 150, 60};
inline constexpr Rgb kValidationLoss{120, 60, 170};
inline constexpr Rgb kValidationAccuracy{190, 40, 120};
}  // namespace colors

/// An RGB image, 8 bits per channel, row-major; x grows to the right, y downwards.
class Canvas {
 public:
  Canvas(std::size_t width, std::size_t height, Rgb background = colors::kWhite);

  std::size_t width() const { return width_; }
  std::size_t height() const { return height_; }
  Rgb at(std::size_t x, std::size_t y) const;
  /// Pixels outside the canvas are ignored by every drawing function.
  void set(long x, long y, Rgb c);
  /// Mixes c into the pixel with weight alpha in [0, 1].
  void blend(long x, long y, Rgb c, double alpha);
  void fill_rect(long x, long y, long w, long h, Rgb c);
  /// A one-pixel outline just inside the rectangle.
  void stroke_rect(long x, long y, long w, long h, Rgb c);
  /// An anti-aliased polyline of the given width through the points (pixel coordinates, pixel
  /// centres at +0.5); joints are drawn once, not darkened by overlap.
  void polyline(std::span<const std::pair<double, double>> points, double width, Rgb c);
  /// An anti-aliased filled disc.
  void disc(double cx, double cy, double radius, Rgb c);
  /// Draws ASCII text with its top-left corner at (x, y), each font pixel a scale x scale square.
  /// Characters outside printable ASCII are drawn as '?'.
  void text(long x, long y, std::string_view s, Rgb c, int scale = 2);
  /// The same text drawn twice, one pixel apart: bold.
  void bold_text(long x, long y, std::string_view s, Rgb c, int scale = 2);

  /// The samples, width x height x 3 bytes.
  std::span<const std::uint8_t> samples() const { return pixels_; }

 private:
  std::size_t width_, height_;
  std::vector<std::uint8_t> pixels_;
};

/// Size of the bitmap font's glyphs at scale 1: the advance from one character to the next, and
/// the height of a line (cap height 7, descenders 2, gap 2).
inline constexpr int kGlyphAdvance = 6;
inline constexpr int kLineHeight = 11;
/// Width in pixels of s drawn at `scale` (no trailing gap).
long text_width(std::string_view s, int scale = 2);
/// `s` cut to at most `max_width` pixels at `scale`, with ".." at the end when it was cut.
std::string fit_text(std::string_view s, long max_width, int scale = 2);

/// The PNG file's bytes of a canvas (8-bit RGB).
std::vector<std::uint8_t> png_bytes(const Canvas& canvas);

/// Writes a picture atomically (io.hpp's write_file_atomic).
void write_png(const std::filesystem::path& file, const Canvas& canvas);
void write_svg(const std::filesystem::path& file, std::string_view svg);

/// Diverging colour scale centred on zero: v in [-1, 1] from blue (-1) through white (0) to
/// red (+1); values outside are clipped.
Rgb diverging_color(double v);
/// Sequential scale: t in [0, 1] from white (0) to dark blue (1).
Rgb sequential_color(double t);

// ------------------------------------------------------------------------------ curves

/// Loss, training accuracy and test accuracy against epoch: axes with ticks, a legend, a title.
/// history must not be empty (std::invalid_argument).
std::string training_curves_svg(std::span<const EpochMetrics> history, std::string_view title);
Canvas training_curves_image(std::span<const EpochMetrics> history, std::string_view title);

// ------------------------------------------------------------------------------ image grids

/// Where a grid of small images puts each image and its title. Images are drawn `zoom` times
/// their size, `columns` to a row, each in a cell of cell_width x cell_height whose top holds its
/// title lines; the grid starts below the figure's title at (left, top).
struct GridLayout {
  std::size_t count = 0, columns = 0, rows = 0;
  std::size_t image_rows = 0, image_cols = 0;  // one image's shape
  std::size_t zoom = 1;
  std::size_t cell_width = 0, cell_height = 0;
  std::size_t left = 0, top = 0;
  std::size_t title_lines = 1;
  std::size_t width = 0, height = 0;  // the whole picture

  /// The top-left corner of the first pixel of image k.
  std::size_t image_x(std::size_t k) const;
  std::size_t image_y(std::size_t k) const;
  /// The box that holds the title of image k: x, y, width, height.
  std::size_t title_x(std::size_t k) const;
  std::size_t title_y(std::size_t k) const;
  std::size_t title_height() const;
};

GridLayout prediction_grid_layout(std::size_t count, std::size_t image_rows,
                                  std::size_t image_cols);
GridLayout weight_grid_layout(std::size_t classes, std::size_t image_rows, std::size_t image_cols);

/// Test images in a grid, each titled with its true class (first line) and the predicted class
/// (second line); the title of a mistake is red (colors::kMistake) and its image framed in red,
/// the title of a correct one dark (colors::kText).
/// pixels: count x image_rows x image_cols bytes, 0 background to 255 garment, drawn dark on white.
Canvas prediction_grid(std::span<const std::uint8_t> pixels, std::size_t image_rows,
                       std::size_t image_cols, std::span<const std::int32_t> truth,
                       std::span<const std::int32_t> predicted,
                       std::span<const std::string> class_names, std::string_view title);

/// Each class's weights (W's row k, image_rows x image_cols) as a heat map on diverging_color,
/// titled with the class name, with a colour bar. One scale for all classes, ±max|w|, so that
/// templates compare: white is 0, red pushes the score of the class up, blue down.
Canvas weight_templates(std::span<const float> weight, std::size_t classes, std::size_t image_rows,
                        std::size_t image_cols, std::span<const std::string> class_names,
                        std::string_view title);

// ------------------------------------------------------------------------------ confusion

/// The confusion matrix as a heat map: rows the true class, columns the predicted class, each
/// cell its count, coloured by its share of the true class (so the diagonal reads as per-class
/// accuracy), class names on both axes, a colour bar.
std::string confusion_svg(const ConfusionMatrix& cm, std::span<const std::string> class_names,
                          std::string_view title);

// ------------------------------------------------------------------------------ report

struct ReportFigure {
  std::string file;     // relative to the page, e.g. "curves.svg"
  std::string title;    // a heading
  std::string caption;  // one sentence on how to read it
};

struct ReportPage {
  std::string title;
  std::vector<std::pair<std::string, std::string>> figures;  // final numbers, name -> value
  std::vector<std::pair<std::string, std::string>> options;  // the run's options
  std::vector<EpochMetrics> history;
  std::vector<ReportFigure> images;
};

/// A self-contained HTML page (inline style, no network) showing the figures, options, epoch
/// table and pictures. When loaded it sets data-images on <body> to "loaded" once every <img>
/// has decoded, or to "broken: FILE ..." naming the ones that did not.
std::string report_html(const ReportPage& page);

/// Escapes &, <, >, " and ' for XML and HTML text and attributes.
std::string xml_escape(std::string_view s);

}  // namespace softreg
