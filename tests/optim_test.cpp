#include "softreg/optim.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace softreg {
namespace {

TEST(OptimTest, PlainSgdStepsAgainstTheGradient) {
  std::vector<float> p = {1.0f, -2.0f};
  Sgd sgd(SgdOptions{.lr = 0.1f});
  const auto slot = sgd.add(p);
  const std::vector<float> g = {0.5f, -1.0f};
  sgd.step(slot, g);
  EXPECT_FLOAT_EQ(p[0], 0.95f);
  EXPECT_FLOAT_EQ(p[1], -1.9f);
}

TEST(OptimTest, MomentumAndWeightDecayFollowPyTorch) {
  // PyTorch: d = g + wd p; v = mu v + d (v0 = d); p -= lr v.
  std::vector<float> p = {1.0f};
  Sgd sgd(SgdOptions{.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f});
  const auto slot = sgd.add(p);
  const std::vector<float> g = {1.0f};
  sgd.step(slot, g);  // d = 1.01, v = 1.01, p = 1 - 0.101 = 0.899
  EXPECT_FLOAT_EQ(p[0], 0.899f);
  sgd.step(slot,
           g);  // d = 1 + 0.00899 = 1.00899, v = 0.909 + 1.00899 = 1.91799, p = 0.899 - 0.191799
  EXPECT_NEAR(p[0], 0.707201f, 1e-6);
}

TEST(OptimTest, AdaGradFollowsPyTorchsAdagrad) {
  // torch.optim.Adagrad(lr, weight_decay): d = g + wd p; G += d²; p -= lr d / (√G + 1e-10).
  std::vector<float> p = {1.0f, -0.5f}, q = {2.0f};
  Sgd sgd(SgdOptions{.lr = 0.1f, .weight_decay = 0.01f, .adagrad = true});
  const auto ps = sgd.add(p), qs = sgd.add(q, /*decay=*/false);
  std::vector<double> rp = {1.0, -0.5}, gp = {0.0, 0.0}, rq = {2.0}, gq = {0.0};
  const std::vector<std::vector<float>> grads = {{0.5f, -1.0f}, {0.25f, 2.0f}, {-0.75f, 0.0f}};
  for (const auto& g : grads) {
    sgd.step(ps, g);
    sgd.step(qs, std::vector<float>{g[0]});
    for (std::size_t i = 0; i < 2; ++i) {
      const double d = g[i] + 0.01 * rp[i];
      gp[i] += d * d;
      rp[i] -= 0.1 * d / (std::sqrt(gp[i]) + 1e-10);
    }
    gq[0] += static_cast<double>(g[0]) * g[0];
    rq[0] -= 0.1 * g[0] / (std::sqrt(gq[0]) + 1e-10);
  }
  for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(p[i], rp[i], 1e-6) << i;
  EXPECT_NEAR(q[0], rq[0], 1e-6) << "no decay on a parameter added without";
  EXPECT_THROW(Sgd(SgdOptions{.momentum = 0.9f, .adagrad = true}).add(p), std::invalid_argument);
}

TEST(OptimTest, GradientOfWrongLengthIsRejected) {
  std::vector<float> p(3);
  Sgd sgd(SgdOptions{});
  const auto slot = sgd.add(p);
  const std::vector<float> g(2);
  EXPECT_THROW(sgd.step(slot, g), std::invalid_argument);
}

TEST(OptimTest, StepsOnDisjointRangesEqualOneWholeStep) {
  // The trainer updates W block by block on several threads: with momentum and weight decay the
  // blocks together must give exactly the whole step, twice in a row (the velocity carries over).
  const SgdOptions options{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.001f};
  std::vector<float> whole(10), pieces(10), g(10);
  for (std::size_t i = 0; i < 10; ++i) {
    whole[i] = pieces[i] = 0.1f * static_cast<float>(i) - 0.3f;
    g[i] = 0.7f - 0.13f * static_cast<float>(i);
  }
  Sgd a(options), b(options);
  const auto sa = a.add(whole), sb = b.add(pieces);
  for (int step = 0; step < 2; ++step) {
    a.step(sa, g);
    b.step(sb, g, 6, 10);
    b.step(sb, g, 0, 3);
    b.step(sb, g, 3, 6);
  }
  EXPECT_EQ(whole, pieces);
}

TEST(OptimTest, RangeOutsideTheParameterIsRejected) {
  std::vector<float> p(3);
  Sgd sgd(SgdOptions{});
  const auto slot = sgd.add(p);
  const std::vector<float> g(3);
  EXPECT_THROW(sgd.step(slot, g, 2, 4), std::invalid_argument);
  EXPECT_THROW(sgd.step(slot, g, 2, 1), std::invalid_argument);
}

}  // namespace
}  // namespace softreg
