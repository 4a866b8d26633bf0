#include "softreg/metrics.hpp"

#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace softreg {

double accuracy_stderr(double p, std::size_t n) {
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  return std::sqrt(p * (1.0 - p) / static_cast<double>(n));
}

std::size_t ConfusionMatrix::total() const {
  return std::accumulate(counts.begin(), counts.end(), std::size_t{0});
}

std::size_t ConfusionMatrix::correct() const {
  std::size_t c = 0;
  for (std::size_t t = 0; t < classes; ++t) c += (*this)(t, t);
  return c;
}

double ConfusionMatrix::accuracy() const {
  const std::size_t n = total();
  return n == 0 ? 0.0 : static_cast<double>(correct()) / static_cast<double>(n);
}

double ConfusionMatrix::class_accuracy(std::size_t t) const {
  std::size_t n = 0;
  for (std::size_t p = 0; p < classes; ++p) n += (*this)(t, p);
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>((*this)(t, t)) / static_cast<double>(n);
}

ConfusionMatrix confusion_matrix(std::span<const std::int32_t> truth,
                                 std::span<const std::int32_t> predicted, std::size_t classes) {
  if (truth.size() != predicted.size())
    throw std::invalid_argument("confusion_matrix: " + std::to_string(truth.size()) +
                                " labels but " + std::to_string(predicted.size()) + " predictions");
  ConfusionMatrix m{classes, std::vector<std::size_t>(classes * classes, 0)};
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const auto t = static_cast<std::size_t>(truth[i]);
    const auto p = static_cast<std::size_t>(predicted[i]);
    if (t >= classes || p >= classes)
      throw std::invalid_argument("confusion_matrix: class index out of range at row " +
                                  std::to_string(i));
    ++m.counts[t * classes + p];
  }
  return m;
}

}  // namespace softreg
