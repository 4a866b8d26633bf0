// The lesson's functions, plain and public: softmax (naive and stable), log-softmax, log-sum-exp,
// cross-entropy by the one-hot "pick" trick, accuracy, one-hot, sigmoid.
//
// Shapes: N examples (rows), K classes (columns). A logits matrix Z is N x K, row i holds the
// scores o_i1..o_iK of example i. Labels are class indices in [0, K).
//
// These functions are written to be read, not to be fast: the training loop uses the fused
// kernel (kernel.hpp), which is tested against them. Each works in float and in double; the
// double versions are the references of the tests.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <vector>

namespace softreg {

/// Allocates on cache-line (64-byte) boundaries. The kernel's threads each write their own
/// blocks of W and of its gradient; blocks that start on a line of their own never share a line
/// with another thread's block, which would make the line bounce between the cores.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const {
    return true;
  }
};

/// Floats starting on a cache line: parameters, their gradients and optimizer state.
using AlignedFloats = std::vector<float, CacheLineAllocator<float>>;

/// A dense row-major matrix: the only data structure the lesson needs.
template <std::floating_point T>
struct Matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<T> data;

  Matrix() = default;
  Matrix(std::size_t r, std::size_t c, T fill = T(0)) : rows(r), cols(c), data(r * c, fill) {}

  T& operator()(std::size_t i, std::size_t j) { return data[i * cols + j]; }
  const T& operator()(std::size_t i, std::size_t j) const { return data[i * cols + j]; }
  std::span<T> row(std::size_t i) { return {data.data() + i * cols, cols}; }
  std::span<const T> row(std::size_t i) const { return {data.data() + i * cols, cols}; }
};

using Labels = std::span<const std::int32_t>;

/// softmax(o)_j = exp(o_j) / Σ_k exp(o_k), computed literally. exp overflows float for
/// o > 88.7 (and double for o > 709.8), giving inf / inf = NaN: kept to show why the stable
/// version exists.
template <std::floating_point T>
Matrix<T> softmax_naive(const Matrix<T>& logits);

/// Stable softmax: subtracting the row maximum m changes nothing mathematically,
/// exp(o_j - m) / Σ exp(o_k - m), but keeps every exponent ≤ 0, so nothing overflows.
template <std::floating_point T>
Matrix<T> softmax(const Matrix<T>& logits);

/// log Σ_k exp(o_k) per row, as m + log Σ exp(o_k - m) with m the row maximum.
template <std::floating_point T>
std::vector<T> logsumexp(const Matrix<T>& logits);

/// log softmax(o)_j = o_j - logsumexp(o): finite even where softmax underflows to 0.
template <std::floating_point T>
Matrix<T> log_softmax(const Matrix<T>& logits);

/// Cross-entropy of each example, -log softmax(o_i)_{y_i}. The one-hot trick: Σ_j y_ij log p_ij
/// has one non-zero term, so it is enough to pick the log-probability of the true class. Computed
/// from log_softmax, never log(softmax), so a confident wrong answer costs a large finite number,
/// not log(0) = -inf.
template <std::floating_point T>
std::vector<T> cross_entropy(const Matrix<T>& logits, Labels labels);

/// Mean of cross_entropy over the rows.
template <std::floating_point T>
T mean_cross_entropy(const Matrix<T>& logits, Labels labels);

/// Gradient of mean_cross_entropy with respect to the logits: (softmax(o) - onehot(y)) / N.
/// The lesson's remark that "the gradient of cross-entropy is the softmax" (minus the truth).
template <std::floating_point T>
Matrix<T> cross_entropy_backward(const Matrix<T>& logits, Labels labels);

/// Index of the largest entry (the first one on ties).
template <std::floating_point T>
std::size_t argmax(std::span<const T> row);

/// Number of rows whose argmax equals the label. Works on logits or on probabilities: softmax
/// keeps the order.
template <std::floating_point T>
std::size_t count_correct(const Matrix<T>& scores, Labels labels);

/// Fraction of rows predicted correctly.
template <std::floating_point T>
double accuracy(const Matrix<T>& scores, Labels labels);

/// N x K matrix with a 1 in column y_i of row i and 0 elsewhere.
template <std::floating_point T>
Matrix<T> onehot(Labels labels, std::size_t classes);

/// σ(x) = 1 / (1 + exp(-x)), evaluated so that neither branch overflows.
template <std::floating_point T>
T sigmoid(T x);

/// Binary cross-entropy of logistic regression for one logit z and a label y in {0, 1}:
/// -[y log σ(z) + (1 - y) log(1 - σ(z))] = log(1 + exp(z)) - y z, computed as
/// max(z, 0) - y z + log(1 + exp(-|z|)) so that it never overflows nor takes log(0).
/// Its derivative with respect to z is σ(z) - y: the two-class "softmax minus one-hot".
template <std::floating_point T>
T binary_cross_entropy(T z, int y);

}  // namespace softreg
