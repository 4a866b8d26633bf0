// PNG images, as predict reads them. Properties: every pixel is a finite gray value in [0, 255];
// and an 8-bit gray PNG of the image rounded to whole values decodes to exactly those values
// (luma of equal R, G and B is the value itself).
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz.hpp"
#include "softreg/io.hpp"

using namespace softreg;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  GrayImage g;
  try {
    g = decode_png_gray(std::span<const std::uint8_t>(data, size), "input");
  } catch (const InputError&) {
    return 0;
  }
  fuzz::check(g.rows > 0 && g.cols > 0 && g.pixels.size() == g.rows * g.cols,
              "PNG: pixels are not rows x cols");
  std::vector<std::uint8_t> rounded(g.pixels.size());
  for (std::size_t i = 0; i < g.pixels.size(); ++i) {
    const float v = g.pixels[i];
    fuzz::check(std::isfinite(v) && v >= 0.0f && v <= 255.0f, "PNG: a pixel outside [0, 255]");
    rounded[i] = static_cast<std::uint8_t>(std::lround(v));
  }
  const GrayImage h = decode_png_gray(encode_png(g.rows, g.cols, 1, 8, rounded), "round trip");
  fuzz::check(h.rows == g.rows && h.cols == g.cols, "PNG: round trip changes the size");
  for (std::size_t i = 0; i < rounded.size(); ++i)
    fuzz::check(h.pixels[i] == static_cast<float>(rounded[i]), "PNG: gray round trip differs");
  return 0;
}
