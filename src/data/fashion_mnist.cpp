// Fashion-MNIST: its four IDX files in a folder, either naming style, and its classes.
#include <cstdlib>

#include "load.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

Dataset fashion_mnist_rows(IdxArray images, const IdxArray& labels, const fs::path& images_file,
                           const fs::path& labels_file, std::size_t first) {
  const auto& names = fashion_mnist_classes();
  Dataset d;
  d.rows = labels.data.size();
  d.shape = {images.dims[1], images.dims[2]};
  d.inputs = images.dims[1] * images.dims[2];
  d.pixels = std::move(images.data);
  d.scale = 1.0f / 255.0f;
  d.labels.resize(d.rows);
  for (std::size_t i = 0; i < d.rows; ++i) {
    if (labels.data[i] >= names.size())
      fail(labels_file, "label " + std::to_string(labels.data[i]) + " at index " +
                            std::to_string(first + i) + " but Fashion-MNIST has " +
                            std::to_string(names.size()) + " classes (0-9)");
    d.labels[i] = labels.data[i];
  }
  d.class_names.assign(names.begin(), names.end());
  d.source = images_file.string();
  return d;
}

namespace {

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
  if (images.dims[0] == 0)
    fail(images_file, "no images: expected at least 1 but the header says 0");
  if (images.dims[0] != labels.dims[0])
    fail(images_file, "image count " + std::to_string(images.dims[0]) + " but labels file " +
                          labels_file.filename().string() + " has " +
                          std::to_string(labels.dims[0]));
  return fashion_mnist_rows(std::move(images), labels, images_file, labels_file, 0);
}

}  // namespace

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

namespace {

void check_fashion_mnist_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    fail(dir, "folder not found: expected the Fashion-MNIST files here (give " + param("data") +
                  " DIR, set SOFTREG_DATA, or install Debian's dataset-fashion-mnist)");
  if (!fs::is_directory(dir, ec))
    fail(dir, "expected a folder of Fashion-MNIST files but found a file");
}

Dataset fashion_mnist_test(const fs::path& dir) {
  return images_and_labels(find_file(dir, "t10k-images", "idx3-ubyte"),
                           find_file(dir, "t10k-labels", "idx1-ubyte"));
}

}  // namespace

FashionMnistFiles fashion_mnist_files(const fs::path& dir) {
  check_fashion_mnist_dir(dir);
  return {find_file(dir, "train-images", "idx3-ubyte"),
          find_file(dir, "train-labels", "idx1-ubyte"), find_file(dir, "t10k-images", "idx3-ubyte"),
          find_file(dir, "t10k-labels", "idx1-ubyte")};
}

Dataset load_fashion_mnist_test(const fs::path& dir) {
  check_fashion_mnist_dir(dir);
  return fashion_mnist_test(dir);
}

TrainTest load_fashion_mnist(const fs::path& dir) {
  check_fashion_mnist_dir(dir);
  TrainTest tt;
  tt.train = images_and_labels(find_file(dir, "train-images", "idx3-ubyte"),
                               find_file(dir, "train-labels", "idx1-ubyte"));
  tt.test = fashion_mnist_test(dir);
  if (tt.train.shape != tt.test.shape)
    fail(tt.test.source, "images are " + dims_text(tt.test.shape, 0) +
                             " but the training images are " + dims_text(tt.train.shape, 0));
  return tt;
}

// ------------------------------------------------------------------------------------ tables

}  // namespace softreg
