// PNG images: decoded to gray for predict, encoded for pictures (libpng).
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

#include "file.hpp"
#include "softreg/error.hpp"
#include "softreg/io.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw InputError(name + ": " + what);
}

constexpr std::uint64_t kMaxPixels = std::uint64_t{64} << 20;

// libpng's classic API, used directly so that every sample is taken as stored (the simplified
// API would apply gamma: it takes 16-bit files without a gAMA chunk to be linear light). libpng
// reports errors by longjmp: they land in the setjmp of decode_png_rgba, whose frame holds no
// C++ object with a destructor, and no libpng call runs in a frame that has one.
struct PngReadState {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos;
  char message[200];
};

void png_read_from_memory(png_structp png, png_bytep out, png_size_t n) {
  auto* s = static_cast<PngReadState*>(png_get_io_ptr(png));
  if (n > s->size - s->pos) png_error(png, "truncated PNG data");
  std::memcpy(out, s->data + s->pos, n);
  s->pos += n;
}

void png_on_error(png_structp png, png_const_charp message) {
  auto* s = static_cast<PngReadState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof s->message, "%s", message);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

// Where decoded rows go. Rows arrive as 8-bit RGBA and are turned into gray as they come, so a
// file whose header claims more rows than its data holds costs only the rows it really has. An
// interlaced file (Adam7: seven passes over the whole image) needs the whole RGBA image first.
struct GraySink {
  GrayImage image;
  // One row, or the whole image when interlaced: not zero-filled, so the pages of rows a short
  // file never reaches are never touched.
  std::unique_ptr<std::uint8_t[]> rgba;
  bool too_large = false;
};

// Rec. 601 luma of the stored (sRGB) values, as most image tools convert to gray; transparency
// shows a white background.
void append_gray(GraySink* sink, const std::uint8_t* rgba, std::size_t pixels) {
  for (std::size_t i = 0; i < pixels; ++i) {
    const std::uint8_t* p = rgba + 4 * i;
    const double luma = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    const double alpha = p[3] / 255.0;
    sink->image.pixels.push_back(static_cast<float>(luma * alpha + 255.0 * (1.0 - alpha)));
  }
}

// Sizes the sink for an image; false to refuse it (too many pixels, or no memory). The gray
// image's room is reserved, not touched: memory comes as rows are decoded.
bool begin_image(GraySink* sink, png_uint_32 width, png_uint_32 height, bool interlaced) noexcept {
  const std::uint64_t pixels = std::uint64_t{width} * height;
  sink->image.rows = height;
  sink->image.cols = width;
  if (pixels > kMaxPixels) {
    sink->too_large = true;
    return false;
  }
  try {
    sink->image.pixels.reserve(static_cast<std::size_t>(pixels));
    sink->rgba.reset(new std::uint8_t[static_cast<std::size_t>(interlaced ? pixels : width) * 4]);
  } catch (const std::bad_alloc&) {
    return false;
  }
  return true;
}

// Decodes to 8-bit RGBA: palette and low bit depths expanded, 16-bit scaled to 8, gray copied
// to R, G and B, opaque alpha added where there is none; the rows go to `sink`. False on a
// libpng error (the message is in state) or an image the sink refuses.
bool decode_png(PngReadState* state, GraySink* sink) {
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, state, png_on_error, png_on_warning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  // Only what the pixels need is read: every ancillary chunk but transparency is skipped unread
  // (text, ICC profiles, gamma, ...: samples are taken as stored), and no chunk may make libpng
  // allocate more than 1 MB.
  static const png_byte kSkipped[] =
      "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0"
      "pHYs\0sBIT\0sCAL\0sPLT\0sRGB\0sTER\0tEXt\0tIME\0zTXt";
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, nullptr, 0);
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kSkipped, 18);
  png_set_chunk_malloc_max(png, 1 << 20);
#if defined(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
  // Fuzz builds only (the fuzz preset): a mutated byte would break the chunk's CRC or the zlib
  // stream's checksum and stop nearly every input at the first chunk, so they are not checked,
  // as libpng's own fuzzer does. Everywhere else a corrupt file is refused.
  png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
  png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
  png_set_read_fn(png, state, png_read_from_memory);
  png_read_info(png, info);
  const png_uint_32 width = png_get_image_width(png, info);
  const png_uint_32 height = png_get_image_height(png, info);
  const bool interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
  png_set_expand(png);
  png_set_scale_16(png);
  png_set_gray_to_rgb(png);
  png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != std::size_t{width} * 4)
    png_error(png, "unexpected row size after conversion to RGBA");
  if (!begin_image(sink, width, height, interlaced)) png_error(png, "image too large");
  std::uint8_t* rgba = sink->rgba.get();
  for (int pass = 0; pass < passes; ++pass)
    for (png_uint_32 r = 0; r < height; ++r) {
      png_read_row(png, interlaced ? rgba + std::size_t{r} * width * 4 : rgba, nullptr);
      if (!interlaced) append_gray(sink, rgba, width);
    }
  if (interlaced) append_gray(sink, rgba, std::size_t{width} * height);
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace

GrayImage decode_png_gray(std::span<const std::uint8_t> bytes, const std::string& name) {
  static const std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || !std::equal(kSignature, kSignature + 8, bytes.begin()))
    fail(name, "not a PNG file: expected the PNG signature 89 50 4E 47 0D 0A 1A 0A");
  PngReadState state{bytes.data(), bytes.size(), 0, {}};
  GraySink sink;
  if (!decode_png(&state, &sink)) {
    if (sink.too_large)
      fail(name, "image of " + std::to_string(sink.image.cols) + "x" +
                     std::to_string(sink.image.rows) + " pixels is larger than the " +
                     std::to_string(kMaxPixels >> 20) + " megapixels softreg reads");
    fail(name, std::string("invalid PNG: ") + (state.message[0] ? state.message : "libpng failed"));
  }
  return std::move(sink.image);
}

GrayImage read_png_gray(const fs::path& file) {
  return decode_png_gray(read_whole(file, std::uint64_t{1} << 30, "PNG file"), file.string());
}

namespace {

struct PngWriteState {
  std::vector<std::uint8_t>* out;
};

void png_write_to_vector(png_structp png, png_bytep data, png_size_t length) {
  auto* state = static_cast<PngWriteState*>(png_get_io_ptr(png));
  state->out->insert(state->out->end(), data, data + length);
}

void png_flush_nothing(png_structp) {}

// Fills `out` with the PNG; returns false on a libpng error. No C++ object with a destructor
// lives in this frame, so longjmp back to it skips nothing.
bool encode_png_raw(std::vector<std::uint8_t>* out, png_uint_32 rows, png_uint_32 cols,
                    int color_type, int bit_depth, const std::uint8_t* samples,
                    std::size_t row_bytes) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  PngWriteState state{out};
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, &state, png_write_to_vector, png_flush_nothing);
  png_set_IHDR(png, info, cols, rows, bit_depth, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (png_uint_32 r = 0; r < rows; ++r)
    png_write_row(png, const_cast<png_bytep>(samples + r * row_bytes));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

std::vector<std::uint8_t> encode_png(std::size_t rows, std::size_t cols, int channels,
                                     int bit_depth, std::span<const std::uint8_t> samples) {
  static const int kColorTypes[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                    PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16))
    throw std::invalid_argument("encode_png: channels 1-4 and bit depth 8 or 16");
  if (rows == 0 || cols == 0 || rows > 0x7fffffff || cols > 0x7fffffff)
    throw std::invalid_argument("encode_png: bad image size");
  const std::size_t row_bytes = cols * static_cast<std::size_t>(channels * bit_depth / 8);
  if (samples.size() != rows * row_bytes)
    throw std::invalid_argument("encode_png: " + std::to_string(samples.size()) +
                                " bytes for an image of " + std::to_string(rows * row_bytes));
  std::vector<std::uint8_t> out;
  if (!encode_png_raw(&out, static_cast<png_uint_32>(rows), static_cast<png_uint_32>(cols),
                      kColorTypes[channels - 1], bit_depth, samples.data(), row_bytes))
    throw Error("encode_png: libpng failed");
  return out;
}

}  // namespace softreg
