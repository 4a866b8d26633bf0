// The lesson's functions against plain float64 references written here, on random inputs.
#include "softreg/ops.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "softreg/random.hpp"

namespace softreg {
namespace {

Matrix<double> random_logits(std::size_t rows, std::size_t cols, double spread, Rng& rng) {
  Matrix<double> z(rows, cols);
  for (double& v : z.data) v = spread * rng.normal();
  return z;
}

std::vector<std::int32_t> random_labels(std::size_t rows, std::size_t classes, Rng& rng) {
  std::vector<std::int32_t> y(rows);
  for (auto& v : y) v = static_cast<std::int32_t>(rng.below(classes));
  return y;
}

Matrix<float> to_float(const Matrix<double>& m) {
  Matrix<float> f(m.rows, m.cols);
  for (std::size_t i = 0; i < m.data.size(); ++i) f.data[i] = static_cast<float>(m.data[i]);
  return f;
}

// References: the definitions, in long double where cancellation could matter.
long double ref_lse(std::span<const double> row) {
  long double m = row[0];
  for (double v : row) m = std::max<long double>(m, v);
  long double s = 0;
  for (double v : row) s += std::exp(static_cast<long double>(v) - m);
  return m + std::log(s);
}

TEST(OpsTest, SoftmaxMatchesDefinitionAndSumsToOne) {
  Rng rng(1);
  for (std::size_t cols : {1u, 2u, 3u, 10u, 17u}) {
    const Matrix<double> z = random_logits(13, cols, 3.0, rng);
    const Matrix<double> p = softmax(z);
    const Matrix<float> pf = softmax(to_float(z));
    for (std::size_t i = 0; i < z.rows; ++i) {
      const long double lse = ref_lse(z.row(i));
      double sum = 0;
      for (std::size_t j = 0; j < cols; ++j) {
        const double want = static_cast<double>(std::exp(z(i, j) - lse));
        EXPECT_NEAR(p(i, j), want, 1e-15 + 1e-13 * want);
        EXPECT_NEAR(pf(i, j), want, 1e-6 * want + 1e-9);
        sum += p(i, j);
      }
      EXPECT_NEAR(sum, 1.0, 1e-14);
    }
  }
}

TEST(OpsTest, NaiveSoftmaxEqualsStableOnModerateLogits) {
  Rng rng(2);
  const Matrix<double> z = random_logits(20, 10, 2.0, rng);
  const Matrix<double> a = softmax_naive(z), b = softmax(z);
  for (std::size_t i = 0; i < z.data.size(); ++i) EXPECT_NEAR(a.data[i], b.data[i], 1e-15);
}

// softmax_naive against the definition exp(o_j) / Σ_k exp(o_k), summed here in float64. Each
// exp is within 1 ulp, the K-term sum within K - 1 ulps and the division within half an ulp, so
// the relative error is below (K + 2) ulps of the type; the float run starts from the logits
// rounded to float, so that input rounding is not counted against it.
TEST(OpsTest, NaiveSoftmaxMatchesAFloat64ReferenceOnModerateLogits) {
  Rng rng(8);
  for (std::size_t cols : {1u, 2u, 3u, 10u, 17u}) {
    const Matrix<double> z = random_logits(16, cols, 5.0, rng);
    const Matrix<float> zf = to_float(z);
    const Matrix<double> p = softmax_naive(z);
    const Matrix<float> pf = softmax_naive(zf);
    const double bound = static_cast<double>(cols + 2);
    for (std::size_t i = 0; i < z.rows; ++i) {
      double sum = 0, sum_f = 0;
      for (std::size_t j = 0; j < cols; ++j) {
        sum += std::exp(z(i, j));
        sum_f += std::exp(static_cast<double>(zf(i, j)));
      }
      for (std::size_t j = 0; j < cols; ++j) {
        const double want = std::exp(z(i, j)) / sum;
        const double want_f = std::exp(static_cast<double>(zf(i, j))) / sum_f;
        EXPECT_NEAR(p(i, j), want, bound * std::numeric_limits<double>::epsilon() * want)
            << "cols " << cols << " row " << i << " col " << j;
        EXPECT_NEAR(pf(i, j), want_f, bound * std::numeric_limits<float>::epsilon() * want_f)
            << "cols " << cols << " row " << i << " col " << j;
      }
    }
  }
}

TEST(OpsTest, NaiveSoftmaxOverflowsWhereStableStaysExact) {
  // exp(89) overflows float (max 3.4e38 = e^88.7); exp(1000) overflows double.
  Matrix<float> zf(1, 3);
  zf.data = {89.0f, 88.0f, 80.0f};
  const Matrix<float> naive = softmax_naive(zf);
  EXPECT_TRUE(std::isnan(naive(0, 0)));
  const Matrix<float> stable = softmax(zf);
  const double e1 = std::exp(-1.0), e9 = std::exp(-9.0), s = 1 + e1 + e9;
  EXPECT_NEAR(stable(0, 0), 1 / s, 1e-7);
  EXPECT_NEAR(stable(0, 1), e1 / s, 1e-7);

  Matrix<double> z(2, 3);
  z.data = {1000.0, 999.0, 991.0, -1000.0, -1001.0, -1009.0};
  const Matrix<double> nd = softmax_naive(z);
  EXPECT_TRUE(std::isnan(nd(0, 0)));  // inf / inf
  EXPECT_TRUE(std::isnan(nd(1, 0)));  // 0 / 0: every exp underflows
  const Matrix<double> sd = softmax(z);
  const Matrix<double> ls = log_softmax(z);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(sd(i, 0), 1 / s, 1e-15);
    EXPECT_NEAR(sd(i, 1), e1 / s, 1e-15);
    EXPECT_NEAR(sd(i, 2), e9 / s, 1e-15);
    EXPECT_NEAR(ls(i, 0), -std::log(s), 1e-13);
    EXPECT_NEAR(ls(i, 2), -9 - std::log(s), 1e-13);
  }
  const std::vector<double> lse = logsumexp(z);
  EXPECT_NEAR(lse[0], 1000 + std::log(s), 1e-12);
  EXPECT_NEAR(lse[1], -1000 + std::log(s), 1e-12);
}

TEST(OpsTest, LogSoftmaxAndLogsumexpMatchReference) {
  Rng rng(3);
  const Matrix<double> z = random_logits(31, 7, 20.0, rng);
  const std::vector<double> lse = logsumexp(z);
  const Matrix<double> ls = log_softmax(z);
  const Matrix<float> lsf = log_softmax(to_float(z));
  for (std::size_t i = 0; i < z.rows; ++i) {
    const long double want = ref_lse(z.row(i));
    EXPECT_NEAR(lse[i], static_cast<double>(want), 1e-12 * std::abs(static_cast<double>(want)));
    for (std::size_t j = 0; j < z.cols; ++j) {
      const double w = static_cast<double>(z(i, j) - want);
      EXPECT_NEAR(ls(i, j), w, 1e-12 * (1 + std::abs(w)));
      EXPECT_NEAR(lsf(i, j), w, 1e-5 * (1 + std::abs(w)));
    }
  }
}

TEST(OpsTest, CrossEntropyPickEqualsFullOneHotSum) {
  // The lesson's cross-entropy is the full sum -Σ_j y_ij log p_ij over a one-hot y; picking
  // -log p_i,y_i is the same number. The reference writes out the full sum in long double, with
  // its own one-hot and log-softmax (z_ij - logsumexp_i), nothing of ops.hpp.
  Rng rng(4);
  const Matrix<double> z = random_logits(50, 10, 3.0, rng);
  const auto y = random_labels(50, 10, rng);
  const std::vector<double> picked = cross_entropy(z, y);
  const Matrix<float> zf = to_float(z);
  const std::vector<float> picked_f = cross_entropy(zf, y);
  long double mean = 0;
  for (std::size_t i = 0; i < z.rows; ++i) {
    const long double lse = ref_lse(z.row(i));
    long double full = 0;
    for (std::size_t j = 0; j < z.cols; ++j) {
      const long double hot = static_cast<std::size_t>(y[i]) == j ? 1 : 0;
      full -= hot * (static_cast<long double>(z(i, j)) - lse);
    }
    // Two roundings of numbers below ~20 in double: 1e-13 is hundreds of ulps, and a wrong term
    // (another class, no max subtracted, a natural log of the wrong thing) is off by far more.
    EXPECT_NEAR(picked[i], static_cast<double>(full), 1e-13) << "row " << i;
    // float: the logits rounded to float, then a few float roundings.
    long double lse_f = 0, m = zf(i, 0);
    for (std::size_t j = 0; j < z.cols; ++j) m = std::max<long double>(m, zf(i, j));
    for (std::size_t j = 0; j < z.cols; ++j) lse_f += std::exp(zf(i, j) - m);
    const long double full_f = m + std::log(lse_f) - zf(i, y[i]);
    EXPECT_NEAR(picked_f[i], static_cast<double>(full_f), 1e-5 * (1 + full_f)) << "row " << i;
    mean += full / 50;
  }
  EXPECT_NEAR(mean_cross_entropy(z, y), static_cast<double>(mean), 1e-13);
}

TEST(OpsTest, CrossEntropyOfConfidentMistakeIsLargeButFinite) {
  // softmax underflows to exactly 0 for the true class; log(softmax) would be -inf.
  Matrix<float> z(1, 2);
  z.data = {0.0f, 200.0f};
  const std::vector<std::int32_t> y = {0};
  EXPECT_EQ(softmax(z)(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(cross_entropy(z, y)[0], 200.0f);
}

TEST(OpsTest, GradientOfMeanCrossEntropyMatchesCentralDifferences) {
  Rng rng(5);
  for (std::size_t classes : {2u, 3u, 10u}) {
    Matrix<double> z = random_logits(6, classes, 2.0, rng);
    const auto y = random_labels(6, classes, rng);
    const Matrix<double> g = cross_entropy_backward(z, y);
    const double h = 1e-6;
    for (std::size_t i = 0; i < z.data.size(); ++i) {
      const double keep = z.data[i];
      z.data[i] = keep + h;
      const double up = mean_cross_entropy(z, y);
      z.data[i] = keep - h;
      const double down = mean_cross_entropy(z, y);
      z.data[i] = keep;
      // Central differences have error O(h²) ≈ 1e-12 plus rounding ≈ 1e-16 / h = 1e-10.
      EXPECT_NEAR(g.data[i], (up - down) / (2 * h), 1e-8)
          << "classes " << classes << " entry " << i;
    }
  }
}

TEST(OpsTest, GradientIsSoftmaxMinusOneHotOverN) {
  // Against the formula with the reference softmax, exp(z_ij - logsumexp_i) in long double: each
  // entry is below 1 / 4 in size and within a few ulps of 1 of it (1e-16). A gradient not divided
  // by n is 4 times too large; one without the one-hot is off by 1/4.
  Rng rng(6);
  const Matrix<double> z = random_logits(4, 5, 1.0, rng);
  const auto y = random_labels(4, 5, rng);
  const Matrix<double> g = cross_entropy_backward(z, y);
  for (std::size_t i = 0; i < 4; ++i) {
    const long double lse = ref_lse(z.row(i));
    for (std::size_t j = 0; j < 5; ++j) {
      const long double p = std::exp(static_cast<long double>(z(i, j)) - lse);
      const long double want = (p - (y[i] == static_cast<int>(j) ? 1 : 0)) / 4;
      EXPECT_NEAR(g(i, j), static_cast<double>(want), 1e-16) << "row " << i << " col " << j;
    }
  }
}

TEST(OpsTest, AccuracyCountsArgmaxHits) {
  Matrix<float> s(4, 3);
  s.data = {0.1f, 0.8f, 0.1f,   // 1
            0.5f, 0.2f, 0.3f,   // 0
            0.2f, 0.2f, 0.6f,   // 2
            0.4f, 0.4f, 0.2f};  // tie: the first, 0
  const std::vector<std::int32_t> y = {1, 2, 2, 0};
  EXPECT_EQ(count_correct(s, y), 3u);
  EXPECT_DOUBLE_EQ(accuracy(s, y), 0.75);
  EXPECT_EQ(argmax<float>(s.row(3)), 0u);
}

// The first index of the largest entry, and the hits counted, by plain loops in float64.
std::size_t ref_argmax(std::span<const double> row) {
  std::size_t best = 0;
  for (std::size_t j = 1; j < row.size(); ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

TEST(OpsTest, AccuracyAndCountCorrectMatchAPlainReferenceOnRandomScores) {
  Rng rng(9);
  for (std::size_t cols : {1u, 2u, 3u, 10u}) {
    for (std::size_t rows : {1u, 7u, 100u}) {
      // Scores rounded to whole numbers in [-2, 2], so that ties are common (the first wins).
      Matrix<double> z = random_logits(rows, cols, 1.5, rng);
      for (double& v : z.data) v = std::clamp(std::round(v), -2.0, 2.0);
      // Labels: about half the rows get their reference argmax, the rest a random class.
      std::vector<std::int32_t> y = random_labels(rows, cols, rng);
      for (std::size_t i = 0; i < rows; ++i)
        if (rng.below(2) == 0) y[i] = static_cast<std::int32_t>(ref_argmax(z.row(i)));
      const Matrix<float> zf = to_float(z);
      std::size_t hits = 0;
      for (std::size_t i = 0; i < rows; ++i) {
        const std::size_t want = ref_argmax(z.row(i));
        hits += want == static_cast<std::size_t>(y[i]);
        EXPECT_EQ(argmax<double>(z.row(i)), want) << "row " << i;
        EXPECT_EQ(argmax<float>(zf.row(i)), want) << "row " << i;
      }
      const double want_accuracy = static_cast<double>(hits) / static_cast<double>(rows);
      EXPECT_EQ(count_correct(z, y), hits) << cols << " classes, " << rows << " rows";
      EXPECT_EQ(count_correct(zf, y), hits) << cols << " classes, " << rows << " rows";
      EXPECT_DOUBLE_EQ(accuracy(z, y), want_accuracy) << cols << " classes, " << rows << " rows";
      EXPECT_DOUBLE_EQ(accuracy(zf, y), want_accuracy) << cols << " classes, " << rows << " rows";
      // Probabilities rank as the scores do: the same hits.
      EXPECT_EQ(count_correct(softmax(z), y), hits);
    }
  }
}

TEST(OpsTest, OnehotMatchesAPlainReferenceOnRandomLabels) {
  Rng rng(10);
  for (std::size_t classes : {1u, 2u, 3u, 10u, 17u}) {
    const auto y = random_labels(40, classes, rng);
    const Matrix<double> h = onehot<double>(y, classes);
    const Matrix<float> hf = onehot<float>(y, classes);
    ASSERT_EQ(h.rows, y.size());
    ASSERT_EQ(h.cols, classes);
    ASSERT_EQ(hf.rows, y.size());
    ASSERT_EQ(hf.cols, classes);
    for (std::size_t i = 0; i < y.size(); ++i)
      for (std::size_t j = 0; j < classes; ++j) {
        const double want = static_cast<std::size_t>(y[i]) == j ? 1.0 : 0.0;
        EXPECT_EQ(h(i, j), want) << "row " << i << " col " << j;
        EXPECT_EQ(hf(i, j), static_cast<float>(want)) << "row " << i << " col " << j;
      }
  }
}

TEST(OpsTest, OnehotPlacesOnesAndRejectsBadLabels) {
  const std::vector<std::int32_t> y = {2, 0};
  const Matrix<float> h = onehot<float>(y, 3);
  EXPECT_EQ(h.data, (std::vector<float>{0, 0, 1, 1, 0, 0}));
  const std::vector<std::int32_t> bad = {3};
  EXPECT_THROW(onehot<float>(bad, 3), std::invalid_argument);
  Matrix<float> z(1, 3);
  EXPECT_THROW(cross_entropy(z, bad), std::invalid_argument);
}

TEST(OpsTest, SigmoidIsStableAndEqualsTwoClassSoftmax) {
  EXPECT_DOUBLE_EQ(sigmoid(0.0), 0.5);
  EXPECT_FLOAT_EQ(sigmoid(-1000.0f), 0.0f);
  EXPECT_FLOAT_EQ(sigmoid(1000.0f), 1.0f);
  EXPECT_FALSE(std::isnan(sigmoid(-100.0f)));
  // sigmoid(-100) = e^-100 / (1 + e^-100) = 3.72e-44, a float subnormal: not 0, not NaN.
  EXPECT_NEAR(sigmoid(-100.0f), static_cast<float>(std::exp(-100.0L)), 3e-45f);
  Rng rng(7);
  for (int t = 0; t < 100; ++t) {
    Matrix<double> z(1, 2);
    z.data = {10 * rng.normal(), 10 * rng.normal()};
    // The definition, in long double: 1 / (1 + e^-(o1 - o0)).
    const long double d = static_cast<long double>(z(0, 1)) - z(0, 0);
    const double want = static_cast<double>(1 / (1 + std::exp(-d)));
    EXPECT_NEAR(sigmoid(z(0, 1) - z(0, 0)), want, 1e-15);
    // The lesson: softmax over two logits is the sigmoid of their difference.
    EXPECT_NEAR(softmax(z)(0, 1), want, 1e-15);
    EXPECT_NEAR(softmax(z)(0, 0), 1 - want, 1e-15);
  }
}

}  // namespace
}  // namespace softreg

namespace softreg {
namespace {

TEST(OpsTest, BinaryCrossEntropyIsStableAndItsDerivativeIsSigmoidMinusLabel) {
  for (double z : {-30.0, -2.0, -0.1, 0.0, 0.7, 5.0, 30.0})
    for (int y : {0, 1}) {
      // -log P(y): P(y = 1) = 1 / (1 + e^-z) and P(y = 0) = 1 / (1 + e^z), so the loss is
      // log(1 + e^-z) or log(1 + e^z), here with log1p in long double (exact to 1e-18 even
      // where e^-z is 1e-13 and 1 + e^-z would round it away).
      const long double e = std::exp(static_cast<long double>(y == 1 ? -z : z));
      const double want = static_cast<double>(std::log1p(e));
      EXPECT_NEAR(binary_cross_entropy(z, y), want, 1e-15 * (1 + want)) << z << " " << y;
      // Its derivative, by central differences, is σ(z) - y with σ from the definition.
      const double h = 1e-6;
      const double slope =
          (binary_cross_entropy(z + h, y) - binary_cross_entropy(z - h, y)) / (2 * h);
      const double sigma = static_cast<double>(1 / (1 + std::exp(-static_cast<long double>(z))));
      EXPECT_NEAR(slope, sigma - y, 1e-8) << z << " " << y;
    }
  // Where log(sigmoid) would give log(0) = -inf, the stable form is finite and exact.
  EXPECT_FLOAT_EQ(binary_cross_entropy(-200.0f, 1), 200.0f);
  EXPECT_FLOAT_EQ(binary_cross_entropy(200.0f, 0), 200.0f);
}

}  // namespace
}  // namespace softreg
