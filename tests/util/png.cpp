#include "png.hpp"

#include <png.h>

#include <cstring>

namespace softreg::test {

namespace {

DecodedPng finish(png_image& image) {
  DecodedPng out;
  if (PNG_IMAGE_FAILED(image)) {
    out.error = image.message;
    png_image_free(&image);
    return out;
  }
  image.format = PNG_FORMAT_RGB;
  out.width = image.width;
  out.height = image.height;
  out.rgb.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.rgb.data(), 0, nullptr)) {
    out.error = image.message;
    out.rgb.clear();
  }
  return out;
}

}  // namespace

DecodedPng decode_png_file(const std::filesystem::path& file) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  png_image_begin_read_from_file(&image, file.c_str());
  return finish(image);
}

DecodedPng decode_png_bytes(std::span<const std::uint8_t> bytes) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  png_image_begin_read_from_memory(&image, bytes.data(), bytes.size());
  return finish(image);
}

}  // namespace softreg::test
