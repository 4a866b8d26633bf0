#include "softreg/model.hpp"

#include <string>

#include "softreg/error.hpp"

namespace softreg {

SoftmaxRegression::SoftmaxRegression(std::size_t inputs, std::size_t classes, Output output)
    : inputs_(inputs), classes_(classes), output_(output) {
  if (output == Output::logistic && classes != 2)
    throw InputError("logistic regression has two classes but the data has " +
                     std::to_string(classes) + " (use softmax regression for more)");
  weight_.assign(inputs * outputs(), 0.0f);
  bias_.assign(outputs(), 0.0f);
}

void SoftmaxRegression::init(Rng& rng, float stddev) {
  for (float& w : weight_) w = static_cast<float>(rng.normal()) * stddev;
  for (float& b : bias_) b = 0.0f;
}

Matrix<float> SoftmaxRegression::logits(const Matrix<float>& x) const {
  // o_ik = Σ_j x_ij W_kj + b_k: row i of X times row k of W (W is stored classes x inputs).
  const std::size_t k_all = outputs();
  Matrix<float> o(x.rows, k_all);
  for (std::size_t i = 0; i < x.rows; ++i)
    for (std::size_t k = 0; k < k_all; ++k) {
      float sum = bias_[k];
      for (std::size_t j = 0; j < inputs_; ++j) sum += x(i, j) * weight_[k * inputs_ + j];
      o(i, k) = sum;
    }
  return o;
}

Matrix<float> SoftmaxRegression::predict_proba(const Matrix<float>& x) const {
  if (output_ == Output::softmax) return softmax(logits(x));
  const Matrix<float> z = logits(x);
  Matrix<float> p(x.rows, 2);
  for (std::size_t i = 0; i < x.rows; ++i) {
    p(i, 1) = sigmoid(z(i, 0));
    p(i, 0) = sigmoid(-z(i, 0));  // 1 - σ(z), without the cancellation
  }
  return p;
}

std::vector<std::int32_t> SoftmaxRegression::predict(const Matrix<float>& x) const {
  const Matrix<float> o = logits(x);
  std::vector<std::int32_t> y(o.rows);
  for (std::size_t i = 0; i < o.rows; ++i)
    y[i] = output_ == Output::logistic ? (o(i, 0) > 0.0f ? 1 : 0)
                                       : static_cast<std::int32_t>(argmax(o.row(i)));
  return y;
}

}  // namespace softreg
