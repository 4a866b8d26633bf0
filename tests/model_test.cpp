#include "softreg/model.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace softreg {
namespace {

TEST(ModelTest, InitDrawsSmallNormalWeightsAndZeroBias) {
  SoftmaxRegression m(784, 10);
  Rng rng(0);
  m.init(rng, 0.01f);
  double sum = 0, sq = 0;
  for (float w : m.weight()) {
    sum += w;
    sq += static_cast<double>(w) * w;
  }
  const double n = 7840, mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 5 * 0.01 / std::sqrt(n));
  EXPECT_NEAR(sd, 0.01, 5 * 0.01 / std::sqrt(2 * n));
  for (float b : m.bias()) EXPECT_EQ(b, 0.0f);
}

TEST(ModelTest, LogitsAreXWtPlusB) {
  SoftmaxRegression m(3, 2);
  const float w[] = {1, 2, 3, -1, 0, 1};
  std::copy(std::begin(w), std::end(w), m.weight().begin());
  m.bias()[0] = 0.5f;
  m.bias()[1] = -0.5f;
  Matrix<float> x(2, 3);
  x.data = {1, 1, 1, 0, 2, 0};
  const Matrix<float> o = m.logits(x);
  EXPECT_FLOAT_EQ(o(0, 0), 6.5f);
  EXPECT_FLOAT_EQ(o(0, 1), -0.5f);
  EXPECT_FLOAT_EQ(o(1, 0), 4.5f);
  EXPECT_FLOAT_EQ(o(1, 1), -0.5f);
  EXPECT_EQ(m.predict(x), (std::vector<std::int32_t>{0, 0}));
  const Matrix<float> p = m.predict_proba(x);
  EXPECT_NEAR(p(0, 0) + p(0, 1), 1.0f, 1e-6);
  EXPECT_NEAR(p(0, 1), 1 / (1 + std::exp(7.0)), 1e-6);
}

}  // namespace
}  // namespace softreg
