// Reads PNG files back for the tests, with libpng itself (not softreg's reader), as RGB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace softreg::test {

struct DecodedPng {
  std::size_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // height x width x 3
  std::string error;              // libpng's message when decoding failed, else empty

  std::uint8_t r(std::size_t x, std::size_t y) const { return rgb[3 * (y * width + x)]; }
  std::uint8_t g(std::size_t x, std::size_t y) const { return rgb[3 * (y * width + x) + 1]; }
  std::uint8_t b(std::size_t x, std::size_t y) const { return rgb[3 * (y * width + x) + 2]; }
};

/// Decodes a PNG file or PNG bytes to 8-bit RGB with libpng's simplified API.
DecodedPng decode_png_file(const std::filesystem::path& file);
DecodedPng decode_png_bytes(std::span<const std::uint8_t> bytes);

}  // namespace softreg::test
