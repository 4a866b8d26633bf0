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
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cache_source.hpp"
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

// ------------------------------------------------------------------ parts, streams, caches

// n LIBSVM lines of 3 classes and 1 to 5 pairs (zeros among the values), some CRLF, a comment
// and a blank line: long enough to be cut into parts and blocks in the middle of lines.
std::string libsvm_lines(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += std::to_string(i % 3);
    for (int j = 1; j <= 1 + i % 5; ++j)
      s += " " + std::to_string(j * (1 + i % 4)) + ":" + std::to_string(0.25 * (i % 7));
    s += i % 5 == 3 ? "\r\n" : "\n";
    if (i == 7) s += "# a comment\n\n";
  }
  return s;
}

// The first line (a header) and every step-th line after it: rows of every class of a table
// sorted by class.
Bytes every_nth_line(const Bytes& b, int step) {
  Bytes out, line;
  int n = 0;
  for (std::uint8_t c : b) {
    line.push_back(c);
    if (c != '\n') continue;
    if (n % step == 0) out.insert(out.end(), line.begin(), line.end());
    line.clear();
    ++n;
  }
  return out;
}

// n documents of 3 classes, one long, some CRLF.
std::string documents(int n) {
  const char* const classes[] = {"sports", "tech", "food"};
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += "__label__" + std::string(classes[i % 3]) + " word" + std::to_string(i % 11) +
         " and more Words";
    if (i == 4)
      for (int j = 0; j < 40; ++j) s += " w" + std::to_string(j % 13);
    s += i % 4 == 1 ? "\r\n" : "\n";
  }
  return s;
}

// fuzz_parts: the first byte is the format (mod 3: LIBSVM, text, CSV) and, divided by 3, the
// options (text: bit 0 n-grams, bits 1-3 hash bits - 4, bit 4 log weighting, bit 5 l2; CSV:
// bits 0-1 the separator, bit 2 the label column named "label").
void parts_seeds(const fs::path& data) {
  const auto format = [](int f, int options) { return static_cast<std::uint8_t>(f + 3 * options); };
  put("parts", "libsvm-small",
      with_option_byte(format(0, 0), text("+1 1:0.5 3:-2 # a comment\n"
                                          "-1 2:1e-3\n\n+1 1:1 2:2 3:3\n")));
  put("parts", "libsvm-classes",
      with_option_byte(format(0, 0), text("cat 4:1\ndog 1:2 2:0.25\r\nbird 3:7\nfish\n")));
  put("parts", "libsvm-binary", with_option_byte(format(0, 0), text("0 1:1 5:1 9:1\n1 2:1 4:1\n")));
  put("parts", "libsvm-lines", with_option_byte(format(0, 1), text(libsvm_lines(40))));
  put("parts", "text", with_option_byte(format(1, 0), text(documents(12))));
  put("parts", "text-log-l2", with_option_byte(format(1, 0x33), text(documents(30))));
  put("parts", "text-unlabelled-line",
      with_option_byte(format(1, 2), text("__label__a x y\nno label here\n__label__b z\n")));
  put("parts", "csv-iris",
      with_option_byte(format(2, 0), every_nth_line(file(data / "iris.csv"), 10)));
  put("parts", "csv-breast-cancer",
      with_option_byte(format(2, 0), every_nth_line(file(data / "breast_cancer.csv"), 40)));
  put("parts", "csv-named-label",
      with_option_byte(format(2, 4), text("label,x,y\nno,1,2\nyes,2,3\r\nno,3,4\nyes,4,5\n")));
  put("parts", "csv-semicolons",
      with_option_byte(format(2, 2), text("x;y;class\n1;2;0\n3;4;1\n5;6;0\n")));
  put("parts", "csv-quoted",
      with_option_byte(format(2, 0), text("\"a,1\",b,label\n1,2,x\n\"3\",4,\"y\"\n5,6,x\n")));
}

// fuzz_stream: the first byte is bit 0 the kind (1 text), bit 1 n-grams, bits 2-4 hash bits - 4,
// bit 5 log weighting (with bit 1, l2 too), bits 6-7 the block size (1, 13, 64, 1024 bytes).
void stream_seeds() {
  put("stream", "libsvm-block-1", with_option_byte(0x00, text(libsvm_lines(12))));
  put("stream", "libsvm-block-13", with_option_byte(0x40, text(libsvm_lines(30))));
  put("stream", "libsvm-block-64",
      with_option_byte(0x80, text("cat 4:1\ndog 1:2 2:0.25\r\nbird 3:7\nfish\n# end\n")));
  put("stream", "libsvm-binary-block-1024",
      with_option_byte(0xc0, text("0 1:1 5:1 9:1\n1 2:1 4:1\n1 3:1\n")));
  put("stream", "libsvm-wide", with_option_byte(0x40, text("1 4294967295:1\n0 1:2 70000:1\n")));
  put("stream", "text-block-13", with_option_byte(0x41, text(documents(12))));
  put("stream", "text-block-64", with_option_byte(0x87, text(documents(30))));
  put("stream", "text-log-l2-block-1024", with_option_byte(0xe3, text(documents(20))));
  put("stream", "text-block-1",
      with_option_byte(0x05, text("__label__a caf\xc3\xa9 M\xc3\x9cNCHEN\n\n__label__b x\n")));
}

// fuzz_cache: caches written by write_cache for the sources of cache_source.hpp (their keys),
// from data sets of several kinds and from streams, and one of a stale key.
void cache_seeds() {
  const fuzz::CacheSources sources = fuzz::cache_sources();
  const fs::path dir = out_dir / "cache";
  fs::create_directories(dir);
  const auto libsvm = [&](const std::string& name, std::string_view rows) {
    write_cache(dir / name, parse_libsvm(rows, name), sources.libsvm);
  };
  libsvm("libsvm-source", fuzz::kCacheLibsvmSource);
  libsvm("binary", "0 1:1 5:1 9:1\n1 2:1 4:1\n");
  libsvm("classes", "cat 4:1\ndog 1:2 2:0.25\r\nbird 3:7\nfish\n");
  libsvm("wide", "a 1:0.5 7:2\nb 3:1\nc\na 2:-1 4000000000:3\n");
  libsvm("lines", libsvm_lines(24));
  const TextOptions o = fuzz::cache_text_options();
  write_cache(dir / "text-source", parse_text(fuzz::kCacheTextSource, "text", o), sources.text);
  TextOptions valued = o;  // the same columns (the key's), values kept
  valued.weighting = TextOptions::Weighting::log_count;
  valued.l2_normalize = true;
  write_cache(dir / "text-log-l2", parse_text(documents(9), "text", valued), sources.text);
  // As --stream --cache writes them: from the stream of each source.
  {
    SparseFileStream s(sources.libsvm_file, SparseFileStream::Kind::libsvm, {}, 16);
    write_cache(dir / "libsvm-from-stream", s, sources.libsvm);
  }
  {
    SparseFileStream s(sources.text_file, SparseFileStream::Kind::text, o, 16);
    write_cache(dir / "text-from-stream", s, sources.text);
  }
  CacheKey stale = sources.libsvm;
  stale.source_mtime_ns += 1;
  write_cache(dir / "stale", parse_libsvm(fuzz::kCacheLibsvmSource, "stale"), stale);
}

// fuzz_model_meta: a model file, then a script of edits to its metadata (fuzz_model_meta.cpp).
Bytes meta_model(std::size_t inputs, std::size_t classes, Output output, const ModelInfo& info) {
  Rng rng(11);
  SoftmaxRegression m(inputs, classes, output);
  m.init(rng, 0.5f);
  return model_file_bytes(m, info);
}

// The key byte of an edit of `key`, present in the model's metadata: the keys present come
// first in the script's list, in their (std::map's) order.
std::uint8_t meta_key(const Bytes& model, const std::string& key) {
  const SafetensorsFile st = parse_safetensors(model, "seed");
  std::size_t i = 0;
  for (const auto& entry : st.metadata) {
    if (entry.first == key) return static_cast<std::uint8_t>(i);
    ++i;
  }
  throw std::logic_error("seeds: the model has no metadata key " + key);
}

// Edit 0: the value of `key` set to `value` (at most 255 bytes), taken from the script.
Bytes set_value(const Bytes& model, const std::string& key, const std::string& value) {
  Bytes b = {0, meta_key(model, key), static_cast<std::uint8_t>(value.size())};
  b.insert(b.end(), value.begin(), value.end());
  return b;
}

// Edit 7: weight and bias remade to the metadata's shape (no weight from the script).
const Bytes kRefit = {7, 0, 0};

Bytes cat(const Bytes& model, const std::vector<Bytes>& edits) {
  Bytes out = model;
  for (const Bytes& e : edits) out.insert(out.end(), e.begin(), e.end());
  return out;
}

void model_meta_seeds() {
  const Bytes images = model_bytes(4, 3, Output::softmax, false);
  put("model_meta", "images", images);
  put("model_meta", "images-one-row-shape",
      cat(images, {set_value(images, "input_shape", "[1,4]")}));
  put("model_meta", "images-more-classes-refit",
      cat(images, {set_value(images, "class_names", "[\"a\",\"b\",\"c\",\"d\",\"e\"]"),
                   set_value(images, "input_shape", "[3,3]"), kRefit}));
  put("model_meta", "images-tiny-scale", cat(images, {set_value(images, "input_scale", "1e-45")}));

  ModelInfo table;
  table.class_names = {"no", "yes"};
  table.input_shape = {3};
  table.input_mean = {0.5f, -1.0f, 2.0f};
  table.input_std = {1.0f, 0.25f, 3.0f};
  table.notes["feature_names"] = "[\"a\",\"b\",\"c\"]";
  table.notes["label_column"] = "label";
  const Bytes logistic = meta_model(3, 2, Output::logistic, table);
  put("model_meta", "table-logistic-feature-names", logistic);
  put("model_meta", "table-feature-names-too-few",
      cat(logistic, {set_value(logistic, "feature_names", "[\"a\",\"b\"]")}));
  put("model_meta", "table-softmax-refit",
      cat(logistic, {set_value(logistic, "output", "softmax"), kRefit}));

  ModelInfo rows;  // LIBSVM rows, scaled (mean 0), as sparse training standardises
  rows.class_names = {"bird", "cat", "dog"};
  rows.input_shape = {6};
  rows.input_mean.assign(6, 0.0f);
  rows.input_std = {1.0f, 2.0f, 0.5f, 4.0f, 1.0f, 3.0f};
  put("model_meta", "libsvm-scaled", meta_model(6, 3, Output::softmax, rows));

  TextOptions o;
  o.ngrams = 2;
  o.hash_bits = 6;
  ModelInfo words;
  words.class_names = {"sports", "tech"};
  words.input_shape = {64};
  words.notes["text_features"] = text_options_note(o);
  const Bytes text_model = meta_model(64, 2, Output::softmax, words);
  put("model_meta", "text", text_model);
  TextOptions eight = o;
  eight.hash_bits = 3;
  put("model_meta", "text-3-bits-refit",
      cat(text_model, {set_value(text_model, "text_features", text_options_note(eight)),
                       set_value(text_model, "input_shape", "[8]"), kRefit}));
  eight.hash_bits = 31;
  put("model_meta", "text-31-bits",
      cat(text_model, {set_value(text_model, "text_features", text_options_note(eight))}));

  // A text model with feature names too, scaled, log weights and l2, logistic.
  TextOptions l2;
  l2.ngrams = 1;
  l2.hash_bits = 3;
  l2.weighting = TextOptions::Weighting::log_count;
  l2.l2_normalize = true;
  ModelInfo named;
  named.class_names = {"ham", "spam"};
  named.input_shape = {8};
  named.input_mean.assign(8, 0.0f);
  named.input_std = {1.0f, 0.5f, 2.0f, 1.0f, 1.0f, 4.0f, 0.25f, 1.0f};
  named.notes["text_features"] = text_options_note(l2);
  named.notes["feature_names"] = "[\"f0\",\"f1\",\"f2\",\"f3\",\"f4\",\"f5\",\"f6\",\"f7\"]";
  const Bytes named_model = meta_model(8, 2, Output::logistic, named);
  put("model_meta", "text-feature-names", named_model);
  put("model_meta", "text-feature-names-centred",
      cat(named_model, {set_value(named_model, "input_mean", "[1,0,0,0,0,0,0,-1]")}));
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
  parts_seeds(SOFTREG_TEST_DATA);
  stream_seeds();
  cache_seeds();
  model_meta_seeds();
  return 0;
}
