#include "softreg/train.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numbers>

#include "fixtures.hpp"
#include "softreg/batch.hpp"
#include "softreg/ops.hpp"

namespace softreg {
namespace {

// The lesson's loop written with ops.hpp in float64, with the rate lr(t) at step t (0-based over
// the run): the weights and each epoch's mean loss.
struct PlainRun {
  std::vector<double> w, b, epoch_loss;
  std::vector<double> aw, ab;  // with opt.average_from: the mean of w, b after every step since
};
PlainRun plain_fit(const SoftmaxRegression& start, const Dataset& train, const TrainOptions& opt,
                   Rng& rng, const std::function<double(std::size_t)>& lr) {
  const std::size_t d = train.inputs, k = start.outputs();
  PlainRun p{{start.weight().begin(), start.weight().end()},
             {start.bias().begin(), start.bias().end()},
             {}};
  BatchOrder order(train.rows, opt.batch_size);
  std::size_t t = 0;
  double averaged = 0;
  for (int epoch = 0; epoch < opt.epochs; ++epoch) {
    order.shuffle(rng);
    double loss_sum = 0;
    for (std::size_t bi = 0; bi < order.batches(); ++bi, ++t) {
      const auto rows = order.batch(bi);
      const auto y = gather_labels(train, rows);
      Matrix<double> o(rows.size(), k);
      for (std::size_t r = 0; r < rows.size(); ++r)
        for (std::size_t c = 0; c < k; ++c) {
          o(r, c) = p.b[c];
          for (std::size_t j = 0; j < d; ++j)
            o(r, c) += p.w[c * d + j] * train.pixels[rows[r] * d + j] / 255.0;
        }
      for (double l : cross_entropy(o, y)) loss_sum += l;
      const Matrix<double> g = cross_entropy_backward(o, y);
      const double eta = lr(t);
      for (std::size_t c = 0; c < k; ++c) {
        double gb = 0;
        for (std::size_t r = 0; r < rows.size(); ++r) gb += g(r, c);
        for (std::size_t j = 0; j < d; ++j) {
          double gw = 0;
          for (std::size_t r = 0; r < rows.size(); ++r)
            gw += g(r, c) * train.pixels[rows[r] * d + j] / 255.0;
          p.w[c * d + j] -= eta * gw;
        }
        p.b[c] -= eta * gb;
      }
      if (opt.average_from != 0 && epoch + 1 >= opt.average_from) {
        // The running mean, updated eagerly at every step.
        if (p.aw.empty()) {
          p.aw.assign(p.w.size(), 0.0);
          p.ab.assign(p.b.size(), 0.0);
        }
        ++averaged;
        for (std::size_t i = 0; i < p.w.size(); ++i) p.aw[i] += (p.w[i] - p.aw[i]) / averaged;
        for (std::size_t i = 0; i < p.b.size(); ++i) p.ab[i] += (p.b[i] - p.ab[i]) / averaged;
      }
    }
    p.epoch_loss.push_back(loss_sum / static_cast<double>(train.rows));
  }
  return p;
}

// The trainer and the plain loop from the same start on 70 rows of 30 inputs in 4 classes.
struct SideBySide {
  SoftmaxRegression fast{30, 4};
  std::vector<EpochMetrics> history;
  PlainRun plain;
  Rng rng_fast{3}, rng_plain{3};
  SideBySide(const TrainOptions& opt, const std::function<double(std::size_t)>& lr) {
    const Dataset train = test::synthetic_bytes(70, 30, 4, 1),
                  test = test::synthetic_bytes(20, 30, 4, 2);
    fast.init(rng_fast, 0.01f);
    const SoftmaxRegression start = fast;
    rng_plain = rng_fast;
    history = Trainer(opt).fit(fast, train, test, rng_fast);
    plain = plain_fit(start, train, opt, rng_plain, lr);
  }
};

TEST(TrainTest, FitEqualsThePlainLessonLoopIncludingThePartialLastBatch) {
  // 70 rows in batches of 16: the last batch has 6 rows, and its gradient is a mean over 6.
  TrainOptions opt;
  opt.epochs = 3;
  opt.batch_size = 16;
  opt.sgd.lr = 0.5f;
  SideBySide run(opt, [](std::size_t) { return 0.5; });
  const SoftmaxRegression& fast = run.fast;
  const std::vector<EpochMetrics>& history = run.history;
  const PlainRun& p = run.plain;
  // The epoch's loss is the mean over all 70 examples, not the mean of the batch means.
  for (int epoch = 0; epoch < opt.epochs; ++epoch)
    EXPECT_NEAR(history[epoch].loss, p.epoch_loss[epoch], 1e-5 * p.epoch_loss[epoch]);
  for (std::size_t i = 0; i < p.w.size(); ++i) EXPECT_NEAR(fast.weight()[i], p.w[i], 1e-5);
  for (std::size_t i = 0; i < p.b.size(); ++i) EXPECT_NEAR(fast.bias()[i], p.b[i], 1e-5);
  EXPECT_GT(history.back().test_accuracy, 0.9);  // the classes are separable
  // fit drew one shuffle per epoch from rng, as the loop above did (it shuffles the next epoch's
  // order while it evaluates, and not after the last epoch): the streams go on alike.
  EXPECT_EQ(run.rng_fast.next(), run.rng_plain.next());
}

// --average on dense rows: the model (and each epoch's evaluation) is the mean of the weights
// after every step from the start of epoch 2, against the plain loop's mean kept eagerly.
TEST(TrainTest, AveragedSgdIsTheMeanOfTheWeightsAfterEveryStep) {
  TrainOptions opt;
  opt.epochs = 3;
  opt.batch_size = 16;
  opt.sgd.lr = 0.5f;
  opt.average_from = 2;
  SideBySide run(opt, [](std::size_t) { return 0.5; });
  const PlainRun& p = run.plain;
  ASSERT_EQ(p.aw.size(), p.w.size());
  double worst = 0, apart = 0;
  for (std::size_t i = 0; i < p.aw.size(); ++i) {
    worst = std::max(worst, std::abs(run.fast.weight()[i] - p.aw[i]));
    apart = std::max(apart, std::abs(p.w[i] - p.aw[i]));
  }
  for (std::size_t i = 0; i < p.ab.size(); ++i)
    worst = std::max(worst, std::abs(run.fast.bias()[i] - p.ab[i]));
  EXPECT_LT(worst, 1e-5);
  EXPECT_GT(apart, 1e-3) << "the mean is not the last weights: the test tells them apart";
  opt.average_from = 4;
  EXPECT_THROW(SideBySide(opt, [](std::size_t) { return 0.5; }), InputError)
      << "averaging that would start after the last epoch";
}

// Early stopping on a training set built to be memorised (40 rows with random labels, a large
// rate): the validation loss, on rows of the real pattern, rises after the first epochs. The run
// stops `patience` epochs after the lowest, and its weights are those after that epoch: the
// weights of a run of that many epochs from the same start, bit for bit.
TEST(TrainTest, EarlyStoppingKeepsTheWeightsOfTheBestValidationEpoch) {
  Dataset train = test::synthetic_bytes(40, 30, 4, 1);
  Rng noise(9);
  for (auto& y : train.labels) y = static_cast<std::int32_t>(noise.below(4));
  const Dataset validation = test::synthetic_bytes(200, 30, 4, 2),
                test = test::synthetic_bytes(50, 30, 4, 3);
  TrainOptions opt;
  opt.epochs = 60;
  opt.batch_size = 8;
  opt.sgd.lr = 2.0f;
  opt.early_stopping = 3;
  SoftmaxRegression stopped(30, 4);
  Rng rng(3);
  stopped.init(rng, 0.01f);
  const SoftmaxRegression start = stopped;
  Rng rng_again = rng;
  const auto history = Trainer(opt).validate_on(validation).fit(stopped, train, test, rng);
  const int best = best_validation_epoch(history);
  ASSERT_GT(best, 0);
  EXPECT_EQ(history.size(), static_cast<std::size_t>(best + 3)) << "3 epochs without a lower loss";
  EXPECT_LT(history.size(), 60u) << "stopped early";
  for (const EpochMetrics& m : history)
    EXPECT_GE(m.validation_loss, history[best - 1].validation_loss);
  TrainOptions shorter = opt;
  shorter.epochs = best;
  shorter.early_stopping = 0;
  SoftmaxRegression plain = start;
  Trainer(shorter).fit(plain, train, test, rng_again);
  EXPECT_EQ(std::vector<float>(stopped.weight().begin(), stopped.weight().end()),
            std::vector<float>(plain.weight().begin(), plain.weight().end()));
  EXPECT_EQ(std::vector<float>(stopped.bias().begin(), stopped.bias().end()),
            std::vector<float>(plain.bias().begin(), plain.bias().end()));
  // Without a validation set there is nothing to stop on.
  SoftmaxRegression other = start;
  EXPECT_THROW(Trainer(opt).fit(other, train, test, rng_again), InputError);
}

// Each schedule's rate at chosen steps, against its formula (docs/cli.md): 10 steps an epoch,
// 6 epochs.
TEST(TrainTest, ScheduledRatesAreTheFormulas) {
  TrainOptions o;
  o.epochs = 6;
  o.sgd.lr = 0.8f;
  const std::uint64_t B = 10, T = 60;
  auto at = [&](std::uint64_t t) { return static_cast<double>(scheduled_lr(o, t, B)); };
  for (std::uint64_t t : {0u, 9u, 35u, 59u}) EXPECT_FLOAT_EQ(at(t), 0.8) << t;
  o.schedule = TrainOptions::Schedule::step;
  o.step_every = 2;
  o.step_gamma = 0.5f;
  EXPECT_FLOAT_EQ(at(0), 0.8);
  EXPECT_FLOAT_EQ(at(19), 0.8);   // epoch 2
  EXPECT_FLOAT_EQ(at(20), 0.4);   // epoch 3: the first decay
  EXPECT_FLOAT_EQ(at(45), 0.2);   // epoch 5
  EXPECT_FLOAT_EQ(at(500), 0.2);  // past the run: the last epoch's
  o.schedule = TrainOptions::Schedule::cosine;
  EXPECT_FLOAT_EQ(at(0), 0.8);
  EXPECT_FLOAT_EQ(at(T / 2), 0.4);
  EXPECT_FLOAT_EQ(at(15), 0.8 * 0.5 * (1 + std::cos(std::numbers::pi * 15 / 60)));
  EXPECT_FLOAT_EQ(at(T - 1), 0.8 * 0.5 * (1 + std::cos(std::numbers::pi * 59 / 60)));
  EXPECT_GT(at(T - 1), 0.0);
  o.schedule = TrainOptions::Schedule::linear;
  for (std::uint64_t e = 1; e <= 6; ++e) {
    EXPECT_FLOAT_EQ(at((e - 1) * B), 0.8 * static_cast<double>(6 - e + 1) / 6) << e;
    EXPECT_FLOAT_EQ(at(e * B - 1), at((e - 1) * B)) << "one rate an epoch";
  }
  // Warm-up: (t + 1) / W of the schedule's rate for t < W, then the schedule's.
  o.warmup = 4;
  EXPECT_FLOAT_EQ(at(0), 0.8 * 1 / 4);
  EXPECT_FLOAT_EQ(at(2), 0.8 * 3 / 4);
  EXPECT_FLOAT_EQ(at(3), 0.8);
  EXPECT_FLOAT_EQ(at(12), 0.8 * 5 / 6);
  o.schedule = TrainOptions::Schedule::cosine;
  EXPECT_FLOAT_EQ(at(1), 0.8 * 0.5 * (1 + std::cos(std::numbers::pi * 1 / 60)) * 2 / 4);
}

// The trainer takes each step at its scheduled rate: cosine with warm-up against the plain loop
// given the same rates, written out here.
TEST(TrainTest, FitTakesEachStepAtItsScheduledRate) {
  TrainOptions opt;
  opt.epochs = 3;
  opt.batch_size = 16;  // 5 batches an epoch, 15 steps
  opt.sgd.lr = 0.5f;
  opt.schedule = TrainOptions::Schedule::cosine;
  opt.warmup = 3;
  SideBySide run(opt, [](std::size_t t) {
    const double cosine =
        0.5 * 0.5 * (1 + std::cos(std::numbers::pi * static_cast<double>(t) / 15));
    return t < 3 ? cosine * static_cast<double>(t + 1) / 3 : cosine;
  });
  const SoftmaxRegression& fast = run.fast;
  const std::vector<EpochMetrics>& history = run.history;
  const PlainRun& p = run.plain;
  for (std::size_t i = 0; i < p.w.size(); ++i) EXPECT_NEAR(fast.weight()[i], p.w[i], 1e-5);
  for (std::size_t i = 0; i < p.b.size(); ++i) EXPECT_NEAR(fast.bias()[i], p.b[i], 1e-5);
  // The constant rate's weights are elsewhere: the test tells the two apart.
  TrainOptions flat = opt;
  flat.schedule = TrainOptions::Schedule::constant;
  flat.warmup = 0;
  const SideBySide constant(flat, [](std::size_t) { return 0.5; });
  double apart = 0;
  for (std::size_t i = 0; i < p.w.size(); ++i)
    apart = std::max(apart, std::abs(constant.fast.weight()[i] - p.w[i]));
  EXPECT_GT(apart, 1e-3);
  EXPECT_FLOAT_EQ(static_cast<float>(history.back().lr),
                  static_cast<float>(0.25 * (1 + std::cos(std::numbers::pi * 14 / 15))));
}

TEST(TrainTest, WeightsAreBitIdenticalForOneTwoAndThreeThreads) {
  const Dataset train = test::synthetic_bytes(3000, 785, 10, 4),
                test = test::synthetic_bytes(100, 785, 10, 5);
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
  const Dataset train = test::synthetic_bytes(500, 50, 3, 6),
                test = test::synthetic_bytes(50, 50, 3, 7);
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
  const Dataset train = test::synthetic_bytes(200, 50, 3, 8),
                test = test::synthetic_bytes(20, 50, 3, 9);
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
    EXPECT_NE(std::string(e.what()).find("`lr` 1e+37"), std::string::npos) << e.what();
  }
}

TEST(TrainTest, ReportsEveryEpochThroughTheCallback) {
  const Dataset train = test::synthetic_bytes(100, 20, 2, 10),
                test = test::synthetic_bytes(30, 20, 2, 11);
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
