// Figures of merit of a classifier: accuracy with its standard error, the confusion matrix,
// per-class accuracy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace softreg {

/// Standard error of an accuracy p measured on n examples: sqrt(p (1 - p) / n).
double accuracy_stderr(double p, std::size_t n);

/// counts[t][p]: how many examples of true class t were predicted as p.
struct ConfusionMatrix {
  std::size_t classes = 0;
  std::vector<std::size_t> counts;  // classes x classes, row = true class

  std::size_t operator()(std::size_t truth, std::size_t predicted) const {
    return counts[truth * classes + predicted];
  }
  std::size_t total() const;
  std::size_t correct() const;
  double accuracy() const;
  /// Fraction of the examples of class t predicted as t (NaN for a class with no examples).
  double class_accuracy(std::size_t t) const;
};

ConfusionMatrix confusion_matrix(std::span<const std::int32_t> truth,
                                 std::span<const std::int32_t> predicted, std::size_t classes);

}  // namespace softreg
