#include "softreg/train.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "softreg/batch.hpp"
#include "softreg/ops.hpp"

namespace softreg {
namespace {

// n examples of d byte features in k classes; class c brightens its own slice of the inputs.
Dataset synthetic(std::size_t n, std::size_t d, std::size_t k, std::uint64_t seed) {
  Rng rng(seed);
  Dataset ds;
  ds.rows = n;
  ds.inputs = d;
  ds.scale = 1.0f / 255;
  ds.pixels.resize(n * d);
  ds.labels.resize(n);
  for (std::size_t c = 0; c < k; ++c) ds.class_names.push_back("c" + std::to_string(c));
  for (std::size_t i = 0; i < n; ++i) {
    const auto y = static_cast<std::int32_t>(rng.below(k));
    ds.labels[i] = y;
    for (std::size_t j = 0; j < d; ++j)
      ds.pixels[i * d + j] = static_cast<std::uint8_t>(
          rng.below(100) + (j % k == static_cast<std::size_t>(y) ? 120 : 0));
  }
  ds.source = "synthetic";
  return ds;
}

TEST(TrainTest, FitEqualsThePlainLessonLoopIncludingThePartialLastBatch) {
  // 70 rows in batches of 16: the last batch has 6 rows, and its gradient is a mean over 6.
  const Dataset train = synthetic(70, 30, 4, 1), test = synthetic(20, 30, 4, 2);
  TrainOptions opt;
  opt.epochs = 3;
  opt.batch_size = 16;
  opt.sgd.lr = 0.5f;
  SoftmaxRegression fast(30, 4);
  Rng rng_fast(3);
  fast.init(rng_fast, 0.01f);
  SoftmaxRegression plain = fast;
  Rng rng_plain = rng_fast;
  const auto history = Trainer(opt).fit(fast, train, test, rng_fast);

  // The same loop written with ops.hpp in float64.
  std::vector<double> w(plain.weight().begin(), plain.weight().end());
  std::vector<double> b(plain.bias().begin(), plain.bias().end());
  BatchOrder order(train.rows, opt.batch_size);
  for (int epoch = 0; epoch < opt.epochs; ++epoch) {
    order.shuffle(rng_plain);
    double loss_sum = 0;
    for (std::size_t bi = 0; bi < order.batches(); ++bi) {
      const auto rows = order.batch(bi);
      const auto y = gather_labels(train, rows);
      Matrix<double> o(rows.size(), 4);
      for (std::size_t r = 0; r < rows.size(); ++r)
        for (std::size_t c = 0; c < 4; ++c) {
          o(r, c) = b[c];
          for (std::size_t j = 0; j < 30; ++j)
            o(r, c) += w[c * 30 + j] * train.pixels[rows[r] * 30 + j] / 255.0;
        }
      for (double l : cross_entropy(o, y)) loss_sum += l;
      const Matrix<double> g = cross_entropy_backward(o, y);
      for (std::size_t c = 0; c < 4; ++c) {
        double gb = 0;
        for (std::size_t r = 0; r < rows.size(); ++r) gb += g(r, c);
        for (std::size_t j = 0; j < 30; ++j) {
          double gw = 0;
          for (std::size_t r = 0; r < rows.size(); ++r)
            gw += g(r, c) * train.pixels[rows[r] * 30 + j] / 255.0;
          w[c * 30 + j] -= 0.5 * gw;
        }
        b[c] -= 0.5 * gb;
      }
    }
    // The epoch's loss is the mean over all 70 examples, not the mean of the batch means.
    EXPECT_NEAR(history[epoch].loss, loss_sum / 70, 1e-5 * loss_sum / 70);
  }
  for (std::size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(fast.weight()[i], w[i], 1e-5);
  for (std::size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(fast.bias()[i], b[i], 1e-5);
  EXPECT_GT(history.back().test_accuracy, 0.9);  // the classes are separable
  // fit drew one shuffle per epoch from rng, as the loop above did (it shuffles the next epoch's
  // order while it evaluates, and not after the last epoch): the streams go on alike.
  EXPECT_EQ(rng_fast.next(), rng_plain.next());
}

TEST(TrainTest, WeightsAreBitIdenticalForOneTwoAndThreeThreads) {
  const Dataset train = synthetic(3000, 785, 10, 4), test = synthetic(100, 785, 10, 5);
  std::vector<std::vector<float>> weights;
  for (unsigned threads : {1u, 2u, 3u}) {
    TrainOptions opt;
    opt.epochs = 2;
    opt.threads = threads;
    Rng rng(7);
    SoftmaxRegression model(785, 10);
    model.init(rng);
    Trainer(opt).fit(model, train, test, rng);
    std::vector<float> all(model.weight().begin(), model.weight().end());
    all.insert(all.end(), model.bias().begin(), model.bias().end());
    weights.push_back(all);
  }
  EXPECT_EQ(0, std::memcmp(weights[0].data(), weights[1].data(), weights[0].size() * 4));
  EXPECT_EQ(0, std::memcmp(weights[0].data(), weights[2].data(), weights[0].size() * 4));
}

TEST(TrainTest, SameSeedSameWeightsOtherSeedOther) {
  const Dataset train = synthetic(500, 50, 3, 6), test = synthetic(50, 50, 3, 7);
  auto run = [&](std::uint64_t seed) {
    TrainOptions opt;
    opt.epochs = 2;
    Rng rng(seed);
    SoftmaxRegression model(50, 3);
    model.init(rng);
    Trainer(opt).fit(model, train, test, rng);
    return std::vector<float>(model.weight().begin(), model.weight().end());
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
}

TEST(TrainTest, DivergenceStopsWithTheEpochAndAHint) {
  const Dataset train = synthetic(200, 50, 3, 8), test = synthetic(20, 50, 3, 9);
  TrainOptions opt;
  opt.sgd.lr = 1e38f;  // the weights overflow float within a few steps
  Rng rng(1);
  SoftmaxRegression model(50, 3);
  model.init(rng);
  std::vector<int> epochs_seen;
  TrainCallbacks cb;
  cb.on_epoch = [&](const EpochMetrics& m) { epochs_seen.push_back(m.epoch); };
  try {
    Trainer(opt).fit(model, train, test, rng, cb);
    FAIL() << "expected DivergenceError";
  } catch (const DivergenceError& e) {
    EXPECT_EQ(e.epoch, 1);
    EXPECT_TRUE(epochs_seen.empty());
    EXPECT_NE(std::string(e.what()).find("in epoch 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--lr 1e+37"), std::string::npos) << e.what();
  }
}

TEST(TrainTest, ReportsEveryEpochThroughTheCallback) {
  const Dataset train = synthetic(100, 20, 2, 10), test = synthetic(30, 20, 2, 11);
  TrainOptions opt;
  opt.epochs = 4;
  opt.batch_size = 32;
  Rng rng(1);
  SoftmaxRegression model(20, 2);
  model.init(rng);
  int epochs = 0;
  std::size_t batches = 0;
  TrainCallbacks cb;
  cb.on_epoch = [&](const EpochMetrics& m) { EXPECT_EQ(m.epoch, ++epochs); };
  cb.on_batch = [&](int, std::size_t done, std::size_t total) {
    EXPECT_EQ(total, 4u);  // 100 rows in batches of 32: 32, 32, 32, 4
    EXPECT_LE(done, total);
    ++batches;
  };
  const auto history = Trainer(opt).fit(model, train, test, rng, cb);
  EXPECT_EQ(epochs, 4);
  EXPECT_EQ(batches, 16u);
  for (const auto& m : history) {
    EXPECT_GE(m.train_accuracy, 0.0);
    EXPECT_LE(m.train_accuracy, 1.0);
    EXPECT_GE(m.seconds, 0.0);
  }
}

}  // namespace
}  // namespace softreg
