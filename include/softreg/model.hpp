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

class SoftmaxRegression {
 public:
  SoftmaxRegression() = default;
  SoftmaxRegression(std::size_t inputs, std::size_t classes);

  /// The lesson's initialisation: every weight from N(0, stddev²) (0.01 by default), bias 0.
  void init(Rng& rng, float stddev = 0.01f);

  std::size_t inputs() const { return inputs_; }
  std::size_t classes() const { return classes_; }

  /// W, K x D row-major: row k is the template of class k.
  std::span<float> weight() { return weight_; }
  std::span<const float> weight() const { return weight_; }
  std::span<float> bias() { return bias_; }
  std::span<const float> bias() const { return bias_; }

  /// X Wᵀ + b for X of N x D: the plain version, written as the lesson writes it.
  Matrix<float> logits(const Matrix<float>& x) const;
  /// softmax(X Wᵀ + b): each row sums to 1.
  Matrix<float> predict_proba(const Matrix<float>& x) const;
  /// argmax of the logits of each row.
  std::vector<std::int32_t> predict(const Matrix<float>& x) const;

 private:
  std::size_t inputs_ = 0;
  std::size_t classes_ = 0;
  std::vector<float> weight_;
  std::vector<float> bias_;
};

}  // namespace softreg
