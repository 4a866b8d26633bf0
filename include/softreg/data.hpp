// Data sets: what a loader returns and the loaders themselves. Every file is untrusted: a loader
// checks magic numbers, counts, dimensions and sizes before it allocates, and its errors
// (softreg::InputError) name the file, what was expected and what was found.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace softreg {

/// A labelled data set of `rows` examples with `inputs` features each. Images keep their bytes
/// (uint8, 47 MB for Fashion-MNIST's training set, a quarter of a float copy) and are scaled by
/// `scale` (1/255) one batch at a time; tables keep floats and have scale 1.
struct Dataset {
  std::size_t rows = 0;
  std::size_t inputs = 0;
  std::vector<std::uint8_t> pixels;  // rows x inputs when the features are bytes
  std::vector<float> values;         // rows x inputs otherwise
  float scale = 1.0f;                // feature = stored value * scale
  std::vector<std::int32_t> labels;  // rows class indices in [0, classes())
  std::vector<std::size_t> shape;    // the shape of one example, e.g. {28, 28}
  std::vector<std::string> class_names;
  std::string source;  // where it came from, for messages

  std::size_t classes() const { return class_names.size(); }
  bool is_bytes() const { return !pixels.empty() || values.empty(); }
  /// Keeps only the first n examples (n ≤ rows).
  void keep_first(std::size_t n);
};

/// An IDX array (LeCun's MNIST format): big-endian dimensions, then unsigned bytes.
struct IdxArray {
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> data;
};

/// Reads a whole file, decompressing it when it starts with the gzip magic (so both
/// "x.gz" and a raw "x" work whatever their names say).
std::vector<std::uint8_t> read_file_maybe_gzip(const std::filesystem::path& file);

/// Loads an IDX file of unsigned bytes (type 0x08), gzip-compressed or raw. `expected_dims`, when
/// not 0, is the number of dimensions the caller needs (3 for images, 1 for labels).
IdxArray load_idx(const std::filesystem::path& file, std::size_t expected_dims = 0);

/// Fashion-MNIST's classes in label order.
const std::array<std::string_view, 10>& fashion_mnist_classes();

/// The folder to read Fashion-MNIST from when none is given: $SOFTREG_DATA when set, else the
/// folder of Debian's package dataset-fashion-mnist.
std::filesystem::path default_fashion_mnist_dir();

struct TrainTest {
  Dataset train;
  Dataset test;
};

/// Loads the four Fashion-MNIST files from `dir`, each either gzip-compressed or raw and named in
/// either style: train-images-idx3-ubyte[.gz] or train-images.idx3-ubyte[.gz] (likewise
/// train-labels, t10k-images, t10k-labels). Checks that counts agree, labels are < 10 and train and
/// test images have the same dimensions.
TrainTest load_fashion_mnist(const std::filesystem::path& dir);

}  // namespace softreg
