// softreg's model files: safetensors (docs/formats.md) holding W, b and the metadata to use them.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <utility>

#include "file.hpp"
#include "softreg/error.hpp"
#include "softreg/io.hpp"
#include "softreg/safetensors.hpp"

#ifndef SOFTREG_VERSION
#define SOFTREG_VERSION "unknown"
#endif

namespace softreg {

namespace fs = std::filesystem;

using nlohmann::json;

namespace {

// The message as text: bytes of the file that are not UTF-8 written as \xNN.
[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw InputError(escaped_utf8(name + ": " + what));
}

// ------------------------------------------------------------------------------ numbers as text

// The shortest decimal text that reads back as exactly this float (std::to_chars' guarantee).
std::string float_text(float v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string float_list_text(std::span<const float> v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += ',';
    s += float_text(v[i]);
  }
  return s + "]";
}

// Reads all of `text` as a decimal number; false when it is not one.
bool parse_double(std::string_view text, double& v) {
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, v);
  return r.ec == std::errc() && r.ptr == end;
}

// One line of a JSON library message, without its "[json.exception.parse_error.101] " prefix.
std::string json_message(const std::exception& e) {
  std::string m = e.what();
  if (m.rfind("[json.exception.", 0) == 0) {
    const auto close = m.find("] ");
    if (close != std::string::npos) m.erase(0, close + 2);
  }
  std::replace(m.begin(), m.end(), '\n', ' ');
  return m;
}

// ------------------------------------------------------------------------------ floats as bytes

void put_le32(std::vector<std::uint8_t>& out, float v) {
  const auto bits = std::bit_cast<std::uint32_t>(v);
  for (int shift = 0; shift < 32; shift += 8)
    out.push_back(static_cast<std::uint8_t>(bits >> shift));
}

float get_le32(const std::uint8_t* p) {
  const std::uint32_t bits =
      static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
      static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
  return std::bit_cast<float>(bits);
}

// ------------------------------------------------------------------------------ metadata lists

const char* const kReservedKeys[] = {"format",      "format_version", "output",     "class_names",
                                     "input_shape", "input_scale",    "input_mean", "input_std"};

bool is_reserved(const std::string& key) {
  return std::find(std::begin(kReservedKeys), std::end(kReservedKeys), key) !=
         std::end(kReservedKeys);
}

// A flat JSON list of one kind of value (a metadata value such as class_names), read as events:
// a nested list or object, a value of another kind, or more than `most` items stop the reading,
// so a hostile value costs its items and nothing more.
class ListReader final : public nlohmann::json_sax<json> {
 public:
  enum class Kind { text, whole, number };
  ListReader(Kind kind, std::size_t most) : kind_(kind), most_(most) {}

  std::vector<std::string> texts;
  std::vector<std::uint64_t> wholes;
  std::vector<double> numbers;
  bool is_list = false;  // the value was a list (else `found` says what it was)
  std::string found;     // the first value of the wrong kind
  bool too_many = false;
  std::string json_error;  // a syntax error

  bool null() override { return other("null"); }
  bool boolean(bool) override { return other("true/false"); }
  bool number_integer(number_integer_t v) override {
    if (depth_ == 1 && kind_ == Kind::number) return add_number(static_cast<double>(v));
    return other(kind_ == Kind::text ? "a number" : std::to_string(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (depth_ == 1 && kind_ == Kind::whole) return count() && (wholes.push_back(v), true);
    if (depth_ == 1 && kind_ == Kind::number) return add_number(static_cast<double>(v));
    return other("a number");
  }
  bool number_float(number_float_t v, const string_t& text) override {
    if (depth_ == 1 && kind_ == Kind::number) return add_number(v);
    return other(kind_ == Kind::text ? "a number" : text);
  }
  bool string(string_t& s) override {
    if (depth_ == 1 && kind_ == Kind::text) return count() && (texts.push_back(std::move(s)), true);
    return other("text");
  }
  bool binary(binary_t&) override { return other("binary data"); }
  bool start_object(std::size_t) override { return other("an object"); }
  bool key(string_t&) override { return false; }
  bool end_object() override { return false; }
  bool start_array(std::size_t) override {
    if (depth_ != 0) return other("a list");
    depth_ = 1;
    is_list = true;
    return true;
  }
  bool end_array() override {
    depth_ = 0;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    json_error = json_message(e);
    return false;
  }

 private:
  bool other(const std::string& what) {
    found = what;
    return false;
  }
  bool count() {
    too_many = texts.size() + wholes.size() + numbers.size() >= most_;
    return !too_many;
  }
  bool add_number(double v) {
    if (!count()) return false;
    numbers.push_back(v);
    return true;
  }

  Kind kind_;
  std::size_t most_;
  int depth_ = 0;
};

// Reads `text` with `reader`; false when it is not a flat list of the reader's kind.
bool read_list(const std::string& text, ListReader& reader) {
  return json::sax_parse(text, &reader) && reader.is_list;
}

std::vector<std::string> names_from_text(const std::string& file, const std::string& text,
                                         std::size_t classes) {
  const std::string where = "__metadata__ class_names: ";
  // One more than the model has, to tell "too many" from "as many".
  ListReader r(ListReader::Kind::text, classes + 1);
  if (read_list(text, r)) return std::move(r.texts);
  if (!r.json_error.empty())
    fail(file, where + "expected a JSON list of names (" + r.json_error + ")");
  if (!r.is_list) fail(file, where + "expected a JSON list of names");
  if (!r.found.empty()) fail(file, where + "expected names (text) but found " + r.found);
  return std::move(r.texts);  // too many: the caller's count check says so
}

// A list of whole numbers > 0 kept as JSON text in a metadata value.
std::vector<std::size_t> shape_from_text(const std::string& file, const std::string& text) {
  const std::string where = "__metadata__ input_shape \"" + text.substr(0, 200) + "\": ";
  ListReader r(ListReader::Kind::whole, kMaxTensorRank);
  if (!read_list(text, r)) {
    if (!r.json_error.empty())
      fail(file, where + "expected a JSON list of sizes (" + r.json_error + ")");
    if (r.too_many)
      fail(file, where + "more than " + std::to_string(kMaxTensorRank) + " dimensions");
    if (!r.is_list) fail(file, where + "expected a non-empty JSON list of sizes");
    fail(file, where + "expected whole numbers > 0");
  }
  if (r.wholes.empty()) fail(file, where + "expected a non-empty JSON list of sizes");
  std::vector<std::size_t> shape;
  for (std::uint64_t d : r.wholes) {
    if (d == 0 || d > (std::uint64_t{1} << 40)) fail(file, where + "expected whole numbers > 0");
    shape.push_back(static_cast<std::size_t>(d));
  }
  return shape;
}

std::vector<float> floats_from_text(const std::string& file, const std::string& key,
                                    const std::string& text, std::size_t expected) {
  const std::string where = "__metadata__ " + key + ": ";
  ListReader r(ListReader::Kind::number, expected + 1);
  const bool ok = read_list(text, r);
  if (!r.json_error.empty())
    fail(file, where + "expected a JSON list of numbers (" + r.json_error + ")");
  if (!r.found.empty() && r.is_list) fail(file, where + "expected numbers but found " + r.found);
  if (!ok || r.numbers.size() != expected)
    fail(file, where + "expected a JSON list of " + std::to_string(expected) +
                   " numbers (one per input)");
  std::vector<float> v;
  v.reserve(expected);
  for (double x : r.numbers) {
    if (!(std::abs(x) <= static_cast<double>(std::numeric_limits<float>::max()))) {
      char buf[64];
      const auto e = std::to_chars(buf, buf + sizeof buf, x);
      fail(file, where + "value " + std::string(buf, e.ptr) + " is not a finite float");
    }
    v.push_back(static_cast<float>(x));
  }
  return v;
}

// Reads the tensor's little-endian floats into `out`, refusing NaN and infinity: nothing
// non-finite is ever a model (training stops when the loss diverges).
void finite_floats(const std::string& file, const SafetensorsTensor& t, std::span<float> out) {
  const std::size_t cols = t.shape.size() == 2 ? t.shape[1] : 1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = get_le32(t.data.data() + 4 * i);
    if (!std::isfinite(out[i]))
      fail(file, "tensor \"" + t.name + "\": value " + float_text(out[i]) + " at " +
                     (t.shape.size() == 2
                          ? "[" + std::to_string(i / cols) + ", " + std::to_string(i % cols) + "]"
                          : "[" + std::to_string(i) + "]") +
                     " is not finite: refusing a model that holds NaN or infinity");
  }
}

}  // namespace

// ------------------------------------------------------------------------------ model files

std::string shape_text(std::span<const std::size_t> shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

namespace {

// The notes that describe the inputs, checked against the model's D inputs: the text pipeline's
// 2^hash_bits columns and one feature name per input. `where` names the file (or the writer) in
// the messages; `fail` throws. The one check of a model's notes, made by the loader that every
// command and Python use, and by the writer.
void check_notes_fit_inputs(const ModelInfo& info, std::size_t d, const std::string& where,
                            const std::function<void(const std::string&)>& fail_with) {
  if (const std::optional<TextOptions> text = model_text_options(info.notes, where)) {
    const std::size_t columns = std::size_t{1} << text->hash_bits;
    if (info.input_shape != std::vector<std::size_t>{columns})
      fail_with("__metadata__ text_features: hash_bits " + std::to_string(text->hash_bits) +
                " means " + std::to_string(columns) + " inputs but the model has input_shape " +
                shape_text(info.input_shape) + " (weight: " + std::to_string(d) + " inputs)");
  }
  if (const auto it = info.notes.find("feature_names"); it != info.notes.end()) {
    json names;
    try {
      names = json::parse(it->second);
    } catch (const json::exception&) {
      fail_with("__metadata__ feature_names: expected a JSON list of names but it is not JSON");
    }
    if (!names.is_array() ||
        !std::all_of(names.begin(), names.end(), [](const json& n) { return n.is_string(); }))
      fail_with("__metadata__ feature_names: expected a JSON list of names");
    if (names.size() != d)
      fail_with("__metadata__ feature_names: " + std::to_string(names.size()) +
                " names but the model has " + std::to_string(d) + " inputs");
  }
}

}  // namespace

std::vector<std::uint8_t> model_file_bytes(const SoftmaxRegression& model, const ModelInfo& info) {
  // k rows of W: one per class for softmax, one for logistic regression (of class 1).
  const std::size_t k = model.outputs(), d = model.inputs();
  auto bad = [](const std::string& what) {
    throw std::invalid_argument("model_file_bytes: " + what);
  };
  if (k == 0 || d == 0) bad("empty model");
  if (info.class_names.size() != model.classes())
    bad(std::to_string(info.class_names.size()) + " class names for " +
        std::to_string(model.classes()) + " classes");
  std::size_t product = 1;
  for (std::size_t n : info.input_shape) product *= n;
  if (info.input_shape.empty() || product != d)
    bad("input shape " + shape_text(info.input_shape) + " for " + std::to_string(d) + " inputs");
  if (!std::isfinite(info.input_scale) || info.input_scale <= 0) bad("input scale not > 0");
  if (info.input_mean.size() != info.input_std.size() ||
      (!info.input_mean.empty() && info.input_mean.size() != d))
    bad("standardisation needs one mean and one std per input");
  for (std::size_t j = 0; j < info.input_mean.size(); ++j)
    if (!std::isfinite(info.input_mean[j]) || !std::isfinite(info.input_std[j]) ||
        info.input_std[j] <= 0)
      bad("standardisation of input " + std::to_string(j) + " is not finite with std > 0");
  check_notes_fit_inputs(info, d, "model_file_bytes", bad);
  for (float v : model.weight())
    if (!std::isfinite(v)) bad("the weights hold NaN or infinity");
  for (float v : model.bias())
    if (!std::isfinite(v)) bad("the biases hold NaN or infinity");

  std::vector<std::pair<std::string, std::string>> meta = {
      {"format", "softreg"},
      {"format_version", std::to_string(kModelFormatVersion)},
      {"output", model.output() == Output::logistic ? "logistic" : "softmax"},
      {"class_names", json(info.class_names).dump()},
      {"input_shape", json(info.input_shape).dump()},
      {"input_scale", float_text(info.input_scale)}};
  if (!info.input_mean.empty()) {
    meta.emplace_back("input_mean", float_list_text(info.input_mean));
    meta.emplace_back("input_std", float_list_text(info.input_std));
  }
  meta.emplace_back("created_by", std::string("softreg ") + SOFTREG_VERSION);
  for (const auto& [key, value] : info.notes) {
    if (is_reserved(key)) bad("note \"" + key + "\" uses a reserved key");
    if (key == "created_by")
      meta[meta.size() - 1].second = value;  // a note may say who made the model
    else
      meta.emplace_back(key, value);
  }

  // weight first, then bias: the order of nn.Linear's state_dict.
  std::vector<std::uint8_t> weight, bias;
  for (float v : model.weight()) put_le32(weight, v);
  for (float v : model.bias()) put_le32(bias, v);
  return safetensors_bytes(meta, {{"weight", "F32", {k, d}, weight}, {"bias", "F32", {k}, bias}});
}

SavedModel parse_model_file(std::span<const std::uint8_t> bytes, const std::string& file) {
  // 1. The container: header, tensor entries, byte ranges (safetensors.hpp lists the checks).
  if (bytes.empty()) fail(file, "empty file: expected a safetensors model");
  const SafetensorsFile st = parse_safetensors(bytes, file);

  // 2. weight [K, D] and bias [K], float32.
  auto find = [&](const char* name) -> const SafetensorsTensor& {
    if (const SafetensorsTensor* t = st.find(name)) return *t;
    fail(file, std::string("no tensor \"") + name +
                   "\": a softreg model holds \"weight\" [classes, inputs] and \"bias\" [classes]");
  };
  const SafetensorsTensor& w = find("weight");
  const SafetensorsTensor& b = find("bias");
  for (const SafetensorsTensor* t : {&w, &b})
    if (t->dtype != "F32")
      fail(file, "tensor \"" + t->name + "\": expected dtype F32 but found " + t->dtype);
  if (w.shape.size() != 2 || w.shape[0] == 0 || w.shape[1] == 0)
    fail(file, "tensor \"weight\": expected shape [classes, inputs] with both > 0 but found " +
                   json(w.shape).dump());
  const std::size_t k = w.shape[0], d = w.shape[1];
  if (b.shape != std::vector<std::size_t>{k})
    fail(file, "tensor \"bias\": expected shape [" + std::to_string(k) +
                   "] (one per class of weight " + json(w.shape).dump() + ") but found " +
                   json(b.shape).dump());
  if (k > kMaxClasses)
    fail(file, "tensor \"weight\": " + std::to_string(k) + " rows, more than the " +
                   std::to_string(kMaxClasses) + " classes softreg allows");

  // 3. The metadata: all text (safetensors' rule), ours, of our version, consistent with W.
  if (!st.has_metadata) fail(file, "no __metadata__: a safetensors file, but not a softreg model");
  const std::map<std::string, std::string>& m = st.metadata;
  auto need = [&](const std::string& key) -> const std::string& {
    const auto it = m.find(key);
    if (it == m.end()) fail(file, "__metadata__ has no \"" + key + "\"");
    return it->second;
  };
  if (need("format") != "softreg")
    fail(file, "__metadata__ format: expected \"softreg\" but found \"" + need("format") + "\"");
  const std::string& version = need("format_version");
  if (version != std::to_string(kModelFormatVersion))
    fail(file, "__metadata__ format_version: this softreg reads version " +
                   std::to_string(kModelFormatVersion) + " but found \"" + version +
                   "\" (a newer softreg wrote it?)");

  const std::string& output_text = need("output");
  if (output_text != "softmax" && output_text != "logistic")
    fail(file, "__metadata__ output: expected \"softmax\" or \"logistic\" but found \"" +
                   output_text + "\"");
  const Output output = output_text == "logistic" ? Output::logistic : Output::softmax;
  // Softmax: one row of W per class, at least two. Logistic: one row (class 1's), two classes.
  const std::size_t classes = output == Output::logistic ? 2 : k;
  if (output == Output::logistic && k != 1)
    fail(file, "tensor \"weight\": a logistic model has one row but found " + json(w.shape).dump());
  if (output == Output::softmax && k < 2)
    fail(file, "tensor \"weight\": a softmax model has a row per class, at least 2, but found " +
                   json(w.shape).dump());
  SavedModel saved;
  ModelInfo& info = saved.info;
  info.class_names = names_from_text(file, need("class_names"), classes);
  if (info.class_names.size() != classes)
    fail(file, "__metadata__ class_names: " +
                   (info.class_names.size() > classes ? "more"
                                                      : std::to_string(info.class_names.size())) +
                   " names but the model has " + std::to_string(classes) + " classes (" +
                   output_text + ", weight " + json(w.shape).dump() + ")");
  info.input_shape = shape_from_text(file, need("input_shape"));
  {
    std::size_t product = 1;
    for (std::size_t s : info.input_shape)
      product = s != 0 && product > std::numeric_limits<std::size_t>::max() / s ? 0 : product * s;
    if (product != d)
      fail(file, "__metadata__ input_shape " + shape_text(info.input_shape) + " but weight has " +
                     std::to_string(d) + " inputs");
  }
  {
    const std::string& text = need("input_scale");
    double scale = 0;
    if (!parse_double(text, scale) ||
        !(scale > 0 && scale <= static_cast<double>(std::numeric_limits<float>::max())) ||
        static_cast<float>(scale) <= 0)
      fail(file, "__metadata__ input_scale: expected a number > 0 but found \"" + text + "\"");
    info.input_scale = static_cast<float>(scale);
  }
  if (m.count("input_mean") != m.count("input_std"))
    fail(file, "__metadata__: input_mean and input_std come together, but only one is there");
  if (m.count("input_mean")) {
    info.input_mean = floats_from_text(file, "input_mean", m.at("input_mean"), d);
    info.input_std = floats_from_text(file, "input_std", m.at("input_std"), d);
    for (float s : info.input_std)
      if (s <= 0) fail(file, "__metadata__ input_std: expected every value > 0");
  }
  for (const auto& [key, value] : m)
    if (!is_reserved(key)) info.notes.emplace(key, value);
  check_notes_fit_inputs(info, d, file, [&](const std::string& what) { fail(file, what); });

  // 4. Only now the numbers.
  saved.model = SoftmaxRegression(d, classes, output);
  finite_floats(file, w, saved.model.weight());
  finite_floats(file, b, saved.model.bias());
  return saved;
}

void save_model(const fs::path& file, const SoftmaxRegression& model, const ModelInfo& info) {
  write_file_atomic(file, model_file_bytes(model, info));
}

SavedModel load_model(const fs::path& file) {
  // A model of 2^31 floats would be 8 GB: far beyond softmax regression; refuse before reading.
  const auto bytes = read_whole(file, std::uint64_t{1} << 33, "model file");
  return parse_model_file(bytes, file.string());
}

void check_model_fits(const fs::path& file, const SavedModel& saved, const Dataset& data) {
  const ModelInfo& info = saved.info;
  if (info.input_shape != data.shape)
    fail(file.string(), "the model expects inputs of shape " + shape_text(info.input_shape) +
                            " but " + data.source + " holds " + shape_text(data.shape));
  if (info.class_names.size() != data.classes())
    fail(file.string(), "the model has " + std::to_string(info.class_names.size()) +
                            " classes but " + data.source + " has " +
                            std::to_string(data.classes()));
}

Features model_features(const ModelInfo& info, const Dataset& data, std::vector<float>& buffer) {
  Features f = Features::of(data);
  f.scale = info.input_scale;
  if (info.input_mean.empty()) return f;
  const std::size_t d = data.inputs;
  if (f.sparse() && std::all_of(info.input_mean.begin(), info.input_mean.end(),
                                [](float m) { return m == 0.0f; })) {
    // Sparse training data was scaled, not centred: the stored values are divided, nothing else.
    const std::uint64_t nnz = f.offsets[data.rows];
    buffer.resize(nnz);
    for (std::uint64_t e = 0; e < nnz; ++e) buffer[e] = f.value(e) / info.input_std[f.cols[e]];
    f.vals = buffer.data();
    f.scale = 1.0f;
    return f;
  }
  buffer.resize(data.rows * d);
  if (f.sparse()) {
    // A standardised model came from a dense table (of at most kMaxCsvColumns features), and
    // centring fills every zero: the rows are made dense, the zeros standardised too.
    for (std::size_t i = 0; i < data.rows; ++i) {
      float* row = buffer.data() + i * d;
      std::fill(row, row + d, 0.0f);
      for (std::uint64_t e = f.offsets[i]; e < f.offsets[i + 1]; ++e) row[f.cols[e]] = f.value(e);
      for (std::size_t j = 0; j < d; ++j)
        row[j] = (row[j] - info.input_mean[j]) / info.input_std[j];
    }
  } else {
    for (std::size_t i = 0; i < data.rows; ++i)
      for (std::size_t j = 0; j < d; ++j) {
        const float v = f.bytes ? static_cast<float>(f.bytes[i * d + j]) : f.floats[i * d + j];
        buffer[i * d + j] = (v * info.input_scale - info.input_mean[j]) / info.input_std[j];
      }
  }
  Features s;
  s.floats = buffer.data();
  s.inputs = d;
  s.scale = 1.0f;
  return s;
}

}  // namespace softreg
