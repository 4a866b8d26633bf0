// Writes the seed corpus of every fuzz target into OUTDIR/<target>/: small valid files of each
// format made by softreg's own writers, the tables of tests/data, and a few edge cases. A seed
// is a starting point: the fuzzer mutates it into the inputs nobody thought of.
//   softreg_fuzz_seeds OUTDIR
#include <libdeflate.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "softreg/data.hpp"
#include "softreg/io.hpp"
#include "softreg/model.hpp"
#include "softreg/random.hpp"
#include "softreg/safetensors.hpp"
#include "softreg/train.hpp"

namespace fs = std::filesystem;
using namespace softreg;
using Bytes = std::vector<std::uint8_t>;

namespace {

fs::path out_dir;

void put(const std::string& target, const std::string& name, const Bytes& bytes) {
  fs::create_directories(out_dir / target);
  std::ofstream(out_dir / target / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

Bytes gzip(const Bytes& in) {
  std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> c(
      libdeflate_alloc_compressor(6), &libdeflate_free_compressor);
  Bytes out(libdeflate_gzip_compress_bound(c.get(), in.size()));
  out.resize(libdeflate_gzip_compress(c.get(), in.data(), in.size(), out.data(), out.size()));
  return out;
}

Bytes idx(const std::vector<std::uint32_t>& dims, std::uint8_t first) {
  Bytes b = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  std::size_t n = 1;
  for (std::uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
    n *= d;
  }
  for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(first + 37 * i));
  return b;
}

Bytes file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// The first `lines` lines of a file.
Bytes head(const Bytes& b, int lines) {
  Bytes out;
  for (std::uint8_t c : b) {
    out.push_back(c);
    if (c == '\n' && --lines == 0) break;
  }
  return out;
}

Bytes with_option_byte(std::uint8_t options, const Bytes& b) {
  Bytes out = {options};
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

void idx_seeds() {
  put("idx", "images", idx({2, 3, 3}, 1));
  put("idx", "labels", idx({4}, 0));
  put("idx", "one-image", idx({3, 3}, 9));
  put("idx", "images.gz", gzip(idx({2, 4, 4}, 5)));
  put("idx", "labels.gz", gzip(idx({5}, 2)));
  // Two gzip members, as `cat a.gz b.gz` makes.
  const Bytes labels = idx({3}, 0);
  Bytes two = gzip(Bytes(labels.begin(), labels.begin() + 5));
  const Bytes rest = gzip(Bytes(labels.begin() + 5, labels.end()));
  two.insert(two.end(), rest.begin(), rest.end());
  put("idx", "labels-two-members.gz", two);
}

void gzip_seeds() {
  put("gzip", "text.gz", gzip(text("softmax regression\n")));
  put("gzip", "empty.gz", gzip({}));
  put("gzip", "zeros.gz", gzip(Bytes(5000, 0)));
  Bytes two = gzip(text("first member "));
  const Bytes b = gzip(text("second member"));
  two.insert(two.end(), b.begin(), b.end());
  put("gzip", "two-members.gz", two);
}

void csv_seeds(const fs::path& data) {
  // The first byte is the target's options: 0 detects the separator and needs a label column.
  put("csv", "iris", with_option_byte(0, head(file(data / "iris.csv"), 12)));
  put("csv", "breast-cancer", with_option_byte(0, head(file(data / "breast_cancer.csv"), 6)));
  put("csv", "quoted",
      with_option_byte(0, text("\"a,1\",\"b \"\"2\"\"\",label\r\n1,2,x\r\n"
                               "3.5,-4e-3,\"y\nz\"\r\n")));
  put("csv", "semicolons", with_option_byte(2, text("x;y;class\n1;2;0\n3;4;1\n")));
  put("csv", "tabs-no-label", with_option_byte(7, text("x\ty\n1\t2\n3\t4\n")));
  put("csv", "named-label", with_option_byte(8, text("label,x\nno,1\nyes,2\n")));
  put("csv", "bom", with_option_byte(0, text("\xEF\xBB\xBFx,y\n1,a\n2,b\n")));
}

void libsvm_seeds() {
  put("libsvm", "small", text("+1 1:0.5 3:-2 # a comment\n-1 2:1e-3\n\n+1 1:1 2:2 3:3\n"));
  put("libsvm", "classes", text("cat 4:1\ndog 1:2 2:0.25\r\nbird 3:7\n"));
  put("libsvm", "binary", text("0 1:1 5:1 9:1\n1 2:1 4:1\n"));
  put("libsvm", "wide", text("1 4294967295:1\n0 1:2 70000:1\n"));
}

// The first byte picks fuzz_text's options (n-grams, bits, weighting, norm, labels required).
void text_seeds() {
  put("text", "labelled",
      text(std::string("\x05") +
           "__label__games Real-Time strategy\n\n__label__libs a C++ library\r\n"));
  put("text", "l2-log", text(std::string("\xc6") + "__label__a x x y\n__label__b __label__c z\n"));
  put("text", "utf8", text(std::string("\x11") + "caf\xc3\xa9 M\xc3\x9cNCHEN \xff\nno label\n"));
}

Bytes model_bytes(std::size_t inputs, std::size_t classes, Output output, bool standardised) {
  Rng rng(7);
  SoftmaxRegression m(inputs, classes, output);
  m.init(rng, 0.5f);
  ModelInfo info;
  for (std::size_t c = 0; c < classes; ++c)
    info.class_names.push_back("class " + std::to_string(c));
  info.input_shape =
      inputs == 4 ? std::vector<std::size_t>{2, 2} : std::vector<std::size_t>{inputs};
  info.input_scale = inputs == 4 ? 1.0f / 255.0f : 1.0f;
  if (standardised) {
    info.input_mean.assign(inputs, 0.5f);
    info.input_std.assign(inputs, 2.0f);
  }
  info.notes["training_options"] = "{\"epochs\":3}";
  info.notes["test_accuracy"] = "0.5";
  return model_file_bytes(m, info);
}

void model_seeds() {
  put("model", "softmax-images", model_bytes(4, 3, Output::softmax, false));
  put("model", "logistic-table", model_bytes(3, 2, Output::logistic, true));
  put("model", "softmax-table", model_bytes(5, 4, Output::softmax, true));
}

// Checkpoints of short runs (the first byte: 0 as written, 1 the fuzz target recomputes the
// checksum): momentum and averaging on dense rows; AdaGrad, early stopping and logistic.
void checkpoint_seeds() {
  Dataset d;
  d.rows = 24;
  d.inputs = 4;
  d.shape = {4};
  d.values.resize(24 * 4);
  for (std::size_t i = 0; i < d.values.size(); ++i) d.values[i] = static_cast<float>(i % 7) - 3;
  for (std::size_t i = 0; i < d.rows; ++i) d.labels.push_back(static_cast<std::int32_t>(i % 2));
  d.class_names = {"a", "b"};
  const auto seed = [&](const std::string& name, TrainOptions o, Output output) {
    Rng rng(1);
    SoftmaxRegression m(4, 2, output);
    Bytes bytes;
    TrainCallbacks callbacks;
    callbacks.on_checkpoint = [&](const TrainState& s) {
      bytes = checkpoint_bytes(s, {{"options", "{\"--epochs\":[\"2\"]}"}});
    };
    Trainer t(o);
    if (o.early_stopping != 0) t.validate_on(d);
    t.fit(m, d, d, rng, callbacks);
    Bytes with_mode = {0};
    with_mode.insert(with_mode.end(), bytes.begin(), bytes.end());
    put("checkpoint", name, with_mode);
    with_mode[0] = 1;
    put("checkpoint", name + "-rechecked", with_mode);
  };
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 5;
  o.sgd.momentum = 0.9f;
  o.average_from = 1;
  seed("momentum-average", o, Output::softmax);
  o = TrainOptions{};
  o.epochs = 3;
  o.batch_size = 7;
  o.sgd.adagrad = true;
  o.early_stopping = 2;
  seed("adagrad-early-stopping-logistic", o, Output::logistic);
}

void safetensors_seeds() {
  // The models, and containers softreg did not write: no metadata, other dtypes, an empty tensor.
  put("safetensors", "model", model_bytes(4, 3, Output::softmax, true));
  const Bytes four = {1, 2, 3, 4, 5, 6, 7, 8};
  put("safetensors", "plain", safetensors_bytes({}, {{"x", "U8", {2, 4}, four}}));
  put("safetensors", "mixed",
      safetensors_bytes({{"note", "hello"}}, {{"a", "F64", {1}, four},
                                              {"b", "I16", {2}, Bytes{1, 0, 2, 0}},
                                              {"empty", "F32", {0, 3}, {}}}));
}

void png_seeds() {
  put("png", "gray8",
      encode_png(3, 4, 1, 8, Bytes{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255}));
  put("png", "gray-alpha8", encode_png(2, 2, 2, 8, Bytes{0, 255, 100, 128, 200, 0, 255, 255}));
  put("png", "rgb8", encode_png(1, 2, 3, 8, Bytes{255, 0, 0, 0, 255, 0}));
  put("png", "rgba8", encode_png(1, 2, 4, 8, Bytes{1, 2, 3, 4, 250, 251, 252, 253}));
  put("png", "gray16", encode_png(1, 2, 1, 16, Bytes{0x12, 0x34, 0xff, 0x01}));
  put("png", "rgba16", encode_png(1, 1, 4, 16, Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: softreg_fuzz_seeds OUTDIR\n";
    return 2;
  }
  out_dir = argv[1];
  idx_seeds();
  gzip_seeds();
  csv_seeds(SOFTREG_TEST_DATA);
  libsvm_seeds();
  text_seeds();
  model_seeds();
  safetensors_seeds();
  checkpoint_seeds();
  png_seeds();
  return 0;
}
