// Gray images made ready for a model: resized by area averaging, inverted when the border is light.
#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "softreg/io.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

// For each of the n output cells along an axis of m input cells, the input cells it covers and
// their weights. Output cell j covers [j m/n, (j+1) m/n) in input units; measured in units of
// 1/n, input cell i covers [i n, (i+1) n) and output cell j covers [j m, (j+1) m), so overlaps
// are whole numbers and the weights (overlap / m) are exact fractions that sum to 1.
struct Tap {
  std::size_t index;
  double weight;
};

std::vector<std::vector<Tap>> box_taps(std::size_t m, std::size_t n) {
  std::vector<std::vector<Tap>> taps(n);
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t lo = std::uint64_t{j} * m, hi = lo + m;
    for (std::size_t i = static_cast<std::size_t>(lo / n); i < m && std::uint64_t{i} * n < hi;
         ++i) {
      const std::uint64_t a = std::max<std::uint64_t>(lo, std::uint64_t{i} * n);
      const std::uint64_t b = std::min<std::uint64_t>(hi, std::uint64_t{i + 1} * n);
      if (b > a) taps[j].push_back({i, static_cast<double>(b - a) / static_cast<double>(m)});
    }
  }
  return taps;
}

}  // namespace

GrayImage resize_area(const GrayImage& image, std::size_t rows, std::size_t cols) {
  if (image.rows == 0 || image.cols == 0 || rows == 0 || cols == 0)
    throw std::invalid_argument("resize_area: empty image or size");
  // Columns first (rows x cols of the input -> image.rows x cols), then rows.
  const auto col_taps = box_taps(image.cols, cols);
  const auto row_taps = box_taps(image.rows, rows);
  std::vector<double> wide(image.rows * cols);
  for (std::size_t r = 0; r < image.rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      double s = 0;
      for (const Tap& t : col_taps[c]) s += t.weight * image.pixels[r * image.cols + t.index];
      wide[r * cols + c] = s;
    }
  GrayImage out;
  out.rows = rows;
  out.cols = cols;
  out.pixels.resize(rows * cols);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      double s = 0;
      for (const Tap& t : row_taps[r]) s += t.weight * wide[t.index * cols + c];
      out.pixels[r * cols + c] = static_cast<float>(s);
    }
  return out;
}

double border_mean(const GrayImage& image) {
  if (image.rows == 0 || image.cols == 0) return 0.0;
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t r = 0; r < image.rows; ++r)
    for (std::size_t c = 0; c < image.cols; ++c)
      if (r == 0 || c == 0 || r + 1 == image.rows || c + 1 == image.cols) {
        sum += image.pixels[r * image.cols + c];
        ++n;
      }
  return sum / static_cast<double>(n);
}

GrayImage image_for_model(const GrayImage& image, std::size_t rows, std::size_t cols, Invert invert,
                          bool* inverted) {
  const bool flip =
      invert == Invert::yes || (invert == Invert::automatic && border_mean(image) > 127.5);
  if (inverted != nullptr) *inverted = flip;
  GrayImage out = resize_area(image, rows, cols);
  if (flip)
    for (float& v : out.pixels) v = 255.0f - v;
  return out;
}

}  // namespace softreg
