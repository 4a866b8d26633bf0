#include "softreg/model.hpp"

namespace softreg {

SoftmaxRegression::SoftmaxRegression(std::size_t inputs, std::size_t classes)
    : inputs_(inputs), classes_(classes), weight_(inputs * classes), bias_(classes) {}

void SoftmaxRegression::init(Rng& rng, float stddev) {
  for (float& w : weight_) w = static_cast<float>(rng.normal()) * stddev;
  for (float& b : bias_) b = 0.0f;
}

Matrix<float> SoftmaxRegression::logits(const Matrix<float>& x) const {
  // o_ik = Σ_j x_ij W_kj + b_k: row i of X times row k of W (W is stored classes x inputs).
  Matrix<float> o(x.rows, classes_);
  for (std::size_t i = 0; i < x.rows; ++i)
    for (std::size_t k = 0; k < classes_; ++k) {
      float sum = bias_[k];
      for (std::size_t j = 0; j < inputs_; ++j) sum += x(i, j) * weight_[k * inputs_ + j];
      o(i, k) = sum;
    }
  return o;
}

Matrix<float> SoftmaxRegression::predict_proba(const Matrix<float>& x) const {
  return softmax(logits(x));
}

std::vector<std::int32_t> SoftmaxRegression::predict(const Matrix<float>& x) const {
  const Matrix<float> o = logits(x);
  std::vector<std::int32_t> y(o.rows);
  for (std::size_t i = 0; i < o.rows; ++i) y[i] = static_cast<std::int32_t>(argmax(o.row(i)));
  return y;
}

}  // namespace softreg
