// What is done to a loaded data set: keep its first rows, standardise it, split it.
#include <cmath>

#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

void Dataset::keep_first(std::size_t n) {
  if (n >= rows) return;
  rows = n;
  if (!pixels.empty()) pixels.resize(n * inputs);
  if (!values.empty()) values.resize(n * inputs);
  labels.resize(n);
}

Standardization fit_standardization(const Dataset& data) {
  if (data.is_bytes())
    throw InputError(data.source + ": --standardize applies to tables of numbers");
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
  for (std::size_t i = 0; i < data.rows; ++i)
    for (std::size_t j = 0; j < data.inputs; ++j) {
      float& x = data.values[i * data.inputs + j];
      x = (x - s.mean[j]) / (s.stddev[j] > 0.0f ? s.stddev[j] : 1.0f);
    }
}

TrainTest stratified_split(const Dataset& data, double test_fraction, Rng& rng) {
  if (!(test_fraction > 0.0 && test_fraction < 1.0))
    throw InputError("--test-split: expected a fraction between 0 and 1 but found " +
                     std::to_string(test_fraction));
  std::vector<std::uint8_t> to_test(data.rows, 0);
  for (std::size_t c = 0; c < data.classes(); ++c) {
    std::vector<std::uint32_t> members;
    for (std::size_t i = 0; i < data.rows; ++i)
      if (data.labels[i] == static_cast<std::int32_t>(c))
        members.push_back(static_cast<std::uint32_t>(i));
    shuffle(members, rng);
    const auto n_test =
        static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(members.size())));
    for (std::size_t k = 0; k < n_test; ++k) to_test[members[k]] = 1;
  }
  TrainTest tt;
  for (Dataset* part : {&tt.train, &tt.test}) {
    part->inputs = data.inputs;
    part->scale = data.scale;
    part->shape = data.shape;
    part->class_names = data.class_names;
    part->feature_names = data.feature_names;
  }
  tt.train.source = data.source + " (train split)";
  tt.test.source = data.source + " (test split)";
  for (std::size_t i = 0; i < data.rows; ++i) {
    Dataset& part = to_test[i] ? tt.test : tt.train;
    ++part.rows;
    part.labels.push_back(data.labels[i]);
    if (data.is_bytes())
      part.pixels.insert(part.pixels.end(),
                         data.pixels.begin() + static_cast<std::ptrdiff_t>(i * data.inputs),
                         data.pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * data.inputs));
    else
      part.values.insert(part.values.end(),
                         data.values.begin() + static_cast<std::ptrdiff_t>(i * data.inputs),
                         data.values.begin() + static_cast<std::ptrdiff_t>((i + 1) * data.inputs));
  }
  if (tt.train.rows == 0 || tt.test.rows == 0)
    throw InputError(data.source + ": --test-split " + std::to_string(test_fraction) + " leaves " +
                     (tt.train.rows == 0 ? "no training" : "no test") + " examples");
  return tt;
}

}  // namespace softreg
