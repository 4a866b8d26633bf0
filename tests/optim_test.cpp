#include "softreg/optim.hpp"

#include <gtest/gtest.h>

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
