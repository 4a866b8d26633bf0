// The model of softmax regression: one linear layer, o = W x + b, followed by softmax.
// W is K x D (classes x inputs, the layout of torch.nn.Linear's weight), b has K entries. For a
// batch X (N x D, one example per row) the logits are X Wᵀ + b, an N x K matrix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "softreg/ops.hpp"
#include "softreg/random.hpp"

namespace softreg {

/// The output layer over the linear scores.
///  - softmax: K logits o = W x + b, probabilities softmax(o), loss cross-entropy.
///  - logistic: two classes and one logit z = w x + b (W has one row), P(class 1) = σ(z),
///    loss binary cross-entropy. It is the same model family as softmax over two logits:
///    softmax(o0, o1)_1 = σ(o1 - o0), so w = W_1 - W_0 and b = b_1 - b_0.
enum class Output { softmax, logistic };

class SoftmaxRegression {
 public:
  SoftmaxRegression() = default;
  /// classes >= 2; with Output::logistic classes must be 2 and W has one row.
  SoftmaxRegression(std::size_t inputs, std::size_t classes, Output output = Output::softmax);

  /// The lesson's initialisation: every weight from N(0, stddev²) (0.01 by default), bias 0.
  void init(Rng& rng, float stddev = 0.01f);

  std::size_t inputs() const { return inputs_; }
  std::size_t classes() const { return classes_; }
  Output output() const { return output_; }
  /// Rows of W: the number of logits (classes, or 1 for logistic).
  std::size_t outputs() const { return output_ == Output::logistic ? 1 : classes_; }

  /// W, outputs x D row-major: row k is the template of class k (logistic: of class 1).
  std::span<float> weight() { return weight_; }
  std::span<const float> weight() const { return weight_; }
  std::span<float> bias() { return bias_; }
  std::span<const float> bias() const { return bias_; }

  /// X Wᵀ + b for X of N x D: the plain version, written as the lesson writes it (N x outputs).
  Matrix<float> logits(const Matrix<float>& x) const;
  /// Class probabilities, N x classes: softmax(X Wᵀ + b), or (1 - σ(z), σ(z)) for logistic.
  /// Each row sums to 1.
  Matrix<float> predict_proba(const Matrix<float>& x) const;
  /// argmax of the logits of each row.
  std::vector<std::int32_t> predict(const Matrix<float>& x) const;

 private:
  std::size_t inputs_ = 0;
  std::size_t classes_ = 0;
  Output output_ = Output::softmax;
  AlignedFloats weight_;
  std::vector<float> bias_;
};

}  // namespace softreg
