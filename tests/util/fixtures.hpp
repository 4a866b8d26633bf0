// Helpers that make small test files: temporary folders, IDX files (raw or gzip'd).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "softreg/data.hpp"

namespace softreg::test {

/// A fresh folder under the system's temporary folder, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// n examples of d byte features in k classes (scale 1/255), drawn with seed: class c
/// brightens its own slice of the inputs (every k-th from c), so a linear model learns it.
Dataset synthetic_bytes(std::size_t n, std::size_t d, std::size_t k, std::uint64_t seed);

/// The bytes of an IDX file: magic (0, 0, type, dims.size()), big-endian dims, then data.
std::vector<std::uint8_t> idx_bytes(const std::vector<std::uint32_t>& dims,
                                    std::span<const std::uint8_t> data, std::uint8_t type = 0x08);

std::vector<std::uint8_t> gzip_bytes(std::span<const std::uint8_t> raw);

void write_file(const std::filesystem::path& file, std::span<const std::uint8_t> bytes);
void write_text(const std::filesystem::path& file, const std::string& text);

/// Writes a small Fashion-MNIST-like data set into `dir` (gzip'd, Debian's names): n_train and
/// n_test images of rows x cols whose pixels depend on the label, so a model can learn it.
void write_tiny_fashion(const std::filesystem::path& dir, std::uint32_t n_train,
                        std::uint32_t n_test, std::uint32_t rows = 28, std::uint32_t cols = 28,
                        bool gzip = true);

/// The folder of the real Fashion-MNIST (SOFTREG_DATA or Debian's), or empty when not installed.
std::filesystem::path real_fashion_mnist_dir();

/// Why a test that needs the real Fashion-MNIST fails when real_fashion_mnist_dir() is empty. CI
/// has it (scripts/setup installs Debian's dataset-fashion-mnist): such a test fails, never skips.
std::string no_real_fashion_mnist();

}  // namespace softreg::test
