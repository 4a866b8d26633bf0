// Model files whose metadata is edited as JSON, then used as predict and eval use a model. The
// input is a model file (a safetensors file, its length read from its header) followed by a
// script of edits to the values of its __metadata__; the seeds are real models written by
// model_file_bytes (images, a standardised table with feature names, LIBSVM rows, text models,
// one with feature_names too) with short scripts. Each edit is an op byte, a key byte (one of the
// keys present, or of the keys softreg reads) and the op's bytes:
//   0 the value set to text from the script     4 a JSON edit inside the value: a number, text,
//   1 the key removed                             a longer list or object, an item removed, lists
//   2 the value set to a number, as text          nested around it, a value of another type
//   3 the value set to a whole JSON value         5 the value set to a long list (names, ones, ...)
//   6 the value copied from another key           7 weight and bias remade to the shape the
//                                                   metadata gives (inputs from input_shape, rows
//                                                   from class_names and output), one weight from
//                                                   the script
// The file is then written again by safetensors_bytes with the edited metadata (an edit that is
// not UTF-8, which JSON cannot hold, is skipped), and read by parse_model_file; a model it reads
// is used as predict and eval use one: model_text_options, and for a text model parse_text of
// short documents, else rows of floats (CSV), bytes (IDX), sparse rows (LIBSVM) and, for a 2-D
// input shape, an image made ready by image_for_model (PNG); model_features, logits, evaluate,
// confusion_matrix and the probabilities (softmax, or sigmoid for a logistic model), on a
// ThreadPool of one thread.
// Properties: no crash and no sanitizer report; a text model's 2^hash_bits columns are its
// inputs; the logits have the model's shape and, wherever the features and weights cannot
// overflow (Σ |w x| + |b| < 10^30), are finite and W x + b (to float rounding); predictions are
// classes; finite logits give probabilities in [0, 1] that sum to 1; and a model that loads can
// be saved again by model_file_bytes, and that file loads.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fuzz.hpp"
#include "softreg/data.hpp"
#include "softreg/io.hpp"
#include "softreg/kernel.hpp"
#include "softreg/metrics.hpp"
#include "softreg/ops.hpp"
#include "softreg/parallel.hpp"
#include "softreg/safetensors.hpp"

using namespace softreg;
using Json = nlohmann::ordered_json;

namespace {

// The script's bytes, read in order; 0 once they are used up.
class Script {
 public:
  explicit Script(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  bool done() const { return at_ >= bytes_.size(); }
  std::uint8_t byte() { return at_ < bytes_.size() ? bytes_[at_++] : 0; }
  // The next n bytes (fewer at the end) as text.
  std::string text(std::size_t n) {
    n = std::min(n, bytes_.size() - at_);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + at_), n);
    at_ += n;
    return s;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t at_ = 0;
};

// The keys softreg reads or writes in a model's metadata (io.hpp, docs/formats.md).
// clang-format off
const char* const kKeys[] = {
    "format", "format_version", "output", "class_names", "input_shape", "input_scale",
    "input_mean", "input_std", "text_features", "feature_names", "label_column", "created_by",
    "sample_weight_column", "training_options", "test_accuracy"};

// Numbers as text, at the edges of what the metadata's readers accept.
const char* const kNumbers[] = {
    "0", "-0", "1", "2", "3", "-1", "31", "32", "33", "63", "64", "255", "256", "65536", "65537",
    "4294967295", "4294967296", "1099511627776", "1099511627777", "9007199254740993",
    "18446744073709551615", "18446744073709551616", "1e999", "-1e999", "1e-45", "1.4e-45",
    "1e-46", "3.4028235e38", "3.4028236e38", "3.5e38", "1e308", "nan", "inf", "-inf", "0.5",
    "1.5", "0x10", "1e2", " 1", "1 ", "+1", "01", "", "0.00392156885"};

// Whole values: the metadata's vocabulary, small lists of each kind, text features.
const char* const kValues[] = {
    "softreg", "softmax", "logistic", "1", "2", "[]", "{}", "[0]", "[1]", "[1,1]", "[2,2]", "[4]",
    "[1,4]", "[4,1]", "[2,2,1]", "[\"a\"]", "[\"a\",\"a\"]", "[\"\",\"b\"]",
    "[\"a\",\"b\",\"c\"]", "[null]", "[[1]]", "[1.5]", "[-1]", "[1e999]", "[0.5,0.5,0.5,0.5]",
    "null", "true", "\"x\"", "(last column)",
    "{\"tokenizer\":\"softreg-words-1\",\"ngrams\":1,\"hash\":\"xxh3_64\",\"seed\":0,"
    "\"hash_bits\":2,\"weighting\":\"binary\",\"norm\":\"none\"}",
    "{\"tokenizer\":\"softreg-words-1\",\"ngrams\":5,\"hash\":\"xxh3_64\",\"seed\":"
    "18446744073709551615,\"hash_bits\":31,\"weighting\":\"log\",\"norm\":\"l2\"}",
    "{\"tokenizer\":\"softreg-words-1\",\"ngrams\":2,\"hash\":\"xxh3_64\",\"seed\":0,"
    "\"hash_bits\":32,\"weighting\":\"binary\",\"norm\":\"none\"}",
    "{\"tokenizer\":\"softreg-words-2\",\"ngrams\":2,\"hash\":\"xxh3_64\",\"seed\":0,"
    "\"hash_bits\":4,\"weighting\":\"binary\",\"norm\":\"none\"}"};
// clang-format on

// Lengths of the long lists.
const std::size_t kCounts[] = {0, 1, 2, 3, 4, 5, 8, 16, 31, 32, 33, 64, 255, 256, 1024, 4097};

Json scalar(Script& s) {
  switch (s.byte() % 12) {
    case 0:
      return Json(std::int64_t{0});
    case 1:
      return Json(std::int64_t{-1});
    case 2:
      return Json(std::uint64_t{1});
    case 3:
      return Json(std::uint64_t{31});
    case 4:
      return Json(std::uint64_t{32});
    case 5:
      return Json(std::uint64_t{1} << 40);
    case 6:
      return Json(std::numeric_limits<std::uint64_t>::max());
    case 7:
      return Json(std::numeric_limits<std::int64_t>::min());
    case 8:
      return Json(0.5);
    case 9:
      return Json(1e300);
    case 10:
      return Json(nullptr);
    default:
      return Json(s.text(s.byte() % 16));
  }
}

// Brackets and braces in `text`: more than its nesting, so a bound on it (dump() recurses).
std::size_t openings(const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return c == '[' || c == '{'; }));
}

// The value with one edit inside it, as JSON (or as the text it was, when it was text that is
// not JSON and still is text).
std::string json_edit(const std::string& value, Script& s) {
  Json j;
  bool was_json = false;
  if (openings(value) <= 512) {
    j = Json::parse(value, nullptr, /*allow_exceptions=*/false);
    was_json = !j.is_discarded();
  }
  if (!was_json) j = Json(value);
  // Where: the value itself, or an item or member one or two levels down.
  Json* at = &j;
  for (int depth = s.byte() % 3; depth > 0; --depth) {
    const std::size_t i = s.byte();
    if (at->is_array() && !at->empty()) {
      at = &(*at)[i % at->size()];
    } else if (at->is_object() && !at->empty()) {
      auto it = at->begin();
      std::advance(it, static_cast<std::ptrdiff_t>(i % at->size()));
      at = &it.value();
    } else {
      break;
    }
  }
  switch (s.byte() % 6) {
    case 0:
      *at = scalar(s);
      break;
    case 1:
      *at = Json(s.text(s.byte()));
      break;
    case 2: {  // longer: a member more, or more copies of the last item
      // Copies of at most 256 KB in all (an item is at most the value), none of a value that
      // large already: the values stay small enough to be read 32 edits later.
      const std::size_t budget = std::size_t{1} << 18;
      const std::size_t n = std::min(kCounts[s.byte() % std::size(kCounts)],
                                     value.size() >= budget ? 0 : budget / (1 + value.size()));
      if (at->is_object()) {
        const std::string key = s.text(s.byte() % 16);
        (*at)[key] = scalar(s);
      } else {
        if (!at->is_array()) *at = Json::array({*at});
        const Json item = at->empty() ? Json(std::uint64_t{1}) : at->back();
        for (std::size_t k = 0; k < n && at->size() < 5000; ++k) at->push_back(item);
      }
      break;
    }
    case 3:  // shorter: an item or a member removed
      if (at->is_array() && !at->empty()) {
        at->erase(static_cast<std::size_t>(s.byte()) % at->size());
      } else if (at->is_object() && !at->empty()) {
        auto it = at->begin();
        std::advance(it, static_cast<std::ptrdiff_t>(s.byte() % at->size()));
        at->erase(it);
      } else {
        *at = Json::array();
      }
      break;
    case 4: {  // lists nested around it
      const int n = 1 + s.byte() % 64;
      for (int k = 0; k < n; ++k) *at = Json::array({*at});
      break;
    }
    default:  // another type: text as a number, a number as text, containers emptied
      if (at->is_string()) {
        const Json number =
            Json::parse(at->get<std::string>(), nullptr, /*allow_exceptions=*/false);
        *at = number.is_discarded() ? Json(std::uint64_t{0}) : number;
      } else if (at->is_number()) {
        *at = Json(at->dump());
      } else if (at->is_array()) {
        *at = Json::object();
      } else {
        *at = Json::array();
      }
      break;
  }
  if (!was_json && j.is_string()) return j.get<std::string>();
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string long_list(Script& s) {
  const std::size_t n = kCounts[s.byte() % std::size(kCounts)];
  const int kind = s.byte() % 4;
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    switch (kind) {
      case 0:  // distinct names
        out += "\"c" + std::to_string(i) + "\"";
        break;
      case 1:  // one name, repeated
        out += "\"a\"";
        break;
      case 2:  // a shape of ones
        out += "1";
        break;
      default:  // 0, 1, 2, ...: a 0 in a shape, means that differ
        out += std::to_string(i);
        break;
    }
  }
  return out + "]";
}

// The file's tensors, and the bytes of those the script made (a list: they never move).
struct Tensors {
  std::vector<TensorBytes> list;
  std::list<std::vector<std::uint8_t>> made;

  void put(const std::string& name, std::vector<std::size_t> shape, const std::vector<float>& v) {
    std::vector<std::uint8_t>& bytes = made.emplace_back();
    for (const float x : v) {
      const auto bits = std::bit_cast<std::uint32_t>(x);
      for (int shift = 0; shift < 32; shift += 8)
        bytes.push_back(static_cast<std::uint8_t>(bits >> shift));
    }
    const TensorBytes t{name, "F32", std::move(shape), bytes};
    const auto it = std::find_if(list.begin(), list.end(),
                                 [&](const TensorBytes& u) { return u.name == name; });
    if (it != list.end())
      *it = t;
    else
      list.push_back(t);
  }
};

// weight [rows, d] and bias [rows] remade to the shape the metadata gives, where it gives one
// that is small enough: d from input_shape, rows 1 for a logistic model, else one per class name.
void refit(const std::map<std::string, std::string>& meta, Tensors& tensors, Script& s) {
  std::size_t rows = 0, d = 0;
  for (const TensorBytes& t : tensors.list)
    if (t.name == "weight" && t.shape.size() == 2) {
      rows = t.shape[0];
      d = t.shape[1];
    }
  const auto output = meta.find("output");
  if (output != meta.end() && output->second == "logistic") {
    rows = 1;
  } else if (const auto names = meta.find("class_names"); names != meta.end()) {
    if (openings(names->second) <= 512) {
      const Json j = Json::parse(names->second, nullptr, /*allow_exceptions=*/false);
      if (j.is_array() && !j.empty() && j.size() <= 256) rows = j.size();
    }
  }
  if (const auto shape = meta.find("input_shape"); shape != meta.end()) {
    if (openings(shape->second) <= 512) {
      const Json j = Json::parse(shape->second, nullptr, /*allow_exceptions=*/false);
      if (j.is_array() && !j.empty()) {
        std::uint64_t product = 1;
        for (const Json& n : j) {
          if (!n.is_number_unsigned() || n.get<std::uint64_t>() == 0 ||
              n.get<std::uint64_t>() > (1u << 14)) {
            product = 0;
            break;
          }
          product *= n.get<std::uint64_t>();
          if (product > (1u << 14)) {
            product = 0;
            break;
          }
        }
        if (product != 0) d = static_cast<std::size_t>(product);
      }
    }
  }
  if (rows == 0 || d == 0 || rows * d > (std::size_t{1} << 16)) return;
  std::vector<float> w(rows * d), b(rows);
  for (std::size_t i = 0; i < w.size(); ++i) {
    const std::uint32_t h = static_cast<std::uint32_t>(i) * 2654435761u;
    w[i] = (static_cast<float>(h % 2001u) - 1000.0f) / 1000.0f;
  }
  for (std::size_t k = 0; k < rows; ++k) b[k] = 0.25f * static_cast<float>(k % 5) - 0.5f;
  if ((s.byte() & 1) != 0) {  // one weight from the script: any float, NaN and huge ones too
    const std::size_t high = s.byte();
    const std::size_t at = (high << 8 | s.byte()) % w.size();
    std::uint32_t bits = 0;
    for (int shift = 0; shift < 32; shift += 8) bits |= std::uint32_t{s.byte()} << shift;
    w[at] = std::bit_cast<float>(bits);
  }
  tensors.put("weight", {rows, d}, w);
  tensors.put("bias", {rows}, b);
}

// The length of the safetensors file at the start of `bytes`: 8 bytes, the header, and the data
// up to the end of the tensor that ends last; 0 when the header does not say.
std::size_t model_length(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 8) return 0;
  std::uint64_t n = 0;
  for (int b = 0; b < 8; ++b) n |= std::uint64_t{bytes[static_cast<std::size_t>(b)]} << (8 * b);
  if (n > bytes.size() - 8) return 0;
  const Json h = Json::parse(bytes.data() + 8, bytes.data() + 8 + n, nullptr,
                             /*allow_exceptions=*/false);
  if (h.is_discarded() || !h.is_object()) return 0;
  std::uint64_t end = 0;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__" || !it.value().is_object()) continue;
    const auto offsets = it.value().find("data_offsets");
    if (offsets == it.value().end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[1].is_number_unsigned())
      continue;
    end = std::max(end, (*offsets)[1].get<std::uint64_t>());
  }
  if (end > bytes.size() - 8 - n) return 0;
  return static_cast<std::size_t>(8 + n + end);
}

// Applies the script's edits (at most 32) to the metadata and the tensors.
void edit(std::map<std::string, std::string>& meta, Tensors& tensors, Script& s) {
  for (int edits = 0; edits < 32 && !s.done(); ++edits) {
    const std::uint8_t op = s.byte();
    std::vector<std::string> keys;
    for (const auto& [key, value] : meta) keys.push_back(key);
    for (const char* key : kKeys)
      if (meta.count(key) == 0) keys.emplace_back(key);
    const std::string key = keys[s.byte() % keys.size()];
    switch (op % 8) {
      case 0:
        meta[key] = s.text(s.byte());
        break;
      case 1:
        meta.erase(key);
        break;
      case 2:
        meta[key] = kNumbers[s.byte() % std::size(kNumbers)];
        break;
      case 3:
        meta[key] = kValues[s.byte() % std::size(kValues)];
        break;
      case 4: {
        const auto it = meta.find(key);
        meta[key] = json_edit(it == meta.end() ? std::string() : it->second, s);
        break;
      }
      case 5:
        meta[key] = long_list(s);
        break;
      case 6: {
        const std::string& from = keys[s.byte() % keys.size()];
        const auto it = meta.find(from);
        if (it != meta.end()) {
          const std::string value = it->second;
          meta[key] = value;
        }
        break;
      }
      default:
        refit(meta, tensors, s);
        break;
    }
  }
}

ThreadPool& pool() {
  static ThreadPool one(1);
  return one;
}

// What predict and eval do with the model's features of `data`; `what` names the rows.
void use(const SavedModel& saved, const Dataset& data, const std::string& what) {
  const SoftmaxRegression& model = saved.model;
  const ModelInfo& info = saved.info;
  const std::size_t d = model.inputs(), outputs = model.outputs(), classes = model.classes();
  check_model_fits("edited model", saved, data);  // the data were made to fit
  std::vector<float> buffer;
  const Features x = model_features(info, data, buffer);
  const Matrix<float> o = logits(model, x, data.rows, pool());
  fuzz::check(o.rows == data.rows && o.cols == outputs, what + ": logits of another shape");

  // W x + b in double, where nothing can overflow. The kernel sums floats: each term may be
  // off by rounding (relative to the sum of |terms|, bound) and by underflow (a feature or a
  // product below the smallest normal float: at most 2^-149 times |w|, and 2^-149, a term). For
  // dense rows it sums w times the stored values and scales the sum, so that sum (unscaled) must
  // not overflow either.
  const std::span<const float> w = model.weight(), b = model.bias();
  bool finite = true;
  for (std::size_t i = 0; i < data.rows; ++i)
    for (std::size_t k = 0; k < outputs; ++k) {
      double ref = b[k], bound = std::abs(static_cast<double>(b[k])), unscaled = 0, slack = 0;
      const auto add = [&](std::size_t j, double stored, double scale) {
        const double wj = w[k * d + j];
        ref += wj * stored * scale;
        bound += std::abs(wj * stored * scale);
        unscaled += std::abs(wj * stored);
        slack += (std::abs(wj) + 2.0) * 1.5e-45;
      };
      if (x.sparse()) {
        for (std::uint64_t e = x.offsets[i]; e < x.offsets[i + 1]; ++e)
          add(x.cols[e], static_cast<double>(x.value(static_cast<std::size_t>(e))), 1.0);
      } else {
        for (std::size_t j = 0; j < d; ++j)
          add(j,
              x.bytes != nullptr ? static_cast<double>(x.bytes[i * d + j])
                                 : static_cast<double>(x.floats[i * d + j]),
              static_cast<double>(x.scale));
      }
      const float got = o(i, k);
      finite = finite && std::isfinite(got);
      if (std::isfinite(bound) && bound < 1e30 && std::isfinite(unscaled) && unscaled < 1e30) {
        fuzz::check(std::isfinite(got), what + ": a logit is not finite, though W x + b is");
        fuzz::check(std::abs(static_cast<double>(got) - ref) <=
                        1e-5 * static_cast<double>(d + 16) * bound + slack,
                    what + ": a logit is not W x + b");
      }
    }

  // eval: loss, accuracy and predictions by the forward code of training; the confusion matrix.
  std::vector<std::int32_t> labels(data.rows), predicted(data.rows);
  for (std::size_t i = 0; i < data.rows; ++i) labels[i] = static_cast<std::int32_t>(i % classes);
  const PassStats stats = evaluate(model, x, labels, data.rows, pool(), predicted);
  fuzz::check(stats.correct <= data.rows, what + ": more correct rows than rows");
  for (const std::int32_t p : predicted)
    fuzz::check(p >= 0 && static_cast<std::size_t>(p) < classes,
                what + ": a prediction not a class");
  const ConfusionMatrix cm = confusion_matrix(labels, predicted, classes);
  fuzz::check(cm.classes == classes, what + ": a confusion matrix of other classes");

  // predict: the probabilities of the classes.
  if (!finite) return;
  Matrix<float> p(data.rows, classes);
  if (model.output() == Output::logistic) {
    for (std::size_t i = 0; i < data.rows; ++i) {
      p(i, 1) = sigmoid(o(i, 0));
      p(i, 0) = sigmoid(-o(i, 0));
    }
  } else {
    p = softmax(o);
  }
  for (std::size_t i = 0; i < data.rows; ++i) {
    double sum = 0;
    for (std::size_t c = 0; c < classes; ++c) {
      fuzz::check(p(i, c) >= 0.0f && p(i, c) <= 1.0f, what + ": a probability outside [0, 1]");
      sum += p(i, c);
    }
    fuzz::check(std::abs(sum - 1.0) < 1e-4 + 2e-7 * static_cast<double>(classes),
                what + ": probabilities that do not sum to 1");
  }
}

const char kDocuments[] =
    "__label__a the first document to predict\n"
    "another one, with words and more words\n"
    "\n"
    "__label__b 123 caf\xc3\xa9 M\xc3\x9cNCHEN \xff\n";

// Rows of every kind predict and eval give a model, as they give them.
void use_every_way(const SavedModel& saved) {
  const ModelInfo& info = saved.info;
  const std::size_t d = saved.model.inputs();
  const std::optional<TextOptions> text = model_text_options(info.notes, "edited model");
  const auto like_the_model = [&](Dataset& data) {
    data.inputs = d;
    data.shape = info.input_shape;
    data.class_names = info.class_names;
  };
  if (text) {
    // predict --text: documents, __label__ tokens not used; the model's classes.
    Dataset t = parse_text(kDocuments, "documents", *text, info.class_names,
                           /*require_label=*/false);
    fuzz::check(t.inputs == d, "a text model's 2^hash_bits columns are not its inputs");
    like_the_model(t);
    use(saved, t, "documents");
    return;
  }
  // predict --csv: floats.
  Dataset floats;
  floats.rows = 3;
  floats.values.resize(3 * d);
  for (std::size_t i = 0; i < floats.values.size(); ++i)
    floats.values[i] = static_cast<float>(i % 7) - 3.0f + 0.5f * static_cast<float>(i % 3);
  like_the_model(floats);
  use(saved, floats, "table rows");
  // eval on IDX images: bytes.
  Dataset bytes;
  bytes.rows = 2;
  bytes.pixels.resize(2 * d);
  for (std::size_t i = 0; i < bytes.pixels.size(); ++i)
    bytes.pixels[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  like_the_model(bytes);
  use(saved, bytes, "image bytes");
  // predict --libsvm: sparse rows, a few columns each.
  Dataset sparse;
  sparse.rows = 3;
  sparse.sparse.offsets = {0};
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t j = r; j < d && j < r + 3 * 8; j += r + 2) {
      sparse.sparse.cols.push_back(static_cast<std::uint32_t>(j));
      sparse.sparse.vals.push_back(0.5f * static_cast<float>(j % 5) - 0.75f);
    }
    sparse.sparse.offsets.push_back(sparse.sparse.cols.size());
  }
  like_the_model(sparse);
  use(saved, sparse, "sparse rows");
  // predict on a PNG: a gray image made ready for a model of images.
  if (info.input_shape.size() == 2) {
    GrayImage g;
    g.rows = 4;
    g.cols = 5;
    for (std::size_t i = 0; i < 20; ++i) g.pixels.push_back(static_cast<float>((i * 53) % 256));
    const GrayImage ready =
        image_for_model(g, info.input_shape[0], info.input_shape[1], Invert::automatic);
    Dataset image;
    image.rows = 1;
    image.values = ready.pixels;
    like_the_model(image);
    fuzz::check(image.values.size() == d, "an image made ready is not the model's inputs");
    use(saved, image, "image");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  const std::size_t length = model_length(input);
  if (length == 0) return 0;
  SafetensorsFile file;
  try {
    file = parse_safetensors(input.first(length), "input");
  } catch (const InputError&) {
    return 0;
  }
  std::map<std::string, std::string> meta = file.metadata;
  Tensors tensors;
  for (const SafetensorsTensor& t : file.tensors)
    tensors.list.push_back({t.name, t.dtype, t.shape, t.data});
  Script script(input.subspan(length));
  edit(meta, tensors, script);

  std::vector<std::uint8_t> bytes;
  try {
    bytes = safetensors_bytes(
        std::vector<std::pair<std::string, std::string>>(meta.begin(), meta.end()), tensors.list);
  } catch (const std::invalid_argument&) {
    return 0;  // a value that is not UTF-8: no JSON holds it
  }
  SavedModel saved;
  try {
    saved = parse_model_file(bytes, "edited model");
  } catch (const InputError&) {
    return 0;
  }
  try {
    use_every_way(saved);
  } catch (const InputError& e) {
    // Every row was made to fit the model: predict and eval would have refused a model that loads.
    fuzz::broken(std::string("predict's or eval's path refuses a model that loads: ") + e.what());
  }

  // A model that loads can be saved again, and that file loads.
  std::vector<std::uint8_t> again;
  try {
    again = model_file_bytes(saved.model, saved.info);
  } catch (const std::invalid_argument& e) {
    fuzz::broken(std::string("a model that loads cannot be saved again: ") + e.what());
  }
  try {
    parse_model_file(again, "saved again");
  } catch (const InputError& e) {
    fuzz::broken(std::string("a model saved again does not load: ") + e.what());
  }
  return 0;
}
