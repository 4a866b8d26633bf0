#include "softreg/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace softreg {
namespace {

TEST(MetricsTest, StandardErrorOfAccuracy) {
  EXPECT_DOUBLE_EQ(accuracy_stderr(0.5, 100), 0.05);
  EXPECT_NEAR(accuracy_stderr(0.834, 10000), std::sqrt(0.834 * 0.166 / 10000), 1e-15);
  EXPECT_TRUE(std::isnan(accuracy_stderr(0.5, 0)));
}

TEST(MetricsTest, ConfusionMatrixCountsTruthByPrediction) {
  const std::vector<std::int32_t> truth = {0, 0, 1, 1, 1, 2};
  const std::vector<std::int32_t> pred = {0, 1, 1, 1, 2, 2};
  const ConfusionMatrix m = confusion_matrix(truth, pred, 3);
  EXPECT_EQ(m(0, 0), 1u);
  EXPECT_EQ(m(0, 1), 1u);
  EXPECT_EQ(m(1, 2), 1u);
  EXPECT_EQ(m.total(), 6u);
  EXPECT_EQ(m.correct(), 4u);
  EXPECT_DOUBLE_EQ(m.accuracy(), 4.0 / 6);
  EXPECT_DOUBLE_EQ(m.class_accuracy(1), 2.0 / 3);
  const std::vector<std::int32_t> bad = {3, 0, 0, 0, 0, 0};
  EXPECT_THROW(confusion_matrix(bad, pred, 3), std::invalid_argument);
}

}  // namespace
}  // namespace softreg
