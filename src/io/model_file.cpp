// softreg's model files: safetensors (docs/formats.md) holding W, b and the metadata to use them.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <utility>

#include "file.hpp"
#include "softreg/error.hpp"
#include "softreg/io.hpp"

#ifndef SOFTREG_VERSION
#define SOFTREG_VERSION "unknown"
#endif

namespace softreg {

namespace fs = std::filesystem;

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw InputError(name + ": " + what);
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

std::string json_type(const json& j) {
  if (j.is_number()) return "a number";
  if (j.is_string()) return "text";
  if (j.is_array()) return "a list";
  if (j.is_object()) return "an object";
  if (j.is_boolean()) return "true/false";
  return "null";
}

// ------------------------------------------------------------------------------ safetensors

constexpr std::uint64_t kMaxHeader = 100'000'000;  // the safetensors reference's limit

const char* const kReservedKeys[] = {"format",      "format_version", "output",     "class_names",
                                     "input_shape", "input_scale",    "input_mean", "input_std"};

bool is_reserved(const std::string& key) {
  return std::find(std::begin(kReservedKeys), std::end(kReservedKeys), key) !=
         std::end(kReservedKeys);
}

// Bytes per element of the dtypes the safetensors format defines.
std::size_t dtype_size(const std::string& dtype) {
  static const std::pair<const char*, std::size_t> sizes[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
  for (const auto& [name, size] : sizes)
    if (dtype == name) return size;
  return 0;
}

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

struct TensorEntry {
  std::string name;
  std::string dtype;
  std::vector<std::size_t> shape;
  std::uint64_t begin = 0, end = 0;  // relative to the data section
};

// Validates one tensor's entry of the header: dtype, shape and byte range inside the data section.
TensorEntry tensor_entry(const std::string& file, const std::string& name, const json& j,
                         std::uint64_t data_size) {
  const std::string where = "tensor \"" + name + "\": ";
  if (!j.is_object()) fail(file, where + "expected an object but found " + json_type(j));
  for (const auto& [key, value] : j.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      fail(file,
           where + "unexpected field \"" + key + "\" (expected only dtype, shape, data_offsets)");
  TensorEntry t;
  t.name = name;
  const auto dtype = j.find("dtype");
  if (dtype == j.end() || !dtype->is_string()) fail(file, where + "no dtype (expected text)");
  t.dtype = dtype->get<std::string>();
  const std::size_t elem = dtype_size(t.dtype);
  if (elem == 0) fail(file, where + "unknown dtype \"" + t.dtype + "\"");

  const auto shape = j.find("shape");
  if (shape == j.end() || !shape->is_array())
    fail(file, where + "no shape (expected a list of sizes)");
  std::uint64_t elements = 1;
  bool too_big = false;
  for (const json& d : *shape) {
    if (!d.is_number_unsigned())
      fail(file, where + "shape " + shape->dump() + ": expected non-negative whole numbers");
    const auto n = d.get<std::uint64_t>();
    t.shape.push_back(static_cast<std::size_t>(n));
    // Compare before multiplying so that a hostile shape cannot overflow the count.
    if (n != 0 && elements > data_size / n)
      too_big = true;
    else
      elements *= n;
  }

  const auto offsets = j.find("data_offsets");
  if (offsets == j.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
    fail(file, where + "data_offsets " + (offsets == j.end() ? "missing" : offsets->dump()) +
                   ": expected [begin, end], two non-negative whole numbers");
  t.begin = (*offsets)[0].get<std::uint64_t>();
  t.end = (*offsets)[1].get<std::uint64_t>();
  const std::string range =
      "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
  if (t.begin > t.end) fail(file, where + range + ": begin is past end");
  if (t.end > data_size)
    fail(file, where + range + " run past the end of the data section (" +
                   std::to_string(data_size) + " bytes): truncated file or bad offsets");
  const std::uint64_t bytes = t.end - t.begin;
  if (too_big || bytes / elem < elements || bytes != elements * elem)
    fail(file, where + range + " hold " + std::to_string(bytes) + " bytes but shape " +
                   shape->dump() + " of " + t.dtype + " needs " +
                   (too_big ? "more than the file holds" : std::to_string(elements * elem)));
  return t;
}

// A list of whole numbers > 0 kept as JSON text in a metadata value.
std::vector<std::size_t> shape_from_text(const std::string& file, const std::string& text) {
  const std::string where = "__metadata__ input_shape \"" + text + "\": ";
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(file, where + "expected a JSON list of sizes (" + json_message(e) + ")");
  }
  if (!j.is_array() || j.empty()) fail(file, where + "expected a non-empty JSON list of sizes");
  std::vector<std::size_t> shape;
  for (const json& d : j) {
    if (!d.is_number_unsigned() || d.get<std::uint64_t>() == 0 ||
        d.get<std::uint64_t>() > (std::uint64_t{1} << 40))
      fail(file, where + "expected whole numbers > 0");
    shape.push_back(static_cast<std::size_t>(d.get<std::uint64_t>()));
  }
  return shape;
}

std::vector<float> floats_from_text(const std::string& file, const std::string& key,
                                    const std::string& text, std::size_t expected) {
  const std::string where = "__metadata__ " + key + ": ";
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(file, where + "expected a JSON list of numbers (" + json_message(e) + ")");
  }
  if (!j.is_array() || j.size() != expected)
    fail(file, where + "expected a JSON list of " + std::to_string(expected) +
                   " numbers (one per input)");
  std::vector<float> v;
  for (const json& x : j) {
    if (!x.is_number()) fail(file, where + "expected numbers but found " + json_type(x));
    const auto f = static_cast<float>(x.get<double>());
    if (!std::isfinite(f)) fail(file, where + "value " + x.dump() + " is not a finite float");
    v.push_back(f);
  }
  return v;
}

// Reads `count` little-endian floats at `p`, refusing NaN and infinity: nothing non-finite is
// ever a model (training stops when the loss diverges).
std::vector<float> finite_floats(const std::string& file, const TensorEntry& t,
                                 const std::uint8_t* p, std::size_t count, std::size_t cols) {
  std::vector<float> v(count);
  for (std::size_t i = 0; i < count; ++i) {
    v[i] = get_le32(p + 4 * i);
    if (!std::isfinite(v[i]))
      fail(file, "tensor \"" + t.name + "\": value " + float_text(v[i]) + " at " +
                     (t.shape.size() == 2
                          ? "[" + std::to_string(i / cols) + ", " + std::to_string(i % cols) + "]"
                          : "[" + std::to_string(i) + "]") +
                     " is not finite: refusing a model that holds NaN or infinity");
  }
  return v;
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
  for (float v : model.weight())
    if (!std::isfinite(v)) bad("the weights hold NaN or infinity");
  for (float v : model.bias())
    if (!std::isfinite(v)) bad("the biases hold NaN or infinity");

  nlohmann::ordered_json meta;
  meta["format"] = "softreg";
  meta["format_version"] = std::to_string(kModelFormatVersion);
  meta["output"] = model.output() == Output::logistic ? "logistic" : "softmax";
  meta["class_names"] = json(info.class_names).dump();
  meta["input_shape"] = json(info.input_shape).dump();
  meta["input_scale"] = float_text(info.input_scale);
  if (!info.input_mean.empty()) {
    meta["input_mean"] = float_list_text(info.input_mean);
    meta["input_std"] = float_list_text(info.input_std);
  }
  meta["created_by"] = std::string("softreg ") + SOFTREG_VERSION;
  for (const auto& [key, value] : info.notes) {
    if (is_reserved(key)) bad("note \"" + key + "\" uses a reserved key");
    meta[key] = value;
  }

  // weight first, then bias: the order of nn.Linear's state_dict.
  const std::uint64_t weight_bytes = 4 * std::uint64_t{k} * d, bias_bytes = 4 * std::uint64_t{k};
  nlohmann::ordered_json header;
  header["__metadata__"] = meta;
  header["weight"] = {{"dtype", "F32"}, {"shape", {k, d}}, {"data_offsets", {0, weight_bytes}}};
  header["bias"] = {{"dtype", "F32"},
                    {"shape", {k}},
                    {"data_offsets", {weight_bytes, weight_bytes + bias_bytes}}};
  std::string text = header.dump();
  // Spaces up to a multiple of 8 bytes, so the data section starts 8-byte aligned (as the
  // safetensors reference writes it).
  text.resize((text.size() + 7) / 8 * 8, ' ');

  std::vector<std::uint8_t> out;
  out.reserve(8 + text.size() + weight_bytes + bias_bytes);
  for (int shift = 0; shift < 64; shift += 8)
    out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> shift));
  out.insert(out.end(), text.begin(), text.end());
  for (float v : model.weight()) put_le32(out, v);
  for (float v : model.bias()) put_le32(out, v);
  return out;
}

SavedModel parse_model_file(std::span<const std::uint8_t> bytes, const std::string& file) {
  // 1. The header length, then the header, both inside the file.
  if (bytes.empty()) fail(file, "empty file: expected a safetensors model");
  if (bytes.size() < 8)
    fail(file,
         "file too short: expected at least 8 bytes (the safetensors header length) but "
         "found " +
             std::to_string(bytes.size()));
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | bytes[static_cast<std::size_t>(i)];
  if (n > bytes.size() - 8)
    fail(file, "header length " + std::to_string(n) +
                   " (the first 8 bytes) runs past the end of "
                   "the file, which holds " +
                   std::to_string(bytes.size() - 8) +
                   " bytes after them: truncated, or not a safetensors file");
  if (n > kMaxHeader)
    fail(file, "header length " + std::to_string(n) + " is more than the " +
                   std::to_string(kMaxHeader) + " bytes safetensors allows");
  const auto header_text = bytes.subspan(8, static_cast<std::size_t>(n));
  if (header_text.empty() || header_text[0] != '{')
    fail(file, "expected the header to be a JSON object starting with '{'");
  const auto data = bytes.subspan(8 + static_cast<std::size_t>(n));

  // 2. The JSON.
  // A key given twice in one object is refused: readers disagree on which of the two counts
  // (nlohmann keeps the last), so such a file could mean one model here and another elsewhere.
  json header;
  std::vector<std::set<std::string>> keys;  // the keys seen in each open object
  std::string duplicate;
  const json::parser_callback_t check_keys = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    if (event == json::parse_event_t::key && !keys.empty() && duplicate.empty() &&
        !keys.back().insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  try {
    header = json::parse(header_text.begin(), header_text.end(), check_keys);
  } catch (const json::exception& e) {
    fail(file, "invalid JSON in the header: " + json_message(e));
  }
  if (!duplicate.empty())
    fail(file, "invalid header: the key '" + duplicate + "' appears twice in one JSON object");
  if (!header.is_object()) fail(file, "expected the header to be a JSON object");

  // 3. Every tensor's entry, and their byte ranges: inside the data section, not overlapping,
  // covering it without holes (the safetensors rule).
  std::vector<TensorEntry> tensors;
  const json* meta = nullptr;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__")
      meta = &value;
    else
      tensors.push_back(tensor_entry(file, key, value, data.size()));
  }
  std::vector<const TensorEntry*> by_offset;
  for (const auto& t : tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < by_offset.size(); ++i) {
    const TensorEntry& t = *by_offset[i];
    if (t.begin < covered)
      fail(file, "tensors \"" + by_offset[i - 1]->name + "\" and \"" + t.name +
                     "\" overlap: bytes " + std::to_string(t.begin) + " to " +
                     std::to_string(std::min(covered, t.end)) +
                     " of the data section belong "
                     "to both");
    if (t.begin > covered)
      fail(file, "bytes " + std::to_string(covered) + " to " + std::to_string(t.begin) +
                     " of the data section belong to no tensor");
    covered = t.end;
  }
  if (covered != data.size())
    fail(file, "the data section holds " + std::to_string(data.size()) +
                   " bytes but the tensors use " + std::to_string(covered));

  // 4. weight [K, D] and bias [K], float32.
  auto find = [&](const char* name) -> const TensorEntry& {
    for (const auto& t : tensors)
      if (t.name == name) return t;
    fail(file, std::string("no tensor \"") + name +
                   "\": a softreg model holds \"weight\" [classes, inputs] and \"bias\" [classes]");
  };
  const TensorEntry& w = find("weight");
  const TensorEntry& b = find("bias");
  for (const TensorEntry* t : {&w, &b})
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

  // 5. The metadata: all text (safetensors' rule), ours, of our version, consistent with W.
  if (meta == nullptr) fail(file, "no __metadata__: a safetensors file, but not a softreg model");
  if (!meta->is_object())
    fail(file, "__metadata__: expected an object but found " + json_type(*meta));
  std::map<std::string, std::string> m;
  for (const auto& [key, value] : meta->items()) {
    if (!value.is_string())
      fail(file, "__metadata__ \"" + key +
                     "\": expected text (safetensors metadata values are "
                     "strings) but found " +
                     json_type(value));
    m[key] = value.get<std::string>();
  }
  auto need = [&](const std::string& key) -> const std::string& {
    const auto it = m.find(key);
    if (it == m.end()) fail(file, "__metadata__ has no \"" + key + "\"");
    return it->second;
  };
  if (need("format") != "softreg")
    fail(file, "__metadata__ format: expected \"softreg\" but found \"" + m["format"] + "\"");
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
  {
    const std::string& text = need("class_names");
    json names;
    try {
      names = json::parse(text);
    } catch (const json::exception& e) {
      fail(file,
           "__metadata__ class_names: expected a JSON list of names (" + json_message(e) + ")");
    }
    if (!names.is_array()) fail(file, "__metadata__ class_names: expected a JSON list of names");
    for (const json& name : names) {
      if (!name.is_string())
        fail(file, "__metadata__ class_names: expected names (text) but found " + json_type(name));
      info.class_names.push_back(name.get<std::string>());
    }
    if (info.class_names.size() != classes)
      fail(file, "__metadata__ class_names: " + std::to_string(info.class_names.size()) +
                     " names but the model has " + std::to_string(classes) + " classes (" +
                     output_text + ", weight " + json(w.shape).dump() + ")");
  }
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
    if (!parse_double(text, scale) || !std::isfinite(static_cast<float>(scale)) ||
        static_cast<float>(scale) <= 0)
      fail(file, "__metadata__ input_scale: expected a number > 0 but found \"" + text + "\"");
    info.input_scale = static_cast<float>(scale);
  }
  if (m.count("input_mean") != m.count("input_std"))
    fail(file, "__metadata__: input_mean and input_std come together, but only one is there");
  if (m.count("input_mean")) {
    info.input_mean = floats_from_text(file, "input_mean", m["input_mean"], d);
    info.input_std = floats_from_text(file, "input_std", m["input_std"], d);
    for (float s : info.input_std)
      if (s <= 0) fail(file, "__metadata__ input_std: expected every value > 0");
  }
  for (auto& [key, value] : m)
    if (!is_reserved(key)) info.notes.emplace(key, std::move(value));

  // 6. Only now the numbers.
  saved.model = SoftmaxRegression(d, classes, output);
  const auto wv = finite_floats(file, w, data.data() + w.begin, k * d, d);
  const auto bv = finite_floats(file, b, data.data() + b.begin, k, 1);
  std::copy(wv.begin(), wv.end(), saved.model.weight().begin());
  std::copy(bv.begin(), bv.end(), saved.model.bias().begin());
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
  buffer.resize(data.rows * d);
  for (std::size_t i = 0; i < data.rows; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      const float v = f.bytes ? static_cast<float>(f.bytes[i * d + j]) : f.floats[i * d + j];
      buffer[i * d + j] = (v * info.input_scale - info.input_mean[j]) / info.input_std[j];
    }
  Features s;
  s.floats = buffer.data();
  s.inputs = d;
  s.scale = 1.0f;
  return s;
}

}  // namespace softreg
