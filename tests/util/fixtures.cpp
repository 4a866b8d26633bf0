#include "fixtures.hpp"

#include <libdeflate.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <stdexcept>

#include "softreg/data.hpp"

namespace softreg::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("softreg-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Dataset synthetic_bytes(std::size_t n, std::size_t d, std::size_t k, std::uint64_t seed) {
  Rng rng(seed);
  Dataset ds;
  ds.rows = n;
  ds.inputs = d;
  ds.shape = {d};
  ds.scale = 1.0f / 255;
  ds.pixels.resize(n * d);
  ds.labels.resize(n);
  for (std::size_t c = 0; c < k; ++c) ds.class_names.push_back("c" + std::to_string(c));
  for (std::size_t i = 0; i < n; ++i) {
    const auto y = static_cast<std::int32_t>(rng.below(k));
    ds.labels[i] = y;
    for (std::size_t j = 0; j < d; ++j)
      ds.pixels[i * d + j] = static_cast<std::uint8_t>(
          rng.below(100) + (j % k == static_cast<std::size_t>(y) ? 120 : 0));
  }
  ds.source = "synthetic";
  return ds;
}

std::vector<std::uint8_t> idx_bytes(const std::vector<std::uint32_t>& dims,
                                    std::span<const std::uint8_t> data, std::uint8_t type) {
  std::vector<std::uint8_t> out = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(d >> shift));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<std::uint8_t> gzip_bytes(std::span<const std::uint8_t> raw) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(6);
  std::vector<std::uint8_t> out(libdeflate_gzip_compress_bound(c, raw.size()));
  const std::size_t n = libdeflate_gzip_compress(c, raw.data(), raw.size(), out.data(), out.size());
  libdeflate_free_compressor(c);
  if (n == 0) throw std::runtime_error("gzip_bytes: compression failed");
  out.resize(n);
  return out;
}

void write_file(const fs::path& file, std::span<const std::uint8_t> bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("write_file: cannot write " + file.string());
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

void write_tiny_fashion(const fs::path& dir, std::uint32_t n_train, std::uint32_t n_test,
                        std::uint32_t rows, std::uint32_t cols, bool gzip) {
  fs::create_directories(dir);
  auto make = [&](const std::string& stem, std::uint32_t n) {
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(n) * rows * cols);
    std::vector<std::uint8_t> labels(n);
    std::uint32_t state = 12345;
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint8_t y = static_cast<std::uint8_t>(i % 10);
      labels[i] = y;
      // Class y lights up its own band of rows, plus noise: learnable, not trivial.
      for (std::uint32_t p = 0; p < rows * cols; ++p) {
        state = state * 1664525u + 1013904223u;
        const std::uint32_t band = (p / cols) * 10 / rows;
        const std::uint32_t noise = (state >> 24) & 0x3f;
        pixels[static_cast<std::size_t>(i) * rows * cols + p] =
            static_cast<std::uint8_t>((band == y ? 150 : 0) + noise);
      }
    }
    const std::string ext = gzip ? ".gz" : "";
    auto images = idx_bytes({n, rows, cols}, pixels);
    auto lab = idx_bytes({n}, labels);
    write_file(dir / (stem + "-images-idx3-ubyte" + ext), gzip ? gzip_bytes(images) : images);
    write_file(dir / (stem + "-labels-idx1-ubyte" + ext), gzip ? gzip_bytes(lab) : lab);
  };
  make("train", n_train);
  make("t10k", n_test);
}

fs::path real_fashion_mnist_dir() {
  const fs::path dir = default_fashion_mnist_dir();
  std::error_code ec;
  if (fs::exists(dir / "train-images-idx3-ubyte.gz", ec) ||
      fs::exists(dir / "train-images-idx3-ubyte", ec))
    return dir;
  return {};
}

std::string no_real_fashion_mnist() {
  return "the real Fashion-MNIST is not in " + default_fashion_mnist_dir().string() +
         " (install Debian's dataset-fashion-mnist, as scripts/setup does, or set SOFTREG_DATA)";
}

}  // namespace softreg::test
