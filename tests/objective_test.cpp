// The objective F of the full-batch solvers: its value against a plain float64 reference written
// from the formula of docs/objective.md, its gradient and Hessian-vector product against central
// finite differences of that reference, for softmax and logistic models, bytes and floats, with
// and without λ and weights; and bit-identical results for every thread count.
#include "softreg/objective.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <thread>
#include <vector>

#include "softreg/comm.hpp"
#include "softreg/random.hpp"
#include "thread_comm.hpp"

namespace softreg {
namespace {

// A small data set with odd sizes (not multiples of the chunk or block sizes).
struct Problem {
  std::size_t rows, inputs, classes;
  Output output;
  bool bytes;
  double lambda;
  bool weighted;
  std::vector<std::uint8_t> pixels;
  std::vector<float> values;
  std::vector<std::int32_t> labels;
  std::vector<double> weights;
  float scale;

  Features features() const {
    Features f;
    f.inputs = inputs;
    f.scale = scale;
    if (bytes)
      f.bytes = pixels.data();
    else
      f.floats = values.data();
    return f;
  }
  double x(std::size_t i, std::size_t j) const {
    return bytes ? pixels[i * inputs + j] * static_cast<double>(scale)
                 : values[i * inputs + j] * static_cast<double>(scale);
  }
  std::size_t outputs() const { return output == Output::logistic ? 1 : classes; }
};

Problem make(std::size_t rows, std::size_t inputs, std::size_t classes, Output output, bool bytes,
             double lambda, bool weighted, std::uint64_t seed) {
  Problem p{rows, inputs, classes, output, bytes, lambda, weighted, {}, {}, {}, {}, 1.0f};
  Rng rng(seed);
  p.scale = bytes ? 1.0f / 255.0f : 0.5f;
  for (std::size_t i = 0; i < rows * inputs; ++i) {
    if (bytes)
      p.pixels.push_back(static_cast<std::uint8_t>(rng.next() % 256));
    else
      p.values.push_back(static_cast<float>(rng.normal()));
  }
  for (std::size_t i = 0; i < rows; ++i) {
    p.labels.push_back(static_cast<std::int32_t>(rng.next() % classes));
    if (weighted) p.weights.push_back(0.25 + 2.0 * rng.uniform());
  }
  return p;
}

std::vector<double> random_theta(const Problem& p, std::uint64_t seed, double spread) {
  Rng rng(seed);
  std::vector<double> theta(p.outputs() * (p.inputs + 1));
  for (double& t : theta) t = spread * rng.normal();
  return theta;
}

// F written from its definition, in long double, one row at a time: the reference.
long double reference_f(const Problem& p, const std::vector<double>& theta) {
  const std::size_t k_out = p.outputs(), d = p.inputs;
  long double total = 0, s_sum = 0;
  for (std::size_t i = 0; i < p.rows; ++i) {
    std::vector<long double> o(k_out);
    for (std::size_t k = 0; k < k_out; ++k) {
      o[k] = theta[k_out * d + k];
      for (std::size_t j = 0; j < d; ++j)
        o[k] += theta[k * d + j] * static_cast<long double>(p.x(i, j));
    }
    const long double s = p.weighted ? p.weights[i] : 1.0L;
    const auto y = static_cast<std::size_t>(p.labels[i]);
    long double loss;
    if (p.output == Output::logistic) {
      // -log σ(z) for class 1, -log(1 - σ(z)) for class 0
      loss = y == 1 ? std::log1p(std::exp(-o[0])) : std::log1p(std::exp(o[0]));
    } else {
      long double e = 0;
      for (long double v : o) e += std::exp(v);
      loss = std::log(e) - o[y];
    }
    total += s * loss;
    s_sum += s;
  }
  long double w2 = 0;
  for (std::size_t j = 0; j < k_out * d; ++j) w2 += static_cast<long double>(theta[j]) * theta[j];
  return total / s_sum + 0.5L * p.lambda * w2;
}

struct Case {
  const char* name;
  Output output;
  bool bytes;
  double lambda;
  bool weighted;
};

class ObjectiveTest : public testing::TestWithParam<Case> {
 protected:
  Problem p_ = make(301, 13, 4, GetParam().output, GetParam().bytes, GetParam().lambda,
                    GetParam().weighted, 5);
  ThreadPool pool_{2};
  Objective f_{p_.features(),
               p_.labels,
               p_.rows,
               p_.inputs,
               GetParam().output == Output::logistic ? 2 : p_.classes,
               GetParam().output,
               p_.lambda,
               p_.weights,
               pool_};
};

TEST_P(ObjectiveTest, ValueIsTheFormula) {
  if (GetParam().output == Output::logistic)
    for (auto& y : p_.labels) y %= 2;
  const auto theta = random_theta(p_, 1, 0.3);
  const long double ref = reference_f(p_, theta);
  std::vector<double> g(f_.dimension());
  EXPECT_NEAR(f_.value(theta), static_cast<double>(ref),
              1e-13 * std::abs(static_cast<double>(ref)));
  EXPECT_NEAR(f_.value_gradient(theta, g), static_cast<double>(ref),
              1e-13 * std::abs(static_cast<double>(ref)));
}

TEST_P(ObjectiveTest, GradientIsTheCentralDifferenceOfTheFormula) {
  if (GetParam().output == Output::logistic)
    for (auto& y : p_.labels) y %= 2;
  auto theta = random_theta(p_, 2, 0.3);
  std::vector<double> g(f_.dimension());
  f_.value_gradient(theta, g);
  // Central differences of the long-double reference: error O(h²) ≈ 1e-10 with h = 1e-5.
  const double h = 1e-5;
  double worst = 0, largest = 0;
  for (std::size_t j = 0; j < theta.size(); ++j) {
    const double t = theta[j];
    theta[j] = t + h;
    const long double up = reference_f(p_, theta);
    theta[j] = t - h;
    const long double down = reference_f(p_, theta);
    theta[j] = t;
    const double fd = static_cast<double>((up - down) / (2 * h));
    worst = std::max(worst, std::abs(fd - g[j]));
    largest = std::max(largest, std::abs(g[j]));
  }
  EXPECT_LT(worst, 1e-9 * std::max(1.0, largest)) << "largest gradient entry " << largest;
}

TEST_P(ObjectiveTest, HessianVectorIsTheCentralDifferenceOfTheGradient) {
  if (GetParam().output == Output::logistic)
    for (auto& y : p_.labels) y %= 2;
  const auto theta = random_theta(p_, 3, 0.3);
  const auto v = random_theta(p_, 4, 1.0);
  std::vector<double> g(f_.dimension()), hv(f_.dimension());
  f_.value_gradient(theta, g);
  f_.hessian_vector(v, hv);
  // (∇F(θ + h v) − ∇F(θ − h v)) / 2h, each gradient exact to rounding: error O(h²).
  const double h = 1e-4;
  std::vector<double> plus(theta), minus(theta), gp(theta.size()), gm(theta.size());
  for (std::size_t j = 0; j < theta.size(); ++j) {
    plus[j] += h * v[j];
    minus[j] -= h * v[j];
  }
  f_.value_gradient(plus, gp);
  f_.value_gradient(minus, gm);
  double worst = 0, largest = 0;
  for (std::size_t j = 0; j < theta.size(); ++j) {
    worst = std::max(worst, std::abs((gp[j] - gm[j]) / (2 * h) - hv[j]));
    largest = std::max(largest, std::abs(hv[j]));
  }
  EXPECT_LT(worst, 1e-7 * std::max(1.0, largest)) << "largest Hv entry " << largest;
  // And the Hessian is the one of the point of the last value_gradient: ask again at θ.
  f_.value_gradient(theta, g);
  std::vector<double> again(theta.size());
  f_.hessian_vector(v, again);
  EXPECT_EQ(again, hv);
}

TEST_P(ObjectiveTest, BitIdenticalForEveryThreadCount) {
  if (GetParam().output == Output::logistic)
    for (auto& y : p_.labels) y %= 2;
  const auto theta = random_theta(p_, 6, 0.3);
  const auto v = random_theta(p_, 7, 1.0);
  std::vector<double> g1, hv1;
  double f1 = 0;
  for (unsigned threads : {1u, 2u, 3u}) {
    ThreadPool pool(threads);
    Objective f(p_.features(), p_.labels, p_.rows, p_.inputs,
                GetParam().output == Output::logistic ? 2 : p_.classes, GetParam().output,
                p_.lambda, p_.weights, pool);
    std::vector<double> g(f.dimension()), hv(f.dimension());
    const double value = f.value_gradient(theta, g);
    f.hessian_vector(v, hv);
    if (threads == 1) {
      f1 = value, g1 = g, hv1 = hv;
      continue;
    }
    EXPECT_EQ(value, f1) << threads << " threads";
    EXPECT_EQ(g, g1) << threads << " threads";
    EXPECT_EQ(hv, hv1) << threads << " threads";
  }
}

// Sharded over P processes (threads here), each holding only objective_rows' rows, the objective
// gives every process the value, gradient, Hessian-vector product and diagonal of one process
// holding all the rows, bit for bit: also for more processes than stripes (some hold none).
TEST_P(ObjectiveTest, ShardedOverProcessesItIsTheSingleProcessObjectiveBitForBit) {
  Problem p = make(5000, 13, 4, GetParam().output, GetParam().bytes, GetParam().lambda,
                   GetParam().weighted, 8);  // 5 stripes
  if (GetParam().output == Output::logistic)
    for (auto& y : p.labels) y %= 2;
  const std::size_t classes = GetParam().output == Output::logistic ? 2 : p.classes;
  const auto theta = random_theta(p, 9, 0.3);
  const auto v = random_theta(p, 10, 1.0);
  struct Values {
    double f = 0, fg = 0;
    std::vector<double> g, hv, diagonal;
  };
  const auto evaluate = [&](Objective& f) {
    Values out;
    out.g.resize(f.dimension());
    out.hv.resize(f.dimension());
    out.diagonal.resize(f.dimension());
    out.f = f.value(theta);
    out.fg = f.value_gradient(theta, out.g);
    f.hessian_vector(v, out.hv);
    f.hessian_diagonal(out.diagonal);
    return out;
  };
  ThreadPool pool(2);
  Objective whole(p.features(), p.labels, p.rows, p.inputs, classes, GetParam().output, p.lambda,
                  p.weights, pool);
  const Values want = evaluate(whole);
  for (const int processes : {1, 2, 3, 7}) {
    std::vector<Values> got(static_cast<std::size_t>(processes));
    test::ThreadGroup group(processes);
    group.run([&](const Comm& comm) {
      const RowRange mine =
          objective_rows(p.rows, p.inputs, p.outputs(), static_cast<std::uint32_t>(processes),
                         static_cast<std::uint32_t>(comm.rank()));
      Features x = p.features();
      if (p.bytes)
        x.bytes += mine.begin * p.inputs;
      else
        x.floats += mine.begin * p.inputs;
      const auto labels = std::span(p.labels).subspan(mine.begin, mine.size());
      const auto weights =
          p.weights.empty() ? std::span<const double>()
                            : std::span<const double>(p.weights).subspan(mine.begin, mine.size());
      ThreadPool own(1);
      Objective f(x, labels, mine.size(), p.inputs, classes, GetParam().output, p.lambda, weights,
                  own, true, Sharding{&comm, p.rows});
      got[static_cast<std::size_t>(comm.rank())] = evaluate(f);
    });
    for (int r = 0; r < processes; ++r) {
      const Values& g = got[static_cast<std::size_t>(r)];
      SCOPED_TRACE(::testing::Message() << "process " << r << " of " << processes);
      EXPECT_EQ(g.f, want.f);
      EXPECT_EQ(g.fg, want.fg);
      EXPECT_EQ(g.g, want.g);
      EXPECT_EQ(g.hv, want.hv);
      EXPECT_EQ(g.diagonal, want.diagonal);
    }
  }
}

TEST(ObjectiveRows, WholeStripesTileTheRows) {
  for (const std::size_t rows : {std::size_t{100}, std::size_t{5000}, std::size_t{60000}})
    for (std::uint32_t parts = 1; parts <= 30; parts += 7) {
      std::uint64_t next = 0;
      for (std::uint32_t p = 0; p < parts; ++p) {
        const RowRange r = objective_rows(rows, 784, 10, parts, p);
        EXPECT_EQ(r.begin, next);
        next = r.end;
      }
      EXPECT_EQ(next, rows);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Objectives, ObjectiveTest,
    testing::Values(Case{"SoftmaxBytes", Output::softmax, true, 0.0, false},
                    Case{"SoftmaxFloatsL2", Output::softmax, false, 0.05, false},
                    Case{"SoftmaxBytesL2Weighted", Output::softmax, true, 0.01, true},
                    Case{"LogisticFloats", Output::logistic, false, 0.0, false},
                    Case{"LogisticBytesL2Weighted", Output::logistic, true, 0.1, true}),
    [](const testing::TestParamInfo<Case>& c) { return std::string(c.param.name); });

TEST(ObjectiveTest, ParametersRoundTripThroughAModel) {
  SoftmaxRegression m(3, 2);
  Rng rng(1);
  m.init(rng, 1.0f);
  const auto theta = parameters_of(m);
  ASSERT_EQ(theta.size(), 8u);
  SoftmaxRegression n(3, 2);
  set_parameters(n, theta);
  EXPECT_TRUE(std::equal(m.weight().begin(), m.weight().end(), n.weight().begin()));
  EXPECT_THROW(set_parameters(n, std::vector<double>(7)), std::invalid_argument);
}

}  // namespace
}  // namespace softreg
