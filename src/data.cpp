#include "softreg/data.hpp"

#include <libdeflate.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& file, const std::string& what) {
  throw InputError(file.string() + ": " + what);
}

std::string hex(std::uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*X", digits, v);
  return buf;
}

// Sizes v to n bytes. For large buffers it first reserves the memory untouched and asks Linux for
// 2 MB pages (transparent huge pages in "madvise" mode): on the development VM a 4 KB page fault
// costs ~15 us, and the 47 MB of Fashion-MNIST's training images would spend 0.2 s faulting.
void resize_fresh(std::vector<std::uint8_t>& v, std::size_t n) {
  v = {};
  v.reserve(n);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  if (n >= 2 * kHuge) {
    const auto begin = (reinterpret_cast<std::uintptr_t>(v.data()) + kHuge - 1) & ~(kHuge - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(v.data()) + n) & ~(kHuge - 1);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
#endif
  v.resize(n);
}

std::vector<std::uint8_t> read_raw(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) fail(file, "expected a file but found a folder");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    fail(file, "cannot open file (" +
                   std::string(fs::exists(file, ec) ? "permission denied" : "no such file") + ")");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) fail(file, "cannot read file size");
  in.seekg(0);
  std::vector<std::uint8_t> bytes;
  resize_fresh(bytes, static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) fail(file, "read error");
  return bytes;
}

// Deflate cannot shrink data by more than a factor of 1032, so a gzip member whose output would be
// larger is lying; this bounds what a hostile file can make us allocate.
constexpr std::size_t kMaxDeflateRatio = 1032;

std::vector<std::uint8_t> gunzip(const fs::path& file, const std::vector<std::uint8_t>& in) {
  std::unique_ptr<libdeflate_decompressor, decltype(&libdeflate_free_decompressor)> d(
      libdeflate_alloc_decompressor(), &libdeflate_free_decompressor);
  if (!d) throw Error("out of memory allocating a gzip decompressor");
  std::vector<std::uint8_t> out;
  std::size_t pos = 0;
  while (pos < in.size()) {
    const std::size_t avail = in.size() - pos;
    if (avail < 18 || in[pos] != 0x1f || in[pos + 1] != 0x8b) {
      if (pos == 0) fail(file, "not gzip data: expected the gzip magic 1f 8b");
      fail(file, "unexpected bytes after the gzip data at offset " + std::to_string(pos));
    }
    // The member's trailer holds its size mod 2^32, but where the member ends is unknown until it
    // is decompressed; for the usual single-member file the trailer is the last 4 bytes.
    const std::size_t limit = avail * kMaxDeflateRatio + 1024;
    std::size_t guess = static_cast<std::size_t>(in[in.size() - 4]) |
                        static_cast<std::size_t>(in[in.size() - 3]) << 8 |
                        static_cast<std::size_t>(in[in.size() - 2]) << 16 |
                        static_cast<std::size_t>(in[in.size() - 1]) << 24;
    guess = std::clamp<std::size_t>(guess, 1024, limit);
    for (;;) {
      const std::size_t used = out.size();
      if (used == 0)
        resize_fresh(out, guess);
      else
        out.resize(used + guess);
      std::size_t in_bytes = 0, out_bytes = 0;
      const auto r = libdeflate_gzip_decompress_ex(d.get(), in.data() + pos, avail,
                                                   out.data() + used, guess, &in_bytes, &out_bytes);
      if (r == LIBDEFLATE_SUCCESS) {
        out.resize(used + out_bytes);
        pos += in_bytes;
        break;
      }
      out.resize(used);
      if (r == LIBDEFLATE_INSUFFICIENT_SPACE && guess < limit) {
        guess = std::min(guess * 2, limit);
        continue;
      }
      fail(file, "corrupt or truncated gzip data");
    }
  }
  return out;
}

std::uint32_t read_be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

std::string dims_text(const std::vector<std::size_t>& dims, std::size_t from) {
  std::string s;
  for (std::size_t i = from; i < dims.size(); ++i) {
    if (i > from) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

// The names a Fashion-MNIST file may have: Debian's/Zalando's "train-images-idx3-ubyte" and the
// "train-images.idx3-ubyte" style of other mirrors, each raw or gzip'd.
fs::path find_file(const fs::path& dir, const std::string& stem, const std::string& kind) {
  const std::string names[] = {stem + "-" + kind, stem + "." + kind};
  for (const auto& name : names)
    for (const char* ext : {".gz", ""}) {
      std::error_code ec;
      const fs::path p = dir / (name + ext);
      if (fs::exists(p, ec)) return p;
    }
  fail(dir, "no file " + names[0] + "[.gz] or " + names[1] + "[.gz] in this folder");
}

Dataset images_and_labels(const fs::path& images_file, const fs::path& labels_file) {
  IdxArray images = load_idx(images_file, 3);
  IdxArray labels = load_idx(labels_file, 1);
  if (images.dims[0] != labels.dims[0])
    fail(images_file, "image count " + std::to_string(images.dims[0]) + " but labels file " +
                          labels_file.filename().string() + " has " +
                          std::to_string(labels.dims[0]));
  const auto& names = fashion_mnist_classes();
  Dataset d;
  d.rows = images.dims[0];
  d.shape = {images.dims[1], images.dims[2]};
  d.inputs = images.dims[1] * images.dims[2];
  d.pixels = std::move(images.data);
  d.scale = 1.0f / 255.0f;
  d.labels.resize(d.rows);
  for (std::size_t i = 0; i < d.rows; ++i) {
    if (labels.data[i] >= names.size())
      fail(labels_file, "label " + std::to_string(labels.data[i]) + " at index " +
                            std::to_string(i) + " but Fashion-MNIST has " +
                            std::to_string(names.size()) + " classes (0-9)");
    d.labels[i] = labels.data[i];
  }
  d.class_names.assign(names.begin(), names.end());
  d.source = images_file.string();
  return d;
}

}  // namespace

void Dataset::keep_first(std::size_t n) {
  if (n >= rows) return;
  rows = n;
  if (!pixels.empty()) pixels.resize(n * inputs);
  if (!values.empty()) values.resize(n * inputs);
  labels.resize(n);
}

std::vector<std::uint8_t> read_file_maybe_gzip(const fs::path& file) {
  std::vector<std::uint8_t> bytes = read_raw(file);
  const bool gzip = bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
  if (gzip || file.extension() == ".gz") return gunzip(file, bytes);
  return bytes;
}

IdxArray load_idx(const fs::path& file, std::size_t expected_dims) {
  std::vector<std::uint8_t> bytes = read_file_maybe_gzip(file);
  if (bytes.empty()) fail(file, "empty file: expected an IDX header");
  if (bytes.size() < 4)
    fail(file, "file too short for an IDX header: expected at least 4 bytes but found " +
                   std::to_string(bytes.size()));
  const std::uint32_t magic = read_be32(bytes.data());
  const std::size_t ndims = bytes[3];
  if (bytes[0] != 0 || bytes[1] != 0 || ndims == 0 ||
      (expected_dims != 0 && ndims != expected_dims)) {
    const std::string want = expected_dims == 0
                                 ? "0x000008nn"
                                 : hex(0x0800u + static_cast<std::uint32_t>(expected_dims), 8) +
                                       " (" + std::to_string(0x0800 + expected_dims) + ")";
    fail(file, "not an IDX file of " +
                   (expected_dims ? std::to_string(expected_dims) + " dimensions"
                                  : std::string("bytes")) +
                   ": expected magic number " + want + " but found " + hex(magic, 8) + " (" +
                   std::to_string(magic) + ")");
  }
  if (bytes[2] != 0x08)
    fail(file, "expected unsigned-byte data (IDX type 0x08) but found type " + hex(bytes[2], 2));
  const std::size_t header = 4 + 4 * ndims;
  if (bytes.size() < header)
    fail(file, "truncated IDX header: expected " + std::to_string(header) + " bytes but found " +
                   std::to_string(bytes.size()));
  IdxArray a;
  std::size_t items = 1;
  const std::size_t available = bytes.size() - header;
  for (std::size_t i = 0; i < ndims; ++i) {
    const std::size_t dim = read_be32(bytes.data() + 4 + 4 * i);
    a.dims.push_back(dim);
    // Compare before multiplying, so a hostile header cannot overflow the count.
    if (dim != 0 && items > available / dim)
      items = available + 1;
    else
      items *= dim;
  }
  if (items != available) {
    std::string claim = dims_text(a.dims, 0);
    fail(file, "header claims " + claim + " = " +
                   (items > available ? "more than " + std::to_string(available)
                                      : std::to_string(items)) +
                   " bytes of data but the file holds " + std::to_string(available));
  }
  // Drop the header in place: no second copy of a 47 MB array.
  a.data = std::move(bytes);
  a.data.erase(a.data.begin(), a.data.begin() + static_cast<std::ptrdiff_t>(header));
  return a;
}

const std::array<std::string_view, 10>& fashion_mnist_classes() {
  static const std::array<std::string_view, 10> names = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

fs::path default_fashion_mnist_dir() {
  if (const char* env = std::getenv("SOFTREG_DATA"); env != nullptr && *env != '\0') return env;
  return "/usr/share/datasets/fashion-mnist";
}

TrainTest load_fashion_mnist(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    fail(dir,
         "folder not found: expected the Fashion-MNIST files here (give --data DIR, set "
         "SOFTREG_DATA, or install Debian's dataset-fashion-mnist)");
  if (!fs::is_directory(dir, ec))
    fail(dir, "expected a folder of Fashion-MNIST files but found a file");
  TrainTest tt;
  tt.train = images_and_labels(find_file(dir, "train-images", "idx3-ubyte"),
                               find_file(dir, "train-labels", "idx1-ubyte"));
  tt.test = images_and_labels(find_file(dir, "t10k-images", "idx3-ubyte"),
                              find_file(dir, "t10k-labels", "idx1-ubyte"));
  if (tt.train.shape != tt.test.shape)
    fail(tt.test.source, "images are " + dims_text(tt.test.shape, 0) +
                             " but the training images are " + dims_text(tt.train.shape, 0));
  return tt;
}

}  // namespace softreg
