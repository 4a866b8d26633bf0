// What is done to a loaded data set: keep its first rows, standardise it, split it; its
// fingerprints.
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <span>

#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

void Dataset::keep_first(std::size_t n) {
  if (n >= rows) return;
  rows = n;
  if (!pixels.empty()) pixels.resize(n * inputs);
  if (!values.empty()) values.resize(n * inputs);
  if (is_sparse()) {
    sparse.offsets.resize(n + 1);
    sparse.cols.resize(sparse.offsets[n]);
    if (!sparse.vals.empty()) sparse.vals.resize(sparse.offsets[n]);
  }
  labels.resize(n);
  if (!weights.empty()) weights.resize(n);
}

Dataset Dataset::empty_like(std::string part_source) const {
  Dataset d;
  d.inputs = inputs;
  d.scale = scale;
  d.shape = shape;
  d.class_names = class_names;
  d.feature_names = feature_names;
  d.source = std::move(part_source);
  if (is_sparse()) d.sparse.offsets = {0};
  return d;
}

void Dataset::append_row(const Dataset& from, std::size_t i) {
  const std::size_t d = inputs;
  if (from.is_sparse()) {
    const std::size_t b = from.sparse.offsets[i], e = from.sparse.offsets[i + 1];
    const auto at = [](auto& v, std::size_t k) {
      return v.begin() + static_cast<std::ptrdiff_t>(k);
    };
    sparse.cols.insert(sparse.cols.end(), at(from.sparse.cols, b), at(from.sparse.cols, e));
    if (!from.sparse.vals.empty())
      sparse.vals.insert(sparse.vals.end(), at(from.sparse.vals, b), at(from.sparse.vals, e));
    sparse.offsets.push_back(sparse.cols.size());
  } else {
    const auto row = static_cast<std::ptrdiff_t>(i * d), end = row + static_cast<std::ptrdiff_t>(d);
    if (from.is_bytes())
      pixels.insert(pixels.end(), from.pixels.begin() + row, from.pixels.begin() + end);
    else
      values.insert(values.end(), from.values.begin() + row, from.values.begin() + end);
  }
  if (!from.labels.empty()) labels.push_back(from.labels[i]);
  if (!from.weights.empty()) weights.push_back(from.weights[i]);
  ++rows;
}

std::size_t Dataset::feature_bytes() const {
  return pixels.size() + values.size() * sizeof(float) + sparse.bytes();
}

Standardization fit_standardization(const Dataset& data) {
  if (data.is_sparse()) {
    // Scaled, not centred (centring would fill every zero): the mean recorded is 0, and the
    // standard deviation is each column's, its zeros counted.
    Standardization s;
    s.mean.assign(data.inputs, 0.0f);
    s.stddev.assign(data.inputs, 0.0f);
    std::vector<double> sum(data.inputs, 0.0), sq(data.inputs, 0.0);
    const SparseRows& x = data.sparse;
    for (std::size_t e = 0; e < x.nnz(); ++e) {
      const double v = x.binary() ? 1.0 : x.vals[e];
      sum[x.cols[e]] += v;
      sq[x.cols[e]] += v * v;
    }
    const auto n = static_cast<double>(data.rows);
    for (std::size_t j = 0; j < data.inputs; ++j) {
      const double mean = sum[j] / n;
      s.stddev[j] = static_cast<float>(std::sqrt(std::max(0.0, sq[j] / n - mean * mean)));
    }
    return s;
  }
  if (data.is_bytes())
    throw InputError(data.source + ": " + param("standardize") + " applies to tables of numbers");
  Standardization s;
  s.mean.assign(data.inputs, 0.0f);
  s.stddev.assign(data.inputs, 0.0f);
  for (std::size_t j = 0; j < data.inputs; ++j) {
    // Two passes in double: the mean, then the mean squared deviation.
    double sum = 0;
    for (std::size_t i = 0; i < data.rows; ++i) sum += data.values[i * data.inputs + j];
    const double mean = sum / static_cast<double>(data.rows);
    double sq = 0;
    for (std::size_t i = 0; i < data.rows; ++i) {
      const double dev = data.values[i * data.inputs + j] - mean;
      sq += dev * dev;
    }
    s.mean[j] = static_cast<float>(mean);
    s.stddev[j] = static_cast<float>(std::sqrt(sq / static_cast<double>(data.rows)));
  }
  return s;
}

void standardize(Dataset& data, const Standardization& s) {
  if (s.empty()) return;
  if (data.is_bytes() || s.mean.size() != data.inputs)
    throw InputError(data.source + ": standardization for " + std::to_string(s.mean.size()) +
                     " features but the data has " + std::to_string(data.inputs));
  if (data.is_sparse()) {
    SparseRows& x = data.sparse;
    for (float m : s.mean)
      if (m != 0.0f)
        throw InputError(data.source + ": sparse rows are scaled, never centred (mean 0)");
    if (x.vals.empty()) x.vals.assign(x.nnz(), 1.0f);
    for (std::size_t e = 0; e < x.nnz(); ++e) {
      const float sd = s.stddev[x.cols[e]];
      x.vals[e] /= sd > 0.0f ? sd : 1.0f;
    }
    return;
  }
  for (std::size_t i = 0; i < data.rows; ++i)
    for (std::size_t j = 0; j < data.inputs; ++j) {
      float& x = data.values[i * data.inputs + j];
      x = (x - s.mean[j]) / (s.stddev[j] > 0.0f ? s.stddev[j] : 1.0f);
    }
}

std::vector<std::uint8_t> stratified_held_out(std::span<const std::int32_t> labels,
                                              std::size_t classes, double fraction, Rng& rng,
                                              const std::string& option) {
  if (!(fraction > 0.0 && fraction < 1.0))
    throw InputError(option + ": expected a fraction between 0 and 1 but found " +
                     std::to_string(fraction));
  // The rows of each class in file order (one counting pass, not one pass per class), shuffled
  // class by class: the first round(F n_c) are held out.
  const std::size_t k = classes;
  std::vector<std::size_t> start(k + 1, 0);
  for (std::int32_t y : labels) ++start[static_cast<std::size_t>(y) + 1];
  for (std::size_t c = 0; c < k; ++c) start[c + 1] += start[c];
  std::vector<std::uint32_t> by_class(labels.size());
  {
    std::vector<std::size_t> next(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < labels.size(); ++i)
      by_class[next[static_cast<std::size_t>(labels[i])]++] = static_cast<std::uint32_t>(i);
  }
  std::vector<std::uint8_t> held_out(labels.size(), 0);
  for (std::size_t c = 0; c < k; ++c) {
    const std::span<std::uint32_t> members(by_class.data() + start[c], start[c + 1] - start[c]);
    shuffle(members, rng);
    const auto n_out =
        static_cast<std::size_t>(std::llround(fraction * static_cast<double>(members.size())));
    for (std::size_t j = 0; j < n_out; ++j) held_out[members[j]] = 1;
  }
  return held_out;
}

TrainTest stratified_split(Dataset data, double test_fraction, Rng& rng,
                           const std::string& option) {
  const std::vector<std::uint8_t> to_test =
      stratified_held_out(data.labels, data.classes(), test_fraction, rng, option);

  if (data.is_sparse()) {
    // Compressed rows cannot be moved up in place row by row as cheaply: two new parts, in the
    // file's order (the copy costs one more data set's memory while it is made).
    TrainTest tt;
    tt.train = data.empty_like(data.source + " (train split)");
    tt.test = data.empty_like(data.source + " (test split)");
    for (std::size_t i = 0; i < data.rows; ++i)
      (to_test[i] ? tt.test : tt.train).append_row(data, i);
    if (tt.train.rows == 0 || tt.test.rows == 0)
      throw InputError(data.source + ": " + option + " " + std::to_string(test_fraction) +
                       " leaves " + (tt.train.rows == 0 ? "no training" : "no held-out") +
                       " examples");
    return tt;
  }

  // The test rows are copied out; the training rows then move up in place, keeping the file's
  // order, so the split costs the test part and not a second copy of the whole table.
  TrainTest tt;
  tt.test.inputs = data.inputs;
  tt.test.scale = data.scale;
  tt.test.shape = data.shape;
  tt.test.class_names = data.class_names;
  tt.test.feature_names = data.feature_names;
  tt.test.source = data.source + " (test split)";
  const std::size_t d = data.inputs;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < data.rows; ++i) {
    auto move_row = [&](auto& values, auto& test_values) {
      const auto row = values.begin() + static_cast<std::ptrdiff_t>(i * d);
      if (to_test[i])
        test_values.insert(test_values.end(), row, row + static_cast<std::ptrdiff_t>(d));
      else if (kept != i)
        std::copy(row, row + static_cast<std::ptrdiff_t>(d),
                  values.begin() + static_cast<std::ptrdiff_t>(kept * d));
    };
    if (data.is_bytes())
      move_row(data.pixels, tt.test.pixels);
    else
      move_row(data.values, tt.test.values);
    if (to_test[i]) {
      tt.test.labels.push_back(data.labels[i]);
      if (!data.weights.empty()) tt.test.weights.push_back(data.weights[i]);
      ++tt.test.rows;
    } else {
      if (!data.weights.empty()) data.weights[kept] = data.weights[i];
      data.labels[kept++] = data.labels[i];
    }
  }
  const std::string source = data.source;
  data.keep_first(kept);
  data.source = source + " (train split)";
  tt.train = std::move(data);
  if (tt.train.rows == 0 || tt.test.rows == 0)
    throw InputError(source + ": " + option + " " + std::to_string(test_fraction) + " leaves " +
                     (tt.train.rows == 0 ? "no training" : "no held-out") + " examples");
  return tt;
}

std::uint64_t fingerprint(const Dataset& d) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                 &XXH3_freeState);
  if (!state) throw std::bad_alloc();
  XXH3_64bits_reset(state.get());
  const auto add = [&](const void* p, std::size_t n) { XXH3_64bits_update(state.get(), p, n); };
  const auto add_vector = [&](const auto& v) {
    const std::uint64_t n = v.size();
    add(&n, sizeof n);
    add(v.data(), v.size() * sizeof(v[0]));
  };
  const std::uint64_t shape[2] = {d.rows, d.inputs};
  add(shape, sizeof shape);
  add(&d.scale, sizeof d.scale);
  add_vector(d.labels);
  add_vector(d.weights);
  for (const std::string& name : d.class_names) add(name.c_str(), name.size() + 1);
  add_vector(d.pixels);
  add_vector(d.values);
  add_vector(d.sparse.offsets);
  add_vector(d.sparse.cols);
  add_vector(d.sparse.vals);
  return XXH3_64bits_digest(state.get());
}

std::uint64_t rows_fingerprint(const Dataset& d, std::uint64_t first_row) {
  const std::uint8_t kind = d.is_sparse() ? 2 : d.is_bytes() ? 0 : 1;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < d.rows; ++i) {
    const std::uint64_t g = first_row + i;
    std::uint64_t features[2] = {0, 0};
    if (kind == 2) {
      const std::uint64_t a = d.sparse.offsets[i], n = d.sparse.offsets[i + 1] - a;
      features[0] = XXH3_64bits_withSeed(d.sparse.cols.data() + a, n * sizeof(std::uint32_t), g);
      if (!d.sparse.vals.empty())
        features[1] = XXH3_64bits_withSeed(d.sparse.vals.data() + a, n * sizeof(float), g);
    } else if (kind == 0) {
      features[0] = XXH3_64bits_withSeed(d.pixels.data() + i * d.inputs, d.inputs, g);
    } else {
      features[0] =
          XXH3_64bits_withSeed(d.values.data() + i * d.inputs, d.inputs * sizeof(float), g);
    }
    const double weight = d.weights.empty() ? 1.0 : d.weights[i];
    std::uint8_t row[16 + 4 + 8 + 4 + 1];
    std::memcpy(row, features, 16);
    std::memcpy(row + 16, &d.labels[i], 4);
    std::memcpy(row + 20, &weight, 8);
    std::memcpy(row + 28, &d.scale, 4);
    row[32] = kind;
    sum += XXH3_64bits_withSeed(row, sizeof row, g);
  }
  return sum;
}

std::uint64_t fingerprint_of_rows(std::uint64_t rows, std::uint64_t rows_sum, std::size_t inputs,
                                  const std::vector<std::string>& class_names) {
  std::string all;
  const std::uint64_t head[3] = {rows, static_cast<std::uint64_t>(inputs), rows_sum};
  all.append(reinterpret_cast<const char*>(head), sizeof head);
  for (const std::string& name : class_names) all.append(name.c_str(), name.size() + 1);
  return XXH3_64bits(all.data(), all.size());
}

}  // namespace softreg

namespace softreg {

bool valid_utf8(std::string_view s, std::size_t* bad_at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned c = p[i];
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c < 0x80)
      len = 1;
    else if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    }
    bool ok = len != 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      const unsigned b = p[i + k];
      ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    }
    if (!ok) {
      if (bad_at != nullptr) *bad_at = i;
      return false;
    }
    i += len;
  }
  return true;
}

std::string escaped_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    std::size_t bad = s.size();
    valid_utf8(s, &bad);
    out.append(s.substr(0, bad));
    if (bad == s.size()) break;
    static const char* const kHex = "0123456789ABCDEF";
    const auto c = static_cast<unsigned char>(s[bad]);
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
    s.remove_prefix(bad + 1);
  }
  return out;
}

std::string line_too_long(std::size_t line) {
  return "line " + std::to_string(line) + ": longer than the " +
         std::to_string(kMaxLineBytes >> 20) + " MiB a line may hold";
}

}  // namespace softreg
