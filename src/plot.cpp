#include "softreg/plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "softreg/io.hpp"

namespace softreg {

namespace {

// ------------------------------------------------------------------------------ the font

// The bitmap font: printable ASCII (32 to 126), each glyph 5 pixels wide and up to 9 rows tall,
// written row by row from the top ('#' ink, '.' paper), rows separated by spaces. Rows 0-6 hold
// capitals and digits; lowercase letters stand on row 6 with x-height rows 2-6; rows 7-8 hold
// descenders. Missing rows at the end are blank.
// clang-format off
constexpr std::array<std::string_view, 95> kGlyphRows = {
    "",                                                       // ' '
    "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",              // !
    ".#.#. .#.#. .#.#.",                                      // "
    ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",              // #
    "..#.. .#### #.#.. .###. ..#.# ####. ..#..",              // $
    "##... ##..# ...#. ..#.. .#... #..## ...##",              // %
    ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",              // &
    "..#.. ..#.. .#...",                                      // '
    "...#. ..#.. .#... .#... .#... ..#.. ...#.",              // (
    ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",              // )
    "..... ..#.. #.#.# .###. #.#.# ..#.. .....",              // *
    "..... ..#.. ..#.. ##### ..#.. ..#.. .....",              // +
    "..... ..... ..... ..... ..... .##.. .##.. ..#.. .#...",  // ,
    "..... ..... ..... .###. ..... ..... .....",              // -
    "..... ..... ..... ..... ..... .##.. .##..",              // .
    "..... ....# ...#. ..#.. .#... #.... .....",              // /
    ".###. #...# #..## #.#.# ##..# #...# .###.",              // 0
    "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",              // 1
    ".###. #...# ....# ...#. ..#.. .#... #####",              // 2
    "##### ...#. ..#.. ...#. ....# #...# .###.",              // 3
    "...#. ..##. .#.#. #..#. ##### ...#. ...#.",              // 4
    "##### #.... ####. ....# ....# #...# .###.",              // 5
    "..##. .#... #.... ####. #...# #...# .###.",              // 6
    "##### ....# ...#. ..#.. .#... .#... .#...",              // 7
    ".###. #...# #...# .###. #...# #...# .###.",              // 8
    ".###. #...# #...# .#### ....# ...#. .##..",              // 9
    "..... .##.. .##.. ..... .##.. .##.. .....",              // :
    "..... .##.. .##.. ..... .##.. .##.. ..#.. .#...",        // ;
    "...#. ..#.. .#... #.... .#... ..#.. ...#.",              // <
    "..... ..... ##### ..... ##### ..... .....",              // =
    ".#... ..#.. ...#. ....# ...#. ..#.. .#...",              // >
    ".###. #...# ....# ...#. ..#.. ..... ..#..",              // ?
    ".###. #...# ....# .##.# #.#.# #.#.# .###.",              // @
    ".###. #...# #...# ##### #...# #...# #...#",              // A
    "####. #...# #...# ####. #...# #...# ####.",              // B
    ".###. #...# #.... #.... #.... #...# .###.",              // C
    "###.. #..#. #...# #...# #...# #..#. ###..",              // D
    "##### #.... #.... ####. #.... #.... #####",              // E
    "##### #.... #.... ####. #.... #.... #....",              // F
    ".###. #...# #.... #.### #...# #...# .####",              // G
    "#...# #...# #...# ##### #...# #...# #...#",              // H
    ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",              // I
    "..### ...#. ...#. ...#. ...#. #..#. .##..",              // J
    "#...# #..#. #.#.. ##... #.#.. #..#. #...#",              // K
    "#.... #.... #.... #.... #.... #.... #####",              // L
    "#...# ##.## #.#.# #.#.# #...# #...# #...#",              // M
    "#...# #...# ##..# #.#.# #..## #...# #...#",              // N
    ".###. #...# #...# #...# #...# #...# .###.",              // O
    "####. #...# #...# ####. #.... #.... #....",              // P
    ".###. #...# #...# #...# #.#.# #..#. .##.#",              // Q
    "####. #...# #...# ####. #.#.. #..#. #...#",              // R
    ".#### #.... #.... .###. ....# ....# ####.",              // S
    "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",              // T
    "#...# #...# #...# #...# #...# #...# .###.",              // U
    "#...# #...# #...# #...# #...# .#.#. ..#..",              // V
    "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",              // W
    "#...# #...# .#.#. ..#.. .#.#. #...# #...#",              // X
    "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",              // Y
    "##### ....# ...#. ..#.. .#... #.... #####",              // Z
    ".###. .#... .#... .#... .#... .#... .###.",              // [
    "..... #.... .#... ..#.. ...#. ....# .....",              // backslash
    ".###. ...#. ...#. ...#. ...#. ...#. .###.",              // ]
    "..#.. .#.#. #...#",                                      // ^
    "..... ..... ..... ..... ..... ..... ..... #####",        // _
    ".#... ..#.. ...#.",                                      // `
    "..... ..... .###. ....# .#### #...# .####",              // a
    "#.... #.... #.##. ##..# #...# #...# ####.",              // b
    "..... ..... .###. #.... #.... #...# .###.",              // c
    "....# ....# .##.# #..## #...# #...# .####",              // d
    "..... ..... .###. #...# ##### #.... .###.",              // e
    "..##. .#..# .#... ###.. .#... .#... .#...",              // f
    "..... ..... .#### #...# #...# #...# .#### ....# .###.",  // g
    "#.... #.... #.##. ##..# #...# #...# #...#",              // h
    "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",              // i
    "...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..",  // j
    "#.... #.... #..#. #.#.. ##... #.#.. #..#.",              // k
    ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",              // l
    "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#",              // m
    "..... ..... #.##. ##..# #...# #...# #...#",              // n
    "..... ..... .###. #...# #...# #...# .###.",              // o
    "..... ..... ####. #...# #...# #...# ####. #.... #....",  // p
    "..... ..... .#### #...# #...# #...# .#### ....# ....#",  // q
    "..... ..... #.##. ##..# #.... #.... #....",              // r
    "..... ..... .#### #.... .###. ....# ####.",              // s
    ".#... .#... ###.. .#... .#... .#..# ..##.",              // t
    "..... ..... #...# #...# #...# #..## .##.#",              // u
    "..... ..... #...# #...# #...# .#.#. ..#..",              // v
    "..... ..... #...# #...# #.#.# #.#.# .#.#.",              // w
    "..... ..... #...# .#.#. ..#.. .#.#. #...#",              // x
    "..... ..... #...# #...# #...# #...# .#### ....# .###.",  // y
    "..... ..... ##### ...#. ..#.. .#... #####",              // z
    "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.",              // {
    "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",              // |
    ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#...",              // }
    "..... ..... .#... #.#.# ...#. ..... .....",              // ~
};
// clang-format on

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 9;

// One glyph as bit rows: bit (kGlyphWidth - 1 - x) of rows[y] is the pixel at column x.
using Glyph = std::array<std::uint8_t, kGlyphHeight>;

const std::array<Glyph, 95>& glyphs() {
  static const std::array<Glyph, 95> table = [] {
    std::array<Glyph, 95> t{};
    for (std::size_t c = 0; c < kGlyphRows.size(); ++c) {
      const std::string_view rows = kGlyphRows[c];
      std::size_t y = 0, x = 0;
      for (const char ch : rows) {
        if (ch == ' ') {
          ++y;
          x = 0;
          continue;
        }
        if (ch == '#') t[c][y] |= static_cast<std::uint8_t>(1u << (kGlyphWidth - 1 - x));
        ++x;
      }
    }
    return t;
  }();
  return table;
}

const Glyph& glyph(char ch) {
  const auto u = static_cast<unsigned char>(ch);
  return glyphs()[(u >= 32 && u <= 126) ? u - 32 : '?' - 32];
}

// ------------------------------------------------------------------------------ numbers, text

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s == "-0" || s.find_first_not_of("-0.") == std::string::npos) {
    if (s[0] == '-') s.erase(0, 1);  // no "-0.00"
  }
  return s;
}

// A coordinate in SVG: at most two decimals, no trailing zeros.
std::string num(double v) {
  std::string s = fixed(v, 2);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string hex(Rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.r, c.g, c.b);
  return buf;
}

std::string svg_header(double width, double height, std::string_view title) {
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + num(width) +
       "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
       "\" font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\">\n";
  s += "<title>" + xml_escape(title) + "</title>\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) +
       "\" fill=\"#ffffff\"/>\n";
  return s;
}

std::string svg_text(double x, double y, std::string_view s, std::string_view attrs) {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" " + std::string(attrs) + ">" +
         xml_escape(s) + "</text>\n";
}

std::string svg_line(double x1, double y1, double x2, double y2, Rgb c, double width) {
  return "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
         num(y2) + "\" stroke=\"" + hex(c) + "\" stroke-width=\"" + num(width) + "\"/>\n";
}

Rgb mix(Rgb a, Rgb b, double t) {
  auto ch = [t](std::uint8_t x, std::uint8_t y) {
    return static_cast<std::uint8_t>(std::lround(x + (y - x) * std::clamp(t, 0.0, 1.0)));
  };
  return {ch(a.r, b.r), ch(a.g, b.g), ch(a.b, b.b)};
}

// Piecewise-linear colour scale through `stops` at equal spacing over [0, 1].
template <std::size_t N>
Rgb scale_color(const std::array<Rgb, N>& stops, double t) {
  if (!(t > 0)) return stops[0];  // also NaN
  if (t >= 1) return stops[N - 1];
  const double pos = t * static_cast<double>(N - 1);
  const auto i = static_cast<std::size_t>(pos);
  return mix(stops[i], stops[i + 1], pos - static_cast<double>(i));
}

// ------------------------------------------------------------------------------ axes

struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  int decimals = 0;
};

// The step of 1, 2 or 5 times a power of ten nearest above `raw`.
double nice_step(double raw) {
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * p;
}

// An axis over [lo, hi] widened to whole steps, with about `target` intervals.
Axis nice_axis(double lo, double hi, int target, double min_step = 0.0) {
  if (!(hi - lo > 1e-9)) {
    const double pad = std::max(0.05, std::abs(lo) * 0.05);
    lo -= pad;
    hi += pad;
  }
  const double step = std::max(min_step, nice_step((hi - lo) / target));
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  Axis a;
  a.lo = first * step;
  a.hi = last * step;
  for (double i = first; i <= last + 0.5; ++i) a.ticks.push_back(i * step);
  a.decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  return a;
}

// ------------------------------------------------------------------------------ curves layout

struct Series {
  std::string id, label;
  Rgb color;
  std::vector<double> values;
};

// Everything both renderers of the training curves need, in pixels.
struct CurvesLayout {
  static constexpr double kWidth = 900, kHeight = 540;
  static constexpr double kLeft = 84, kTop = 64, kRight = 900 - 190, kBottom = 540 - 72;
  Axis x, y;
  std::vector<Series> series;
  bool markers = true;

  double px(double v) const { return kLeft + (v - x.lo) / (x.hi - x.lo) * (kRight - kLeft); }
  double py(double v) const { return kBottom - (v - y.lo) / (y.hi - y.lo) * (kBottom - kTop); }
};

CurvesLayout curves_layout(std::span<const EpochMetrics> history) {
  if (history.empty()) throw std::invalid_argument("training curves: no epochs");
  CurvesLayout l;
  l.series = {{"loss", "loss", colors::kLoss, {}},
              {"train-acc", "train acc", colors::kTrainAccuracy, {}},
              {"test-acc", "test acc", colors::kTestAccuracy, {}}};
  // With a validation set (every epoch validated): its loss and accuracy too.
  const bool validated = std::all_of(history.begin(), history.end(),
                                     [](const EpochMetrics& m) { return m.validated; });
  if (validated) {
    l.series.push_back({"val-loss", "val loss", colors::kValidationLoss, {}});
    l.series.push_back({"val-acc", "val acc", colors::kValidationAccuracy, {}});
  }
  double lo = INFINITY, hi = -INFINITY;
  for (const EpochMetrics& m : history) {
    std::vector<double> values = {m.loss, m.train_accuracy, m.test_accuracy};
    if (validated) values.insert(values.end(), {m.validation_loss, m.validation_accuracy});
    for (std::size_t i = 0; i < values.size(); ++i) {
      l.series[i].values.push_back(values[i]);
      if (std::isfinite(values[i])) {
        lo = std::min(lo, values[i]);
        hi = std::max(hi, values[i]);
      }
    }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  l.y = nice_axis(lo, hi, 6);
  const double first = history.front().epoch, last = history.back().epoch;
  if (last > first) {
    l.x = nice_axis(first, last, 8, 1.0);
    l.x.lo = first;  // the curves start at the left edge and end at the right one
    l.x.hi = last;
    std::erase_if(l.x.ticks, [&](double t) { return t < first - 1e-9 || t > last + 1e-9; });
    if (l.x.ticks.empty() || l.x.ticks.front() > first) l.x.ticks.insert(l.x.ticks.begin(), first);
  } else {
    l.x.lo = first - 1;
    l.x.hi = first + 1;
    l.x.ticks = {first};
  }
  l.x.decimals = 0;
  l.markers = history.size() <= 60;
  return l;
}

// ------------------------------------------------------------------------------ grids

GridLayout grid_layout(std::size_t count, std::size_t image_rows, std::size_t image_cols,
                       std::size_t columns, std::size_t title_lines, std::size_t extra_bottom) {
  if (count == 0 || image_rows == 0 || image_cols == 0)
    throw std::invalid_argument("image grid: no images");
  GridLayout g;
  g.count = count;
  g.columns = std::min(columns, count);
  g.rows = (count + g.columns - 1) / g.columns;
  g.image_rows = image_rows;
  g.image_cols = image_cols;
  g.zoom = std::max<std::size_t>(1, 140 / std::max(image_rows, image_cols));
  g.title_lines = title_lines;
  // Room for 11 characters at scale 2 ("T-shirt/top"), or the image if it is wider.
  const auto text = static_cast<std::size_t>(text_width("T-shirt/top"));
  g.cell_width = std::max(g.zoom * image_cols, text) + 24;
  g.cell_height = g.title_height() + 6 + g.zoom * image_rows + 20;
  g.left = 24;
  g.top = 78;
  g.width = 2 * g.left + g.columns * g.cell_width;
  g.height = g.top + g.rows * g.cell_height + extra_bottom + 10;
  return g;
}

void draw_figure_title(Canvas& c, std::string_view title, std::string_view subtitle) {
  const long w = static_cast<long>(c.width());
  const std::string t = fit_text(title, w - 20);
  c.bold_text((w - text_width(t)) / 2, 16, t, colors::kText);
  const std::string s = fit_text(subtitle, w - 20);
  c.text((w - text_width(s)) / 2, 44, s, colors::kGray);
}

// A horizontal colour bar of `width` x 16 pixels at (x, y), coloured by color(t) for t from 0 at
// the left to 1 at the right, outlined, with labels under its ends and middle and a caption.
template <typename ColorOf>
void draw_color_bar(Canvas& c, long x, long y, long width, ColorOf color_of,
                    const std::array<std::string, 3>& labels, std::string_view caption) {
  for (long i = 0; i < width; ++i)
    c.fill_rect(x + i, y, 1, 16,
                color_of((static_cast<double>(i) + 0.5) / static_cast<double>(width)));
  c.stroke_rect(x - 1, y - 1, width + 2, 18, colors::kGray);
  const long ly = y + 24;
  for (int i = 0; i < 3; ++i) {
    const long tx = x + width * i / 2;
    c.fill_rect(tx, y + 16, 1, 5, colors::kGray);
    c.text(tx - text_width(labels[i]) / 2, ly, labels[i], colors::kText);
  }
  const std::string cap = fit_text(caption, static_cast<long>(c.width()) - 20);
  c.text(static_cast<long>(c.width()) / 2 - text_width(cap) / 2, ly + 24, cap, colors::kGray);
}

}  // namespace

// ------------------------------------------------------------------------------ Canvas

Canvas::Canvas(std::size_t width, std::size_t height, Rgb background)
    : width_(width), height_(height), pixels_(width * height * 3) {
  if (width == 0 || height == 0) throw std::invalid_argument("Canvas: empty");
  for (std::size_t i = 0; i < width * height; ++i) {
    pixels_[3 * i] = background.r;
    pixels_[3 * i + 1] = background.g;
    pixels_[3 * i + 2] = background.b;
  }
}

Rgb Canvas::at(std::size_t x, std::size_t y) const {
  const std::size_t i = 3 * (y * width_ + x);
  return {pixels_.at(i), pixels_.at(i + 1), pixels_.at(i + 2)};
}

void Canvas::set(long x, long y, Rgb c) {
  if (x < 0 || y < 0 || x >= static_cast<long>(width_) || y >= static_cast<long>(height_)) return;
  const std::size_t i = 3 * (static_cast<std::size_t>(y) * width_ + static_cast<std::size_t>(x));
  pixels_[i] = c.r;
  pixels_[i + 1] = c.g;
  pixels_[i + 2] = c.b;
}

void Canvas::blend(long x, long y, Rgb c, double alpha) {
  if (x < 0 || y < 0 || x >= static_cast<long>(width_) || y >= static_cast<long>(height_)) return;
  if (alpha <= 0) return;
  set(x, y, mix(at(static_cast<std::size_t>(x), static_cast<std::size_t>(y)), c, alpha));
}

void Canvas::fill_rect(long x, long y, long w, long h, Rgb c) {
  for (long j = std::max(0L, y); j < std::min(y + h, static_cast<long>(height_)); ++j)
    for (long i = std::max(0L, x); i < std::min(x + w, static_cast<long>(width_)); ++i)
      set(i, j, c);
}

void Canvas::stroke_rect(long x, long y, long w, long h, Rgb c) {
  fill_rect(x, y, w, 1, c);
  fill_rect(x, y + h - 1, w, 1, c);
  fill_rect(x, y, 1, h, c);
  fill_rect(x + w - 1, y, 1, h, c);
}

void Canvas::polyline(std::span<const std::pair<double, double>> points, double width, Rgb c) {
  if (points.empty()) return;
  const double r = width / 2;
  double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
  for (const auto& [x, y] : points) {
    x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
  }
  const long bx = std::max(0L, static_cast<long>(std::floor(x0 - r - 1)));
  const long by = std::max(0L, static_cast<long>(std::floor(y0 - r - 1)));
  const long ex = std::min(static_cast<long>(width_), static_cast<long>(std::ceil(x1 + r + 1)));
  const long ey = std::min(static_cast<long>(height_), static_cast<long>(std::ceil(y1 + r + 1)));
  if (ex <= bx || ey <= by) return;
  const auto bw = static_cast<std::size_t>(ex - bx);
  // Coverage of each pixel: the largest over the segments, so joints are not blended twice.
  std::vector<float> coverage(bw * static_cast<std::size_t>(ey - by), 0.0f);
  for (std::size_t s = 0; s + 1 < std::max<std::size_t>(points.size(), 2); ++s) {
    const auto [ax, ay] = points[s];
    const auto [qx, qy] = points[std::min(s + 1, points.size() - 1)];
    const double dx = qx - ax, dy = qy - ay, len2 = dx * dx + dy * dy;
    const long sx = std::max(bx, static_cast<long>(std::floor(std::min(ax, qx) - r - 1)));
    const long sy = std::max(by, static_cast<long>(std::floor(std::min(ay, qy) - r - 1)));
    const long tx = std::min(ex, static_cast<long>(std::ceil(std::max(ax, qx) + r + 1)));
    const long ty = std::min(ey, static_cast<long>(std::ceil(std::max(ay, qy) + r + 1)));
    for (long y = sy; y < ty; ++y) {
      for (long x = sx; x < tx; ++x) {
        const double cx = static_cast<double>(x) + 0.5, cy = static_cast<double>(y) + 0.5;
        const double t =
            len2 > 0 ? std::clamp(((cx - ax) * dx + (cy - ay) * dy) / len2, 0.0, 1.0) : 0.0;
        const double d = std::hypot(cx - (ax + t * dx), cy - (ay + t * dy));
        const auto cov = static_cast<float>(std::clamp(r + 0.5 - d, 0.0, 1.0));
        float& slot =
            coverage[static_cast<std::size_t>(y - by) * bw + static_cast<std::size_t>(x - bx)];
        slot = std::max(slot, cov);
      }
    }
  }
  for (long y = by; y < ey; ++y)
    for (long x = bx; x < ex; ++x)
      blend(x, y, c,
            coverage[static_cast<std::size_t>(y - by) * bw + static_cast<std::size_t>(x - bx)]);
}

void Canvas::disc(double cx, double cy, double radius, Rgb c) {
  const std::pair<double, double> p[] = {{cx, cy}};
  polyline(p, 2 * radius, c);
}

void Canvas::text(long x, long y, std::string_view s, Rgb c, int scale) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const Glyph& g = glyph(s[i]);
    const long gx = x + static_cast<long>(i) * kGlyphAdvance * scale;
    for (int row = 0; row < kGlyphHeight; ++row)
      for (int col = 0; col < kGlyphWidth; ++col)
        if (g[static_cast<std::size_t>(row)] & (1u << (kGlyphWidth - 1 - col)))
          fill_rect(gx + col * scale, y + row * scale, scale, scale, c);
  }
}

void Canvas::bold_text(long x, long y, std::string_view s, Rgb c, int scale) {
  text(x, y, s, c, scale);
  text(x + 1, y, s, c, scale);
}

long text_width(std::string_view s, int scale) {
  if (s.empty()) return 0;
  return (static_cast<long>(s.size()) * kGlyphAdvance - (kGlyphAdvance - kGlyphWidth)) * scale;
}

std::string fit_text(std::string_view s, long max_width, int scale) {
  if (text_width(s, scale) <= max_width) return std::string(s);
  std::string out(s);
  while (!out.empty() && text_width(out + "..", scale) > max_width) out.pop_back();
  return out + "..";
}

std::vector<std::uint8_t> png_bytes(const Canvas& canvas) {
  return encode_png(canvas.height(), canvas.width(), 3, 8, canvas.samples());
}

void write_png(const std::filesystem::path& file, const Canvas& canvas) {
  write_file_atomic(file, png_bytes(canvas));
}

void write_svg(const std::filesystem::path& file, std::string_view svg) {
  write_file_atomic(file, std::span(reinterpret_cast<const std::uint8_t*>(svg.data()), svg.size()));
}

Rgb diverging_color(double v) {
  // Dark blue, blue, light blue, white, light red, red, dark red.
  static constexpr std::array<Rgb, 7> kStops = {
      Rgb{20, 50, 120},   Rgb{45, 110, 185}, Rgb{155, 195, 225}, Rgb{255, 255, 255},
      Rgb{240, 160, 135}, Rgb{200, 50, 45},  Rgb{110, 10, 25}};
  return scale_color(kStops, (v + 1) / 2);
}

Rgb sequential_color(double t) {
  static constexpr std::array<Rgb, 4> kStops = {Rgb{255, 255, 255}, Rgb{180, 210, 235},
                                                Rgb{60, 130, 195}, Rgb{10, 45, 110}};
  return scale_color(kStops, t);
}

// ------------------------------------------------------------------------------ curves

std::string training_curves_svg(std::span<const EpochMetrics> history, std::string_view title) {
  const CurvesLayout l = curves_layout(history);
  using L = CurvesLayout;
  std::string s = svg_header(L::kWidth, L::kHeight, title);
  s += svg_text(L::kWidth / 2, 32, title,
                "class=\"title\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\" "
                "fill=\"" +
                    hex(colors::kText) + "\"");
  s += "<g id=\"grid\">\n";
  for (double t : l.y.ticks) s += svg_line(L::kLeft, l.py(t), L::kRight, l.py(t), colors::kGrid, 1);
  for (double t : l.x.ticks) s += svg_line(l.px(t), L::kTop, l.px(t), L::kBottom, colors::kGrid, 1);
  s += "</g>\n<g id=\"x-axis\" font-size=\"14\" fill=\"" + hex(colors::kText) + "\">\n";
  s += svg_line(L::kLeft, L::kBottom, L::kRight, L::kBottom, colors::kText, 1.5);
  for (double t : l.x.ticks) {
    s += svg_line(l.px(t), L::kBottom, l.px(t), L::kBottom + 6, colors::kText, 1.5);
    s += svg_text(l.px(t), L::kBottom + 24, fixed(t, 0), "class=\"tick\" text-anchor=\"middle\"");
  }
  s += svg_text((L::kLeft + L::kRight) / 2, L::kBottom + 52, "epoch",
                "class=\"axis-label\" text-anchor=\"middle\" font-size=\"15\"");
  s += "</g>\n<g id=\"y-axis\" font-size=\"14\" fill=\"" + hex(colors::kText) + "\">\n";
  s += svg_line(L::kLeft, L::kTop, L::kLeft, L::kBottom, colors::kText, 1.5);
  for (double t : l.y.ticks) {
    s += svg_line(L::kLeft - 6, l.py(t), L::kLeft, l.py(t), colors::kText, 1.5);
    s += svg_text(L::kLeft - 10, l.py(t) + 5, fixed(t, l.y.decimals),
                  "class=\"tick\" text-anchor=\"end\"");
  }
  s += "</g>\n";
  for (const Series& series : l.series) {
    s += "<g id=\"series-" + series.id + "\" class=\"series\">\n<title>" +
         xml_escape(series.label) + "</title>\n<polyline fill=\"none\" stroke=\"" +
         hex(series.color) + "\" stroke-width=\"2.5\" stroke-linejoin=\"round\" points=\"";
    for (std::size_t i = 0; i < series.values.size(); ++i) {
      if (i > 0) s += ' ';
      s += num(l.px(history[i].epoch)) + "," + num(l.py(series.values[i]));
    }
    s += "\"/>\n";
    if (l.markers)
      for (std::size_t i = 0; i < series.values.size(); ++i)
        s += "<circle cx=\"" + num(l.px(history[i].epoch)) + "\" cy=\"" +
             num(l.py(series.values[i])) + "\" r=\"3.5\" fill=\"" + hex(series.color) + "\"/>\n";
    s += "</g>\n";
  }
  s += "<g id=\"legend\" font-size=\"15\" fill=\"" + hex(colors::kText) + "\">\n";
  for (std::size_t i = 0; i < l.series.size(); ++i) {
    const double y = L::kTop + 14 + 30 * static_cast<double>(i);
    s += svg_line(L::kRight + 20, y, L::kRight + 52, y, l.series[i].color, 2.5);
    s += "<circle cx=\"" + num(L::kRight + 36) + "\" cy=\"" + num(y) + "\" r=\"3.5\" fill=\"" +
         hex(l.series[i].color) + "\"/>\n";
    s += svg_text(L::kRight + 60, y + 5, l.series[i].label, "class=\"legend-label\"");
  }
  s += "</g>\n</svg>\n";
  return s;
}

Canvas training_curves_image(std::span<const EpochMetrics> history, std::string_view title) {
  const CurvesLayout l = curves_layout(history);
  using L = CurvesLayout;
  Canvas c(static_cast<std::size_t>(L::kWidth), static_cast<std::size_t>(L::kHeight));
  auto lx = [](double v) { return static_cast<long>(std::lround(v)); };
  const std::string t = fit_text(title, static_cast<long>(L::kWidth) - 20);
  c.bold_text((static_cast<long>(L::kWidth) - text_width(t)) / 2, 18, t, colors::kText);
  for (double v : l.y.ticks)
    c.fill_rect(lx(L::kLeft), lx(l.py(v)), lx(L::kRight - L::kLeft), 1, colors::kGrid);
  for (double v : l.x.ticks)
    c.fill_rect(lx(l.px(v)), lx(L::kTop), 1, lx(L::kBottom - L::kTop), colors::kGrid);
  // Axes, ticks and their labels (text is 14 pixels tall at scale 2: centre it on the tick).
  c.fill_rect(lx(L::kLeft) - 1, lx(L::kBottom), lx(L::kRight - L::kLeft) + 1, 2, colors::kText);
  c.fill_rect(lx(L::kLeft) - 1, lx(L::kTop), 2, lx(L::kBottom - L::kTop) + 1, colors::kText);
  for (double v : l.x.ticks) {
    const std::string label = fixed(v, 0);
    c.fill_rect(lx(l.px(v)), lx(L::kBottom), 2, 7, colors::kText);
    c.text(lx(l.px(v)) - text_width(label) / 2 + 1, lx(L::kBottom) + 14, label, colors::kText);
  }
  const std::string xlabel = "epoch";
  c.text(lx((L::kLeft + L::kRight) / 2) - text_width(xlabel) / 2, lx(L::kBottom) + 42, xlabel,
         colors::kText);
  for (double v : l.y.ticks) {
    const std::string label = fixed(v, l.y.decimals);
    c.fill_rect(lx(L::kLeft) - 7, lx(l.py(v)), 7, 2, colors::kText);
    c.text(lx(L::kLeft) - 12 - text_width(label), lx(l.py(v)) - 6, label, colors::kText);
  }
  for (const Series& series : l.series) {
    std::vector<std::pair<double, double>> pts;
    for (std::size_t i = 0; i < series.values.size(); ++i)
      if (std::isfinite(series.values[i]))
        pts.emplace_back(l.px(history[i].epoch), l.py(series.values[i]));
    c.polyline(pts, 2.5, series.color);
    if (l.markers)
      for (const auto& [x, y] : pts) c.disc(x, y, 4, series.color);
  }
  for (std::size_t i = 0; i < l.series.size(); ++i) {
    const double y = L::kTop + 14 + 30 * static_cast<double>(i);
    const std::pair<double, double> seg[] = {{L::kRight + 20, y}, {L::kRight + 52, y}};
    c.polyline(seg, 2.5, l.series[i].color);
    c.disc(L::kRight + 36, y, 4, l.series[i].color);
    c.text(lx(L::kRight + 62), lx(y) - 6, l.series[i].label, colors::kText);
  }
  return c;
}

// ------------------------------------------------------------------------------ grids

std::size_t GridLayout::image_x(std::size_t k) const {
  return left + (k % columns) * cell_width + (cell_width - zoom * image_cols) / 2;
}
std::size_t GridLayout::image_y(std::size_t k) const {
  return top + (k / columns) * cell_height + title_height() + 6;
}
std::size_t GridLayout::title_x(std::size_t k) const {
  return left + (k % columns) * cell_width;
}
std::size_t GridLayout::title_y(std::size_t k) const {
  return top + (k / columns) * cell_height;
}
std::size_t GridLayout::title_height() const {
  return title_lines * 2 * kLineHeight;
}

GridLayout prediction_grid_layout(std::size_t count, std::size_t image_rows,
                                  std::size_t image_cols) {
  return grid_layout(count, image_rows, image_cols, 6, 2, 0);
}

GridLayout weight_grid_layout(std::size_t classes, std::size_t image_rows, std::size_t image_cols) {
  return grid_layout(classes, image_rows, image_cols, 5, 1, 76);
}

Canvas prediction_grid(std::span<const std::uint8_t> pixels, std::size_t image_rows,
                       std::size_t image_cols, std::span<const std::int32_t> truth,
                       std::span<const std::int32_t> predicted,
                       std::span<const std::string> class_names, std::string_view title) {
  const std::size_t n = truth.size();
  if (predicted.size() != n || pixels.size() != n * image_rows * image_cols)
    throw std::invalid_argument("prediction_grid: sizes of pixels, truth and predicted differ");
  auto name = [&](std::int32_t k) {
    return k >= 0 && static_cast<std::size_t>(k) < class_names.size()
               ? class_names[static_cast<std::size_t>(k)]
               : std::to_string(k);
  };
  GridLayout g = prediction_grid_layout(n, image_rows, image_cols);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) correct += truth[i] == predicted[i];
  const std::string subtitle =
      correct == 0 ? std::to_string(n) + " mistakes; titles: true class, then predicted"
                   : std::to_string(correct) + " of " + std::to_string(n) +
                         " correct; titles: true class, then predicted; mistakes in red";
  const auto needed =
      static_cast<std::size_t>(std::max(text_width(title), text_width(subtitle)) + 40);
  if (needed > g.width) {  // centre the grid under a title wider than it
    g.left += (needed - g.width) / 2;
    g.width = needed;
  }
  Canvas c(g.width, g.height);
  draw_figure_title(c, title, subtitle);
  const auto tw = static_cast<long>(g.cell_width) - 8;
  for (std::size_t k = 0; k < n; ++k) {
    const bool ok = truth[k] == predicted[k];
    const Rgb ink = ok ? colors::kText : colors::kMistake;
    const auto cx = static_cast<long>(g.title_x(k) + g.cell_width / 2);
    const auto ty = static_cast<long>(g.title_y(k));
    const std::string line1 = fit_text(name(truth[k]), tw);
    const std::string line2 = fit_text(name(predicted[k]), tw);
    c.text(cx - text_width(line1) / 2, ty, line1, ink);
    c.text(cx - text_width(line2) / 2, ty + 2 * kLineHeight, line2, ink);
    const auto x0 = static_cast<long>(g.image_x(k)), y0 = static_cast<long>(g.image_y(k));
    const std::uint8_t* img = pixels.data() + k * image_rows * image_cols;
    const auto z = static_cast<long>(g.zoom);
    for (std::size_t r = 0; r < image_rows; ++r)
      for (std::size_t q = 0; q < image_cols; ++q) {
        // Dark garment on white paper: 0 (background) is white.
        const auto v = static_cast<std::uint8_t>(255 - img[r * image_cols + q]);
        c.fill_rect(x0 + static_cast<long>(q) * z, y0 + static_cast<long>(r) * z, z, z, {v, v, v});
      }
    const long w = z * static_cast<long>(image_cols), h = z * static_cast<long>(image_rows);
    if (ok) {
      c.stroke_rect(x0 - 1, y0 - 1, w + 2, h + 2, Rgb{200, 200, 200});
    } else {
      c.stroke_rect(x0 - 1, y0 - 1, w + 2, h + 2, colors::kMistake);
      c.stroke_rect(x0 - 2, y0 - 2, w + 4, h + 4, colors::kMistake);
    }
  }
  return c;
}

Canvas weight_templates(std::span<const float> weight, std::size_t classes, std::size_t image_rows,
                        std::size_t image_cols, std::span<const std::string> class_names,
                        std::string_view title) {
  const std::size_t d = image_rows * image_cols;
  if (weight.size() != classes * d)
    throw std::invalid_argument("weight_templates: weight has " + std::to_string(weight.size()) +
                                " entries, not classes x rows x cols");
  double limit = 0;
  for (float w : weight)
    if (std::isfinite(w)) limit = std::max(limit, std::abs(static_cast<double>(w)));
  if (limit == 0) limit = 1;  // all zero: everything white
  GridLayout g = weight_grid_layout(classes, image_rows, image_cols);
  const std::string subtitle = "red: evidence for the class, blue: against; one scale for all";
  const auto needed =
      static_cast<std::size_t>(std::max(text_width(title), text_width(subtitle)) + 40);
  if (needed > g.width) {
    g.left += (needed - g.width) / 2;
    g.width = needed;
  }
  Canvas c(g.width, g.height);
  draw_figure_title(c, title, subtitle);
  const auto z = static_cast<long>(g.zoom);
  for (std::size_t k = 0; k < classes; ++k) {
    const std::string label =
        fit_text(k < class_names.size() ? class_names[k] : "class " + std::to_string(k),
                 static_cast<long>(g.cell_width) - 8);
    c.text(static_cast<long>(g.title_x(k) + g.cell_width / 2) - text_width(label) / 2,
           static_cast<long>(g.title_y(k)), label, colors::kText);
    const auto x0 = static_cast<long>(g.image_x(k)), y0 = static_cast<long>(g.image_y(k));
    for (std::size_t r = 0; r < image_rows; ++r)
      for (std::size_t q = 0; q < image_cols; ++q)
        c.fill_rect(x0 + static_cast<long>(q) * z, y0 + static_cast<long>(r) * z, z, z,
                    diverging_color(weight[k * d + r * image_cols + q] / limit));
    c.stroke_rect(x0 - 1, y0 - 1, z * static_cast<long>(image_cols) + 2,
                  z * static_cast<long>(image_rows) + 2, Rgb{200, 200, 200});
  }
  const int decimals = std::max(1, 2 - static_cast<int>(std::floor(std::log10(limit))));
  const long bar = 320;
  draw_color_bar(
      c, (static_cast<long>(g.width) - bar) / 2,
      static_cast<long>(g.top + g.rows * g.cell_height) + 4, bar,
      [](double t) { return diverging_color(2 * t - 1); },
      {fixed(-limit, decimals), "0", "+" + fixed(limit, decimals)}, "weight");
  return c;
}

// ------------------------------------------------------------------------------ confusion

std::string confusion_svg(const ConfusionMatrix& cm, std::span<const std::string> class_names,
                          std::string_view title) {
  const std::size_t k = cm.classes;
  if (k == 0 || cm.counts.size() != k * k)
    throw std::invalid_argument("confusion_svg: not a square matrix");
  auto name = [&](std::size_t i) {
    return i < class_names.size() ? class_names[i] : std::to_string(i);
  };
  std::size_t longest = 4;
  for (std::size_t i = 0; i < k; ++i) longest = std::max(longest, name(i).size());
  const double cell = k <= 12 ? 56 : std::max(16.0, 672.0 / static_cast<double>(k));
  const double font = std::min(14.0, cell / 3.2);
  const double label_w = 8.2 * static_cast<double>(longest) + 16;  // about 8.2 px a character
  const double left = label_w + 40, top = 76;
  const double side = cell * static_cast<double>(k);
  const double bar_x = left + side + 28;
  const double width = bar_x + 90;
  const double bottom = top + side;
  const double height = bottom + label_w * 0.72 + 56;

  std::size_t max_count = 0;
  for (std::size_t c : cm.counts) max_count = std::max(max_count, c);
  const std::string total = std::to_string(cm.total());
  std::string s = svg_header(width, height, title);
  s += svg_text(width / 2, 30, title,
                "class=\"title\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\" "
                "fill=\"" +
                    hex(colors::kText) + "\"");
  char sub[160];
  std::snprintf(sub, sizeof sub, "%zu test examples, accuracy %.4f; colour: share of the row",
                cm.total(), cm.total() ? cm.accuracy() : 0.0);
  s += svg_text(width / 2, 54, sub,
                "class=\"subtitle\" text-anchor=\"middle\" font-size=\"14\" fill=\"" +
                    hex(colors::kGray) + "\"");
  s += "<g id=\"cells\" font-size=\"" + num(font) + "\" text-anchor=\"middle\">\n";
  for (std::size_t t = 0; t < k; ++t) {
    std::size_t row_total = 0;
    for (std::size_t p = 0; p < k; ++p) row_total += cm(t, p);
    for (std::size_t p = 0; p < k; ++p) {
      const std::size_t count = cm(t, p);
      const double share =
          row_total ? static_cast<double>(count) / static_cast<double>(row_total) : 0.0;
      const double x = left + cell * static_cast<double>(p);
      const double y = top + cell * static_cast<double>(t);
      s += "<rect class=\"cell\" id=\"cell-" + std::to_string(t) + "-" + std::to_string(p) +
           "\" x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(cell) + "\" height=\"" +
           num(cell) + "\" fill=\"" + hex(sequential_color(share)) +
           "\" stroke=\"#ffffff\" stroke-width=\"1\"><title>" + xml_escape(name(t)) + " as " +
           xml_escape(name(p)) + ": " + std::to_string(count) + "</title></rect>\n";
      s += svg_text(x + cell / 2, y + cell / 2 + font * 0.36, std::to_string(count),
                    "class=\"count\" fill=\"" + std::string(share > 0.5 ? "#ffffff" : "#222222") +
                        "\"" + (t == p ? " font-weight=\"bold\"" : ""));
    }
  }
  s += "</g>\n<g id=\"labels\" font-size=\"14\" fill=\"" + hex(colors::kText) + "\">\n";
  for (std::size_t i = 0; i < k; ++i) {
    const double mid = cell * (static_cast<double>(i) + 0.5);
    s += svg_text(left - 8, top + mid + 5, name(i), "class=\"row-label\" text-anchor=\"end\"");
    const double x = left + mid + 4, y = bottom + 12;
    s += "<text class=\"column-label\" x=\"" + num(x) + "\" y=\"" + num(y) +
         "\" text-anchor=\"end\" transform=\"rotate(-45 " + num(x) + " " + num(y) + ")\">" +
         xml_escape(name(i)) + "</text>\n";
  }
  s += "<text class=\"axis-label\" x=\"16\" y=\"" + num(top + side / 2) +
       "\" text-anchor=\"middle\" font-size=\"15\" transform=\"rotate(-90 16 " +
       num(top + side / 2) + ")\">true class</text>\n";
  s += svg_text(left + side / 2, height - 14, "predicted class",
                "class=\"axis-label\" text-anchor=\"middle\" font-size=\"15\"");
  s += "</g>\n";
  // Colour bar: share of the true class, 0 at the bottom to 1 at the top.
  s += "<g id=\"color-bar\" font-size=\"12\" fill=\"" + hex(colors::kText) + "\">\n";
  // sequential_color is piecewise linear between its stops: a gradient through the same stops.
  const double bar_h = side;
  s += "<defs><linearGradient id=\"share-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (int i = 0; i <= 3; ++i)
    s += "<stop offset=\"" + num(i / 3.0) + "\" stop-color=\"" + hex(sequential_color(i / 3.0)) +
         "\"/>";
  s += "</linearGradient></defs>\n";
  s += "<rect x=\"" + num(bar_x) + "\" y=\"" + num(top) + "\" width=\"16\" height=\"" + num(bar_h) +
       "\" fill=\"url(#share-scale)\" stroke=\"#888888\" stroke-width=\"1\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double y = top + bar_h - bar_h * i / 4;
    s += svg_line(bar_x + 16, y, bar_x + 21, y, colors::kGray, 1);
    s += svg_text(bar_x + 24, y + 4, std::to_string(i * 25) + "%", "class=\"tick\"");
  }
  s += "</g>\n</svg>\n";
  return s;
}

// ------------------------------------------------------------------------------ report

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters are not allowed in XML 1.0: drop them.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t') out += c;
    }
  }
  return out;
}

std::string report_html(const ReportPage& page) {
  auto table = [](const std::vector<std::pair<std::string, std::string>>& rows) {
    std::string t = "<table class=\"pairs\">\n";
    for (const auto& [k, v] : rows)
      t += "<tr><th>" + xml_escape(k) + "</th><td>" + xml_escape(v) + "</td></tr>\n";
    return t + "</table>\n";
  };
  std::string h = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>)" + xml_escape(page.title) +
                  R"(</title>
<style>
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; color: #222; background: #fff;
       margin: 2em auto; max-width: 1100px; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.columns { display: flex; flex-wrap: wrap; gap: 2em; }
table { border-collapse: collapse; font-size: 0.95em; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #eee; text-align: left; }
table.epochs td { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.95em; margin-top: 0.4em; }
</style>
</head>
<body data-images="loading">
<h1>)" + xml_escape(page.title) +
                  "</h1>\n<div class=\"columns\">\n<section>\n<h2>Result</h2>\n" +
                  table(page.figures) + "</section>\n<section>\n<h2>Options</h2>\n" +
                  table(page.options) + "</section>\n</div>\n";
  for (const ReportFigure& f : page.images) {
    h += "<h2>" + xml_escape(f.title) + "</h2>\n<figure>\n<img src=\"" + xml_escape(f.file) +
         "\" alt=\"" + xml_escape(f.title) + "\">\n<figcaption>" + xml_escape(f.caption) +
         "</figcaption>\n</figure>\n";
  }
  if (!page.history.empty()) {
    const bool validated = page.history.front().validated;
    h += "<h2>Epochs</h2>\n<table class=\"epochs\">\n<tr><th>epoch</th><th>loss</th><th>train "
         "acc</th>";
    if (validated) h += "<th>val loss</th><th>val acc</th>";
    h += "<th>test acc</th><th>test loss</th><th>seconds</th></tr>\n";
    for (const EpochMetrics& m : page.history) {
      h += "<tr><td>" + std::to_string(m.epoch) + "</td><td>" + fixed(m.loss, 4) + "</td><td>" +
           fixed(m.train_accuracy, 4) + "</td><td>";
      if (validated)
        h += fixed(m.validation_loss, 4) + "</td><td>" + fixed(m.validation_accuracy, 4) +
             "</td><td>";
      h += fixed(m.test_accuracy, 4) + "</td><td>" + fixed(m.test_loss, 4) + "</td><td>" +
           fixed(m.seconds, 2) + "</td></tr>\n";
    }
    h += "</table>\n";
  }
  // Marks the page once everything has loaded, so that a headless browser can tell whether
  // every picture decoded (the tests read this attribute).
  h += R"(<script>
window.addEventListener("load", function () {
  var broken = [];
  document.querySelectorAll("img").forEach(function (img) {
    if (!img.complete || img.naturalWidth === 0) broken.push(img.getAttribute("src"));
  });
  document.body.setAttribute("data-images", broken.length ? "broken: " + broken.join(" ") : "loaded");
});
</script>
</body>
</html>
)";
  return h;
}

}  // namespace softreg
