#include "softreg/batch.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace softreg {
namespace {

TEST(BatchTest, BatchesCoverEveryRowOnceWithAPartialLastBatch) {
  BatchOrder order(10, 4);
  Rng rng(1);
  order.shuffle(rng);
  ASSERT_EQ(order.batches(), 3u);
  EXPECT_EQ(order.batch(0).size(), 4u);
  EXPECT_EQ(order.batch(1).size(), 4u);
  EXPECT_EQ(order.batch(2).size(), 2u);
  std::vector<std::uint32_t> seen;
  for (std::size_t b = 0; b < 3; ++b)
    for (auto r : order.batch(b)) seen.push_back(r);
  std::sort(seen.begin(), seen.end());
  for (std::uint32_t i = 0; i < 10; ++i) EXPECT_EQ(seen[i], i);
}

TEST(BatchTest, ReshufflingChangesTheOrder) {
  BatchOrder order(100, 100);
  Rng rng(2);
  order.shuffle(rng);
  const auto first = std::vector<std::uint32_t>(order.batch(0).begin(), order.batch(0).end());
  order.shuffle(rng);
  const auto second = std::vector<std::uint32_t>(order.batch(0).begin(), order.batch(0).end());
  EXPECT_NE(first, second);
}

TEST(BatchTest, GatherScalesBytesAndKeepsLabels) {
  Dataset d;
  d.rows = 3;
  d.inputs = 2;
  d.pixels = {0, 255, 51, 102, 10, 20};
  d.labels = {4, 5, 6};
  d.scale = 1.0f / 255;
  const std::vector<std::uint32_t> idx = {2, 0};
  const Matrix<float> x = gather_features(d, idx);
  ASSERT_EQ(x.rows, 2u);
  EXPECT_FLOAT_EQ(x(0, 0), 10 / 255.0f);
  EXPECT_FLOAT_EQ(x(1, 1), 1.0f);
  EXPECT_EQ(gather_labels(d, idx), (std::vector<std::int32_t>{6, 4}));
}

TEST(BatchTest, ZeroBatchSizeIsRejected) {
  EXPECT_THROW(BatchOrder(5, 0), std::invalid_argument);
}

}  // namespace
}  // namespace softreg
