// Checkpoints (--checkpoint, --resume): a safetensors file holding a TrainState, with a checksum
// over everything in it, so that a truncated or altered file is refused before training goes on
// from it (docs/formats.md, "Checkpoints").
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "softreg/error.hpp"
#include "softreg/io.hpp"
#include "softreg/safetensors.hpp"

namespace softreg {

namespace {

// Columns of the history tensor, one row per epoch.
constexpr std::size_t kHistoryColumns = 10;

// The metadata keys the checkpoint itself uses; a caller's notes take any other.
constexpr const char* kReserved[] = {
    "format",    "checkpoint_version", "epoch",  "step",   "order_shuffled", "stopped", "averaged",
    "best_loss", "since_best",         "output", "inputs", "classes",        "checksum"};

bool reserved(const std::string& key) {
  return std::any_of(std::begin(kReserved), std::end(kReserved),
                     [&](const char* r) { return key == r; });
}

template <typename C>
std::span<const std::uint8_t> bytes_of(const C& v) {
  return {reinterpret_cast<const std::uint8_t*>(std::data(v)),
          std::size(v) * sizeof(*std::data(v))};
}

std::string number_text(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// XXH3-64 of every tensor (name, dtype, shape, bytes; by name) and every metadata entry but the
// checksum (by key): what the file says, independent of the order it says it in.
std::uint64_t checksum(std::vector<const SafetensorsTensor*> tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::sort(
      tensors.begin(), tensors.end(),
      [](const SafetensorsTensor* a, const SafetensorsTensor* b) { return a->name < b->name; });
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state);
  const auto text = [&](const std::string& s) {
    XXH3_64bits_update(state, s.c_str(), s.size() + 1);
  };
  for (const SafetensorsTensor* t : tensors) {
    text(t->name);
    text(t->dtype);
    for (const std::size_t n : t->shape) text(std::to_string(n));
    text("");
    XXH3_64bits_update(state, t->data.data(), t->data.size());
  }
  for (const auto& [key, value] : metadata) {
    if (key == "checksum") continue;
    text(key);
    text(value);
  }
  const std::uint64_t sum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return sum;
}

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string checkpoint_checksum(const SafetensorsFile& file) {
  std::vector<const SafetensorsTensor*> pointers;
  for (const SafetensorsTensor& t : file.tensors) pointers.push_back(&t);
  return hex(checksum(pointers, file.metadata));
}

std::vector<std::uint8_t> checkpoint_bytes(const TrainState& s,
                                           const std::map<std::string, std::string>& notes) {
  const SoftmaxRegression& w = s.sgd.weights;
  const std::size_t d = w.inputs(), k = w.outputs();
  std::vector<std::pair<std::string, std::string>> meta = {
      {"format", "softreg-checkpoint"},
      {"checkpoint_version", std::to_string(kCheckpointVersion)},
      {"epoch", std::to_string(s.epoch)},
      {"step", std::to_string(s.step)},
      {"order_shuffled", s.order_shuffled ? "1" : "0"},
      {"stopped", s.stopped ? "1" : "0"},
      {"averaged", std::to_string(s.sgd.averaged)},
      {"best_loss", number_text(s.best_loss)},
      {"since_best", std::to_string(s.since_best)},
      {"output", w.output() == Output::logistic ? "logistic" : "softmax"},
      {"inputs", std::to_string(d)},
      {"classes", std::to_string(w.classes())}};
  for (const auto& [key, value] : notes) {
    if (reserved(key))
      throw std::invalid_argument("checkpoint_bytes: the note " + key + " is reserved");
    meta.emplace_back(key, value);
  }
  std::vector<TensorBytes> tensors;
  const auto model = [&](const std::string& prefix, const SoftmaxRegression& m) {
    if (m.inputs() != d || m.outputs() != k)
      throw std::invalid_argument("checkpoint_bytes: models of different shapes");
    tensors.push_back({prefix + "W", "F32", {k, d}, bytes_of(m.weight())});
    tensors.push_back({prefix + "b", "F32", {k}, bytes_of(m.bias())});
  };
  model("", w);
  if (!s.sgd.slow_weight.empty()) {
    if (s.sgd.slow_weight.size() != k * d || s.sgd.slow_bias.size() != k)
      throw std::invalid_argument("checkpoint_bytes: an optimizer state of another shape");
    tensors.push_back({"optimizer.W", "F32", {k, d}, bytes_of(s.sgd.slow_weight)});
    tensors.push_back({"optimizer.b", "F32", {k}, bytes_of(s.sgd.slow_bias)});
  }
  if (s.sgd.average) model("average.", *s.sgd.average);
  if (s.best) model("best.", *s.best);
  if (!s.order.empty()) tensors.push_back({"order", "U32", {s.order.size()}, bytes_of(s.order)});
  tensors.push_back({"rng", "U64", {s.rng.size()}, bytes_of(s.rng)});
  std::vector<double> history;
  for (const EpochMetrics& m : s.history)
    history.insert(
        history.end(),
        {static_cast<double>(m.epoch), m.loss, m.train_accuracy, m.test_accuracy, m.test_loss,
         m.seconds, m.lr, m.validated ? 1.0 : 0.0, m.validation_loss, m.validation_accuracy});
  tensors.push_back({"history", "F64", {s.history.size(), kHistoryColumns}, bytes_of(history)});
  // The checksum of what is written, computed as the reader will compute it.
  std::map<std::string, std::string> all(meta.begin(), meta.end());
  std::vector<SafetensorsTensor> views;
  for (const TensorBytes& t : tensors) views.push_back({t.name, t.dtype, t.shape, t.data});
  std::vector<const SafetensorsTensor*> pointers;
  for (const SafetensorsTensor& t : views) pointers.push_back(&t);
  meta.emplace_back("checksum", hex(checksum(pointers, all)));
  return safetensors_bytes(meta, tensors);
}

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw InputError(name + ": " + what);
}

template <typename T>
T whole_number(const std::map<std::string, std::string>& meta, const char* key,
               const std::string& name) {
  const auto it = meta.find(key);
  if (it == meta.end()) fail(name, std::string("not a softreg checkpoint: no \"") + key + "\"");
  T v{};
  const std::string& text = it->second;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size())
    fail(name, std::string("\"") + key + "\" is not a whole number: " + text);
  return v;
}

bool flag(const std::map<std::string, std::string>& meta, const char* key,
          const std::string& name) {
  const int v = whole_number<int>(meta, key, name);
  if (v != 0 && v != 1) fail(name, std::string("\"") + key + "\" is not 0 or 1");
  return v == 1;
}

// Tensor `key` of dtype and shape as expected, or null when absent and optional.
const SafetensorsTensor* tensor(const SafetensorsFile& st, const std::string& key,
                                const char* dtype, const std::vector<std::size_t>& shape,
                                bool required, const std::string& name) {
  const SafetensorsTensor* t = st.find(key);
  if (t == nullptr) {
    if (required) fail(name, "not a softreg checkpoint: no tensor \"" + key + "\"");
    return nullptr;
  }
  if (t->dtype != dtype || t->shape != shape)
    fail(name, "tensor \"" + key + "\" is " + t->dtype + " " + shape_text(t->shape) + " but " +
                   dtype + " " + shape_text(shape) + " was expected");
  return t;
}

template <typename T>
std::vector<T> values_of(const SafetensorsTensor& t) {
  std::vector<T> v(t.data.size() / sizeof(T));
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

void read_finite(const SafetensorsTensor& t, std::span<float> into, const std::string& name) {
  std::memcpy(into.data(), t.data.data(), t.data.size());
  for (const float v : into)
    if (!std::isfinite(v))
      fail(name, "tensor \"" + t.name + "\" holds a number that is not finite");
}

}  // namespace

Checkpoint parse_checkpoint(std::span<const std::uint8_t> bytes, const std::string& name) {
  const SafetensorsFile st = parse_safetensors(bytes, name);
  const auto& meta = st.metadata;
  if (const auto it = meta.find("format"); it == meta.end() || it->second != "softreg-checkpoint")
    fail(name,
         "not a softreg checkpoint (a safetensors file without \"format\": "
         "\"softreg-checkpoint\"; a model file is not a checkpoint)");
  const int version = whole_number<int>(meta, "checkpoint_version", name);
  if (version != kCheckpointVersion)
    fail(name, "a checkpoint of version " + std::to_string(version) + " but this softreg reads " +
                   std::to_string(kCheckpointVersion));
  if (const auto it = meta.find("checksum");
      it == meta.end() || it->second != checkpoint_checksum(st))
    fail(name, "the checksum does not match: the checkpoint was altered or damaged");
  Checkpoint c;
  TrainState& s = c.state;
  s.epoch = whole_number<int>(meta, "epoch", name);
  s.step = whole_number<std::uint64_t>(meta, "step", name);
  s.order_shuffled = flag(meta, "order_shuffled", name);
  s.stopped = flag(meta, "stopped", name);
  s.sgd.averaged = whole_number<std::uint64_t>(meta, "averaged", name);
  s.since_best = whole_number<int>(meta, "since_best", name);
  {
    const auto it = meta.find("best_loss");
    if (it == meta.end()) fail(name, "not a softreg checkpoint: no \"best_loss\"");
    const std::string& text = it->second;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), s.best_loss);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !std::isfinite(s.best_loss))
      fail(name, "\"best_loss\" is not a finite number: " + text);
  }
  const auto inputs = whole_number<std::size_t>(meta, "inputs", name);
  const auto classes = whole_number<std::size_t>(meta, "classes", name);
  const auto output_it = meta.find("output");
  if (output_it == meta.end() ||
      (output_it->second != "softmax" && output_it->second != "logistic"))
    fail(name, "\"output\" is not softmax or logistic");
  const Output output = output_it->second == "logistic" ? Output::logistic : Output::softmax;
  if (classes < 2 || (output == Output::logistic && classes != 2) || inputs == 0)
    fail(name, "a model of " + std::to_string(inputs) + " inputs and " + std::to_string(classes) +
                   " classes is not one softreg trains");
  const std::size_t k = output == Output::logistic ? 1 : classes;
  // W's tensor must be in the file before a model of its size is made.
  const SafetensorsTensor* w = tensor(st, "W", "F32", {k, inputs}, true, name);
  const auto model = [&](const std::string& prefix,
                         bool required) -> std::optional<SoftmaxRegression> {
    const SafetensorsTensor* tw =
        prefix.empty() ? w : tensor(st, prefix + "W", "F32", {k, inputs}, required, name);
    const SafetensorsTensor* tb = tensor(st, prefix + "b", "F32", {k}, tw != nullptr, name);
    if (tw == nullptr) {
      if (tb != nullptr) fail(name, "tensor \"" + prefix + "b\" without \"" + prefix + "W\"");
      return std::nullopt;
    }
    SoftmaxRegression m(inputs, classes, output);
    read_finite(*tw, m.weight(), name);
    read_finite(*tb, m.bias(), name);
    return m;
  };
  s.sgd.weights = *model("", true);
  s.sgd.average = model("average.", false);
  s.best = model("best.", false);
  if (const SafetensorsTensor* ow = tensor(st, "optimizer.W", "F32", {k, inputs}, false, name)) {
    const SafetensorsTensor* ob = tensor(st, "optimizer.b", "F32", {k}, true, name);
    s.sgd.slow_weight.resize(k * inputs);
    s.sgd.slow_bias.resize(k);
    read_finite(*ow, s.sgd.slow_weight, name);
    read_finite(*ob, s.sgd.slow_bias, name);
  } else if (st.find("optimizer.b") != nullptr) {
    fail(name, "tensor \"optimizer.b\" without \"optimizer.W\"");
  }
  if (const SafetensorsTensor* o = st.find("order")) {
    if (o->dtype != "U32" || o->shape.size() != 1)
      fail(name, "tensor \"order\" is not a U32 vector");
    s.order = values_of<std::uint32_t>(*o);
  }
  const SafetensorsTensor* r = tensor(st, "rng", "U64", {6}, true, name);
  {
    const std::vector<std::uint64_t> words = values_of<std::uint64_t>(*r);
    std::copy(words.begin(), words.end(), s.rng.begin());
    try {
      (void)Rng::from_state(s.rng);
    } catch (const std::invalid_argument&) {
      fail(name, "tensor \"rng\" is not a state of softreg's generator");
    }
  }
  if (s.epoch < 1) fail(name, "\"epoch\" is " + std::to_string(s.epoch) + ": no epoch was done");
  const SafetensorsTensor* h = tensor(
      st, "history", "F64", {static_cast<std::size_t>(s.epoch), kHistoryColumns}, true, name);
  const std::vector<double> rows = values_of<double>(*h);
  for (std::size_t e = 0; e < static_cast<std::size_t>(s.epoch); ++e) {
    const double* row = rows.data() + e * kHistoryColumns;
    if (row[0] != static_cast<double>(e + 1) || (row[7] != 0.0 && row[7] != 1.0))
      fail(name, "tensor \"history\" row " + std::to_string(e + 1) + " is not epoch " +
                     std::to_string(e + 1) + "'s");
    EpochMetrics m;
    m.epoch = static_cast<int>(e + 1);
    m.loss = row[1];
    m.train_accuracy = row[2];
    m.test_accuracy = row[3];
    m.test_loss = row[4];
    m.seconds = row[5];
    m.lr = row[6];
    m.validated = row[7] == 1.0;
    m.validation_loss = row[8];
    m.validation_accuracy = row[9];
    s.history.push_back(m);
  }
  for (const auto& [key, value] : meta)
    if (!reserved(key)) c.notes[key] = value;
  return c;
}

void save_checkpoint(const std::filesystem::path& file, const TrainState& state,
                     const std::map<std::string, std::string>& notes) {
  write_file_atomic(file, checkpoint_bytes(state, notes));
}

Checkpoint load_checkpoint(const std::filesystem::path& file) {
  const std::vector<std::uint8_t> bytes = read_file(file);
  return parse_checkpoint(bytes, file.string());
}

}  // namespace softreg
