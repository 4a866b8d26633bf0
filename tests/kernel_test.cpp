// The fused kernel against the lesson's plain code in float64, on awkward sizes.
#include "softreg/kernel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include "softreg/ops.hpp"
#include "softreg/random.hpp"

namespace softreg {
namespace {

struct Problem {
  std::size_t rows, inputs, classes;
  std::vector<std::uint8_t> bytes;
  std::vector<float> floats;
  std::vector<std::int32_t> labels;
  SoftmaxRegression model;

  Problem(std::size_t n, std::size_t d, std::size_t k, std::uint64_t seed)
      : rows(n), inputs(d), classes(k), bytes(n * d), floats(n * d), labels(n), model(d, k) {
    Rng rng(seed);
    for (std::size_t i = 0; i < n * d; ++i) {
      bytes[i] = static_cast<std::uint8_t>(rng.below(256));
      floats[i] = static_cast<float>(rng.normal());
    }
    for (auto& y : labels) y = static_cast<std::int32_t>(rng.below(k));
    // Larger weights than the lesson's 0.01, so the softmax is far from uniform.
    model.init(rng, 0.05f);
    for (float& b : model.bias()) b = static_cast<float>(rng.normal());
  }
  Features features(bool as_bytes) const {
    return as_bytes ? Features{bytes.data(), nullptr, inputs, 1.0f / 255}
                    : Features{nullptr, floats.data(), inputs, 1.0f};
  }
  // Row r of the batch as float64, scaled.
  double x(bool as_bytes, std::size_t r, std::size_t j) const {
    return as_bytes ? bytes[r * inputs + j] / 255.0 : static_cast<double>(floats[r * inputs + j]);
  }
};

// max |a - b| / max |b|: the normalised error of a whole array (an element-wise relative error
// means nothing for entries near zero).
double normalised_error(std::span<const double> want, std::span<const float> got) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    num = std::max(num, std::abs(want[i] - static_cast<double>(got[i])));
    den = std::max(den, std::abs(want[i]));
  }
  return num / den;
}

struct Reference {
  Matrix<double> logits;
  double loss_sum = 0;
  std::size_t correct = 0;
  std::vector<double> grad_w, grad_b;
};

// The plain lesson, in float64: O = X Wᵀ + b; losses; dO = (softmax - onehot)/n; dW = dOᵀ X.
Reference reference(const Problem& p, bool as_bytes, std::span<const std::uint32_t> batch) {
  const std::size_t n = batch.size(), d = p.inputs, k = p.classes;
  Reference ref;
  ref.logits = Matrix<double>(n, k);
  std::vector<std::int32_t> y(n);
  for (std::size_t r = 0; r < n; ++r) {
    y[r] = p.labels[batch[r]];
    for (std::size_t c = 0; c < k; ++c) {
      double s = p.model.bias()[c];
      for (std::size_t j = 0; j < d; ++j)
        s += p.x(as_bytes, batch[r], j) * p.model.weight()[c * d + j];
      ref.logits(r, c) = s;
    }
  }
  for (double l : cross_entropy(ref.logits, y)) ref.loss_sum += l;
  ref.correct = count_correct(ref.logits, y);
  const Matrix<double> g = cross_entropy_backward(ref.logits, y);
  ref.grad_w.assign(k * d, 0.0);
  ref.grad_b.assign(k, 0.0);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < k; ++c) {
      ref.grad_b[c] += g(r, c);
      for (std::size_t j = 0; j < d; ++j)
        ref.grad_w[c * d + j] += g(r, c) * p.x(as_bytes, batch[r], j);
    }
  return ref;
}

struct Shape {
  std::size_t batch, inputs, classes;
};

class KernelVsOps : public ::testing::TestWithParam<std::tuple<Shape, bool, unsigned>> {};

TEST_P(KernelVsOps, StepMatchesPlainFloat64Reference) {
  const auto [shape, as_bytes, threads] = GetParam();
  const std::size_t total = shape.batch + 11;
  Problem p(total, shape.inputs, shape.classes, 100 + shape.batch * 7 + shape.inputs);
  // A batch of distinct rows in scrambled order, as after a shuffle.
  std::vector<std::uint32_t> batch(total);
  std::iota(batch.begin(), batch.end(), 0u);
  Rng rng(9);
  shuffle(batch, rng);
  batch.resize(shape.batch);

  ThreadPool pool(threads);
  SoftmaxKernel kernel(shape.inputs, shape.classes, 16);  // smaller than the batch: must grow
  Gradients grad;
  const PassStats s = kernel.step(p.model, p.features(as_bytes), p.labels, batch, grad, pool);
  const Reference ref = reference(p, as_bytes, batch);

  EXPECT_EQ(s.rows, shape.batch);
  EXPECT_LE(std::abs(s.loss_sum - ref.loss_sum) / ref.loss_sum, 1e-5);
  EXPECT_LE(normalised_error(ref.grad_w, grad.weight), 1e-5);
  EXPECT_LE(normalised_error(ref.grad_b, grad.bias), 1e-5);
  // A near-tie between two logits could flip one argmax in float; none of these cases has one,
  // so the counts agree exactly.
  EXPECT_EQ(s.correct, ref.correct);

  // Logits and evaluation by the same forward code, over the whole data set.
  std::vector<std::uint32_t> all(total);
  std::iota(all.begin(), all.end(), 0u);
  const Reference full = reference(p, as_bytes, all);
  const Matrix<float> o = logits(p.model, p.features(as_bytes), total, pool);
  EXPECT_LE(normalised_error(full.logits.data, o.data), 1e-5);
  std::vector<std::int32_t> predicted(total);
  const PassStats e = evaluate(p.model, p.features(as_bytes), p.labels, total, pool, predicted);
  EXPECT_EQ(e.rows, total);
  EXPECT_EQ(e.correct, full.correct);
  EXPECT_LE(std::abs(e.loss_sum - full.loss_sum) / full.loss_sum, 1e-5);
  for (std::size_t r = 0; r < total; ++r)
    EXPECT_EQ(predicted[r], static_cast<std::int32_t>(argmax(full.logits.row(r))));
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardSizes, KernelVsOps,
    ::testing::Combine(::testing::Values(Shape{1, 784, 10}, Shape{7, 13, 3}, Shape{255, 785, 10},
                                         Shape{256, 784, 10}, Shape{257, 100, 2}, Shape{33, 31, 11},
                                         Shape{64, 47, 23}),
                       ::testing::Bool(), ::testing::Values(1u, 2u, 3u)));

TEST(KernelTest, StepIsBitIdenticalForEveryThreadCount) {
  // 785 inputs: no whole vectors at the end of a row; 784: every row of W and dW on whole vectors.
  // 200 rows are 2 chunks (two threads add the other's partial gradient into dW as they go), 300
  // rows 3, 1000 rows 8, more than any team here has members.
  for (const std::size_t d : {785u, 784u}) {
    for (const std::size_t n : {200u, 300u, 1000u}) {
      Problem p(n, d, 10, 77);
      std::vector<std::uint32_t> batch(n);
      std::iota(batch.begin(), batch.end(), 0u);
      std::vector<std::vector<float>> results;
      for (unsigned threads : {1u, 2u, 3u, 5u}) {
        ThreadPool pool(threads);
        SoftmaxKernel kernel(d, 10, n);
        Gradients grad;
        kernel.step(p.model, p.features(true), p.labels, batch, grad, pool);
        results.emplace_back(grad.weight.begin(), grad.weight.end());
        results.back().insert(results.back().end(), grad.bias.begin(), grad.bias.end());
      }
      for (std::size_t i = 1; i < results.size(); ++i)
        EXPECT_EQ(0, std::memcmp(results[0].data(), results[i].data(), results[0].size() * 4))
            << d << " inputs, " << n << " rows, thread count #" << i;
    }
  }
}

TEST(KernelTest, WeightBlocksCoverDwOnceAndSeeItFinal) {
  // The callback through which the trainer updates W: every entry of dW in exactly one block,
  // and each block already holds the final gradient (the one a step without callback returns).
  for (std::size_t batch_size : {1u, 100u, 300u}) {
    for (unsigned threads : {1u, 2u, 3u}) {
      Problem p(300, 785, 10, 91);
      std::vector<std::uint32_t> batch(batch_size);
      std::iota(batch.begin(), batch.end(), 0u);
      ThreadPool pool(threads);
      SoftmaxKernel kernel(785, 10, batch_size);
      Gradients plain, seen;
      kernel.step(p.model, p.features(true), p.labels, batch, plain, pool);
      std::vector<std::atomic<int>> visits(plain.weight.size());
      std::vector<float> copied(plain.weight.size());
      kernel.step(p.model, p.features(true), p.labels, batch, seen, pool,
                  [&](std::size_t begin, std::size_t end) {
                    for (std::size_t i = begin; i < end; ++i) {
                      visits[i].fetch_add(1);
                      copied[i] = seen.weight[i];
                    }
                  });
      for (std::size_t i = 0; i < visits.size(); ++i)
        ASSERT_EQ(visits[i].load(), 1) << "entry " << i << ", batch " << batch_size;
      EXPECT_EQ(0, std::memcmp(plain.weight.data(), copied.data(), copied.size() * 4))
          << "batch " << batch_size << ", threads " << threads;
    }
  }
}

TEST(KernelTest, ARowsLogitsDoNotDependOnTheRowBesideIt) {
  // The forward pass takes rows in pairs and sums the lanes of a pair's 20 accumulators (10
  // classes) several at once; a row on its own is summed one accumulator at a time. Both must
  // give the same bits, or a row's logits would depend on where it falls in a batch.
  for (const std::size_t k : {10u, 3u}) {
    Problem p(7, 785, k, 4);
    ThreadPool pool(1);
    const Matrix<float> together = logits(p.model, p.features(true), 7, pool);
    for (std::size_t r = 0; r < 7; ++r) {
      Features one = p.features(true);
      one.bytes += r * p.inputs;
      const Matrix<float> alone = logits(p.model, one, 1, pool);
      EXPECT_EQ(0, std::memcmp(alone.row(0).data(), together.row(r).data(), k * sizeof(float)))
          << "row " << r << ", " << k << " classes";
    }
  }
}

TEST(KernelTest, EvaluateRunsTheJobAlongsideOnceAndCountsTheSame) {
  Problem p(1000, 47, 5, 9);
  for (unsigned threads : {1u, 2u, 3u}) {
    ThreadPool pool(threads);
    for (std::size_t rows : {0u, 1u, 1000u}) {
      const PassStats plain = evaluate(p.model, p.features(true), p.labels, rows, pool);
      std::atomic<int> calls{0};
      const PassStats with = evaluate(p.model, p.features(true), p.labels, rows, pool, {},
                                      [&] { calls.fetch_add(1); });
      EXPECT_EQ(calls.load(), 1);
      EXPECT_EQ(with.rows, rows);
      EXPECT_EQ(with.correct, plain.correct);
      EXPECT_EQ(with.loss_sum, plain.loss_sum);
    }
  }
}

// The softmax's exponential, on a million floats spread evenly (by bit pattern) over [-87.33, 0]:
// each within 1.5 ulp of e^x, the promise of kernel.hpp.
TEST(KernelTest, ExpIsWithinOneAndAHalfUlpOfTheExactValue) {
  std::uint32_t lowest_bits;
  const float lowest = -87.33f;
  std::memcpy(&lowest_bits, &lowest, sizeof lowest_bits);
  const std::uint32_t negative_zero = 0x80000000u, stride = (lowest_bits - negative_zero) / 1000000;
  std::vector<float> x;
  for (std::uint32_t bits = negative_zero; bits <= lowest_bits; bits += stride) {
    float v;
    std::memcpy(&v, &bits, sizeof v);
    x.push_back(v);
  }
  x.push_back(lowest);
  std::vector<float> e = x;
  exp_nonpositive(e);
  double worst = 0.0;
  float worst_at = 0.0f;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double exact = std::exp(static_cast<double>(x[i]));
    const auto rounded = static_cast<float>(exact);
    const double ulp = std::nextafter(rounded, INFINITY) - rounded;
    const double err = std::abs(static_cast<double>(e[i]) - exact) / ulp;
    if (err > worst) {
      worst = err;
      worst_at = x[i];
    }
  }
  EXPECT_LE(worst, 1.5) << "at x = " << worst_at;
  EXPECT_GT(x.size(), 1000000u);
}

TEST(KernelTest, ExpOfTheEdgesAndTheSameInEveryLane) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.0f, -0.0f, -1e-30f, -87.34f, -100.0f, -inf, std::nanf("")};
  exp_nonpositive(x);
  EXPECT_EQ(x[0], 1.0f);  // the largest logit's term of the softmax sum is exactly 1
  EXPECT_EQ(x[1], 1.0f);
  EXPECT_EQ(x[2], 1.0f);
  EXPECT_EQ(x[3], 0.0f);
  EXPECT_EQ(x[4], 0.0f);
  EXPECT_EQ(x[5], 0.0f);
  EXPECT_TRUE(std::isnan(x[6]));  // a diverged logit must still show in the loss
  // A value gives the same result in every lane and in the tail that is not a whole vector.
  for (float v : {-0.1f, -3.7f, -50.25f}) {
    std::vector<float> same(3 * kernel_lanes() + 3, v);
    exp_nonpositive(same);
    for (float got : same) EXPECT_EQ(got, same[0]) << v;
  }
}

// Logits far apart (W = 0, b = 500, 0, -500): the naive softmax would overflow; the kernel's
// loss and gradient are exact.
TEST(KernelTest, StepIsStableForLogitsFarApart) {
  Problem p(3, 4, 3, 5);
  std::fill(p.model.weight().begin(), p.model.weight().end(), 0.0f);
  p.model.bias()[0] = 500.0f;
  p.model.bias()[1] = 0.0f;
  p.model.bias()[2] = -500.0f;
  p.labels = {0, 1, 2};
  const std::vector<std::uint32_t> batch = {0, 1, 2};
  ThreadPool pool(1);
  SoftmaxKernel kernel(4, 3, 3);
  Gradients grad;
  const PassStats s = kernel.step(p.model, p.features(true), p.labels, batch, grad, pool);
  EXPECT_EQ(s.loss_sum, 0.0 + 500.0 + 1000.0);
  EXPECT_EQ(s.correct, 1u);
  // Every row predicts class 0 with p = 1: db = mean(p - onehot) = (2/3, -1/3, -1/3).
  EXPECT_FLOAT_EQ(grad.bias[0], 2.0f / 3.0f);
  EXPECT_FLOAT_EQ(grad.bias[1], -1.0f / 3.0f);
  EXPECT_FLOAT_EQ(grad.bias[2], -1.0f / 3.0f);
}

TEST(KernelTest, NonFiniteWeightsGiveNonFiniteLoss) {
  Problem p(8, 20, 3, 5);
  p.model.weight()[3] = std::numeric_limits<float>::infinity();
  std::vector<std::uint32_t> batch = {0, 1, 2, 3};
  ThreadPool pool(1);
  SoftmaxKernel kernel(20, 3, 4);
  Gradients grad;
  EXPECT_FALSE(
      std::isfinite(kernel.step(p.model, p.features(true), p.labels, batch, grad, pool).loss_sum));
}

TEST(KernelTest, DivergedBatchDoesNotCallTheWeightUpdate) {
  // The trainer stops at a non-finite loss and promises the weights from before that batch.
  Problem p(300, 20, 3, 5);
  p.model.weight()[3] = std::numeric_limits<float>::infinity();
  std::vector<std::uint32_t> batch(300);
  std::iota(batch.begin(), batch.end(), 0u);
  ThreadPool pool(2);
  SoftmaxKernel kernel(20, 3, 300);
  Gradients grad;
  std::atomic<int> calls{0};
  const PassStats s = kernel.step(p.model, p.features(true), p.labels, batch, grad, pool,
                                  [&](std::size_t, std::size_t) { ++calls; });
  EXPECT_FALSE(std::isfinite(s.loss_sum));
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace softreg

namespace softreg {
namespace {

// Logistic regression (one logit, sigmoid, binary cross-entropy) against float64 definitions.
TEST(KernelLogisticTest, StepAndEvaluateMatchTheDefinitions) {
  for (const std::size_t n : {1u, 7u, 64u, 257u}) {
    const std::size_t d = 31;
    Rng rng(n);
    std::vector<float> x(n * d);
    std::vector<std::int32_t> y(n);
    for (auto& v : x) v = static_cast<float>(rng.normal());
    for (auto& v : y) v = static_cast<std::int32_t>(rng.below(2));
    SoftmaxRegression model(d, 2, Output::logistic);
    ASSERT_EQ(model.outputs(), 1u);
    model.init(rng, 0.3f);
    model.bias()[0] = 0.25f;
    const Features f{nullptr, x.data(), d, 1.0f};
    std::vector<std::uint32_t> rows(n);
    std::iota(rows.begin(), rows.end(), 0u);

    double loss = 0;
    std::size_t correct = 0;
    std::vector<double> gw(d, 0.0);
    double gb = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double z = model.bias()[0];
      for (std::size_t j = 0; j < d; ++j)
        z += static_cast<double>(model.weight()[j]) * x[i * d + j];
      const double p = 1 / (1 + std::exp(-z));
      loss += y[i] == 1 ? -std::log(p) : -std::log(1 - p);
      correct += (z > 0) == (y[i] == 1);
      for (std::size_t j = 0; j < d; ++j)
        gw[j] += (p - y[i]) * x[i * d + j] / static_cast<double>(n);
      gb += (p - y[i]) / static_cast<double>(n);
    }
    ThreadPool pool(2);
    SoftmaxKernel kernel(d, 1, n);
    Gradients grad;
    const PassStats s = kernel.step(model, f, y, rows, grad, pool);
    EXPECT_LE(std::abs(s.loss_sum - loss) / loss, 1e-5) << "n " << n;
    EXPECT_EQ(s.correct, correct);
    EXPECT_LE(normalised_error(gw, grad.weight), 1e-5);
    EXPECT_NEAR(grad.bias[0], gb, 1e-6);
    const PassStats e = evaluate(model, f, y, n, pool);
    EXPECT_LE(std::abs(e.loss_sum - loss) / loss, 1e-5);
    EXPECT_EQ(e.correct, correct);
  }
}

// W and dW start on cache lines (as does the optimizer's velocity): the kernel's vector loads of W
// then never straddle two lines, and no line holds two threads' blocks of dW or W.
TEST(KernelTest, ParametersAndGradientsStartOnCacheLines) {
  for (std::size_t inputs : {1u, 13u, 785u}) {
    SoftmaxRegression model(inputs, 10);
    Gradients grad;
    grad.weight.resize(model.weight().size());
    EXPECT_EQ(0u, reinterpret_cast<std::uintptr_t>(model.weight().data()) % 64) << inputs;
    EXPECT_EQ(0u, reinterpret_cast<std::uintptr_t>(grad.weight.data()) % 64) << inputs;
  }
}

// ExactSum: the exact sum, rounded once. Where doubles lose the 1 in 1e30 + 1 - 1e30 (and the
// answer depends on the order), the wide integer keeps it.
TEST(ExactSumTest, KeepsEveryBitAndRoundsOnceToTheNearestDouble) {
  ExactSum big;
  for (const float v : {1e30f, 1.0f, -1e30f}) big.add(v);
  EXPECT_EQ(big.value(), 1.0);
  // 1 + 2^-53 is halfway between two doubles: ties to even gives 1; anything more rounds up,
  // however far below (2^-120 here): the bits below the kept ones are not dropped unseen.
  ExactSum tie, above;
  for (const float v : {1.0f, std::ldexp(1.0f, -53)}) tie.add(v), above.add(v);
  above.add(std::ldexp(1.0f, -120));
  EXPECT_EQ(tie.value(), 1.0);
  EXPECT_EQ(above.value(), 1.0 + std::ldexp(1.0, -52));
  ExactSum tiny;  // the smallest float, and a negative sum
  tiny.add(std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(tiny.value(), static_cast<double>(std::numeric_limits<float>::denorm_min()));
  tiny.add(-3.5f);
  tiny.add(-std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(tiny.value(), -3.5);
  ExactSum largest;  // the largest floats, many times: no overflow
  for (int i = 0; i < 1000; ++i) largest.add(std::numeric_limits<float>::max());
  EXPECT_EQ(largest.value(), 1000.0 * std::numeric_limits<float>::max());
  ExactSum inf, nan;
  inf.add(1.0f);
  inf.add(std::numeric_limits<float>::infinity());
  nan.add(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(inf.value(), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(nan.value()));
}

// The same floats, in any order and cut into any groups (threads, processes) and sent as bytes:
// the same bits.
TEST(ExactSumTest, AnyOrderAndAnyGroupingGiveTheSameBits) {
  Rng rng(7);
  std::vector<float> v(5000);
  for (float& x : v)
    x = static_cast<float>(std::ldexp(rng.normal(), static_cast<int>(rng.below(80)) - 40));
  ExactSum whole;
  double naive = 0.0;
  for (const float x : v) whole.add(x), naive += x;
  bool naive_differed = false;
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> w = v;
    for (std::size_t i = w.size() - 1; i > 0; --i) std::swap(w[i], w[rng.below(i + 1)]);
    const std::size_t cut = rng.below(w.size());
    ExactSum a, b;
    double shuffled = 0.0;
    for (std::size_t i = 0; i < w.size(); ++i) (i < cut ? a : b).add(w[i]), shuffled += w[i];
    ExactSum joined = ExactSum::of_bytes(b.bytes());
    joined.add(ExactSum::of_bytes(a.bytes()));
    EXPECT_EQ(std::bit_cast<std::uint64_t>(joined.value()),
              std::bit_cast<std::uint64_t>(whole.value()));
    naive_differed = naive_differed || shuffled != naive;
  }
  EXPECT_TRUE(naive_differed) << "the data should be one where the order matters for doubles";
}

// evaluate() of rows cut into two parts at any row adds up, exactly, to the whole: each row's
// logits do not depend on the rows computed with it (bytes and floats, widths with a tail).
TEST(KernelTest, EvaluatedPartsAddUpToTheWholeExactly) {
  ThreadPool pool(2);
  for (const bool as_bytes : {true, false})
    for (const std::size_t classes : {1u, 2u, 10u}) {  // 1: logistic regression
      const std::size_t n = 301, d = 30;
      Problem p(n, d, std::max<std::size_t>(classes, 2), 11);
      // Features of many sizes, as a CSV's columns are (breast_cancer.csv: 0.05 to 4000).
      for (std::size_t i = 0; i < n * d; ++i)
        p.floats[i] *= std::ldexp(1.0f, static_cast<int>(i % d) % 13 - 4);
      if (classes == 1) {
        p.model = SoftmaxRegression(d, 2, Output::logistic);
        Rng rng(3);
        p.model.init(rng, 0.05f);
      }
      const PassStats whole = evaluate(p.model, p.features(as_bytes), p.labels, n, pool);
      for (const std::size_t cut : {1u, 2u, 127u, 128u, 129u, 300u}) {
        Features head = p.features(as_bytes), tail = head;
        if (as_bytes)
          tail.bytes += cut * d;
        else
          tail.floats += cut * d;
        PassStats a = evaluate(p.model, head, std::span(p.labels).first(cut), cut, pool);
        const PassStats b =
            evaluate(p.model, tail, std::span(p.labels).subspan(cut), n - cut, pool);
        a.loss_exact.add(b.loss_exact);
        EXPECT_EQ(a.loss_exact.value(), whole.loss_sum) << classes << " classes, cut " << cut;
        EXPECT_EQ(a.correct + b.correct, whole.correct);
      }
    }
}

}  // namespace
}  // namespace softreg
