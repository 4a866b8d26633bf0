#include "softreg/ops.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <string>

namespace softreg {

namespace {

template <std::floating_point T>
void check_labels(const Matrix<T>& logits, Labels labels) {
  if (labels.size() != logits.rows)
    throw std::invalid_argument("labels: expected " + std::to_string(logits.rows) +
                                " labels (one per row) but found " + std::to_string(labels.size()));
  for (auto y : labels)
    if (y < 0 || static_cast<std::size_t>(y) >= logits.cols)
      throw std::invalid_argument("labels: expected class indices in [0, " +
                                  std::to_string(logits.cols) + ") but found " + std::to_string(y));
}

template <std::floating_point T>
T row_max(std::span<const T> row) {
  return *std::max_element(row.begin(), row.end());
}

template <std::floating_point T>
T row_logsumexp(std::span<const T> row) {
  const T m = row_max(row);
  if (!std::isfinite(m)) return m;  // all -inf, or an inf/NaN logit: nothing to stabilise
  T sum = 0;
  for (T o : row) sum += std::exp(o - m);
  return m + std::log(sum);
}

}  // namespace

template <std::floating_point T>
Matrix<T> softmax_naive(const Matrix<T>& logits) {
  Matrix<T> probs(logits.rows, logits.cols);
  for (std::size_t i = 0; i < logits.rows; ++i) {
    T sum = 0;
    for (std::size_t j = 0; j < logits.cols; ++j) sum += probs(i, j) = std::exp(logits(i, j));
    for (std::size_t j = 0; j < logits.cols; ++j) probs(i, j) /= sum;
  }
  return probs;
}

template <std::floating_point T>
Matrix<T> softmax(const Matrix<T>& logits) {
  Matrix<T> probs(logits.rows, logits.cols);
  for (std::size_t i = 0; i < logits.rows; ++i) {
    // The maximum is subtracted only for numerical stability: the ratio is unchanged.
    const T m = row_max(logits.row(i));
    T sum = 0;
    for (std::size_t j = 0; j < logits.cols; ++j) sum += probs(i, j) = std::exp(logits(i, j) - m);
    for (std::size_t j = 0; j < logits.cols; ++j) probs(i, j) /= sum;
  }
  return probs;
}

template <std::floating_point T>
std::vector<T> logsumexp(const Matrix<T>& logits) {
  std::vector<T> out(logits.rows);
  for (std::size_t i = 0; i < logits.rows; ++i) out[i] = row_logsumexp(logits.row(i));
  return out;
}

template <std::floating_point T>
Matrix<T> log_softmax(const Matrix<T>& logits) {
  Matrix<T> out(logits.rows, logits.cols);
  for (std::size_t i = 0; i < logits.rows; ++i) {
    const T lse = row_logsumexp(logits.row(i));
    for (std::size_t j = 0; j < logits.cols; ++j) out(i, j) = logits(i, j) - lse;
  }
  return out;
}

template <std::floating_point T>
std::vector<T> cross_entropy(const Matrix<T>& logits, Labels labels) {
  check_labels(logits, labels);
  const Matrix<T> log_probs = log_softmax(logits);
  std::vector<T> losses(logits.rows);
  for (std::size_t i = 0; i < logits.rows; ++i) losses[i] = -log_probs(i, labels[i]);  // the pick
  return losses;
}

template <std::floating_point T>
T mean_cross_entropy(const Matrix<T>& logits, Labels labels) {
  const std::vector<T> losses = cross_entropy(logits, labels);
  T sum = 0;
  for (T l : losses) sum += l;
  return losses.empty() ? T(0) : sum / static_cast<T>(losses.size());
}

template <std::floating_point T>
Matrix<T> cross_entropy_backward(const Matrix<T>& logits, Labels labels) {
  check_labels(logits, labels);
  Matrix<T> grad = softmax(logits);
  const T inv_n = T(1) / static_cast<T>(logits.rows);
  for (std::size_t i = 0; i < grad.rows; ++i) {
    grad(i, labels[i]) -= T(1);
    for (T& g : grad.row(i)) g *= inv_n;
  }
  return grad;
}

template <std::floating_point T>
std::size_t argmax(std::span<const T> row) {
  return static_cast<std::size_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

template <std::floating_point T>
std::size_t count_correct(const Matrix<T>& scores, Labels labels) {
  check_labels(scores, labels);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < scores.rows; ++i)
    correct += argmax(scores.row(i)) == static_cast<std::size_t>(labels[i]);
  return correct;
}

template <std::floating_point T>
double accuracy(const Matrix<T>& scores, Labels labels) {
  if (scores.rows == 0) return 0.0;
  return static_cast<double>(count_correct(scores, labels)) / static_cast<double>(scores.rows);
}

template <std::floating_point T>
Matrix<T> onehot(Labels labels, std::size_t classes) {
  Matrix<T> out(labels.size(), classes);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= classes)
      throw std::invalid_argument("onehot: label " + std::to_string(labels[i]) +
                                  " is outside [0, " + std::to_string(classes) + ")");
    out(i, labels[i]) = T(1);
  }
  return out;
}

template <std::floating_point T>
T sigmoid(T x) {
  // For x < 0, exp(-x) may overflow: use the equal form exp(x) / (1 + exp(x)) there.
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

template <std::floating_point T>
T binary_cross_entropy(T z, int y) {
  const T t = y == 1 ? T(1) : T(0);
  return std::max(z, T(0)) - t * z + std::log1p(std::exp(-std::abs(z)));
}

#define SOFTREG_INSTANTIATE(T)                                         \
  template Matrix<T> softmax_naive(const Matrix<T>&);                  \
  template Matrix<T> softmax(const Matrix<T>&);                        \
  template std::vector<T> logsumexp(const Matrix<T>&);                 \
  template Matrix<T> log_softmax(const Matrix<T>&);                    \
  template std::vector<T> cross_entropy(const Matrix<T>&, Labels);     \
  template T mean_cross_entropy(const Matrix<T>&, Labels);             \
  template Matrix<T> cross_entropy_backward(const Matrix<T>&, Labels); \
  template std::size_t argmax(std::span<const T>);                     \
  template std::size_t count_correct(const Matrix<T>&, Labels);        \
  template double accuracy(const Matrix<T>&, Labels);                  \
  template Matrix<T> onehot(Labels, std::size_t);                      \
  template T sigmoid(T);                                               \
  template T binary_cross_entropy(T, int);

SOFTREG_INSTANTIATE(float)
SOFTREG_INSTANTIATE(double)

}  // namespace softreg
