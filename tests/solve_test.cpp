// The full-batch solvers: on a quadratic whose minimiser is known, and on softmax objectives,
// L-BFGS and Newton reach the same optimum to the tolerance they state, say whether they
// converged, stop at max_iter and when asked to, and give bit-identical results for every
// thread count.
#include "softreg/solve.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "softreg/objective.hpp"
#include "softreg/random.hpp"

namespace softreg {
namespace {

// f(x) = ½ Σ a_i (x_i - c_i)² + ½ (Σ x_i)²: minimiser solves diag(a) (x - c) + (Σ x) 1 = 0.
class Quadratic final : public SmoothFunction {
 public:
  explicit Quadratic(std::size_t n) : a_(n), c_(n) {
    for (std::size_t i = 0; i < n; ++i) {
      a_[i] = 1.0 + static_cast<double>(i);  // condition number about n
      c_[i] = std::sin(static_cast<double>(i) + 1.0);
    }
  }
  std::size_t dimension() const override { return a_.size(); }
  double value_gradient(std::span<const double> x, std::span<double> g) override {
    double s = 0, f = 0;
    for (double v : x) s += v;
    for (std::size_t i = 0; i < x.size(); ++i) {
      f += 0.5 * a_[i] * (x[i] - c_[i]) * (x[i] - c_[i]);
      g[i] = a_[i] * (x[i] - c_[i]) + s;
    }
    ++evaluations;
    return f + 0.5 * s * s;
  }
  void hessian_vector(std::span<const double> v, std::span<double> hv) override {
    double s = 0;
    for (double t : v) s += t;
    for (std::size_t i = 0; i < v.size(); ++i) hv[i] = a_[i] * v[i] + s;
  }
  // The minimiser: x = c - s / a with s = Σ x, so s = Σ c - s Σ 1/a.
  std::vector<double> minimiser() const {
    double sc = 0, sa = 0;
    for (std::size_t i = 0; i < a_.size(); ++i) sc += c_[i], sa += 1.0 / a_[i];
    const double s = sc / (1.0 + sa);
    std::vector<double> x(a_.size());
    for (std::size_t i = 0; i < a_.size(); ++i) x[i] = c_[i] - s / a_[i];
    return x;
  }
  int evaluations = 0;

 private:
  std::vector<double> a_, c_;
};

using Solver = SolveResult (*)(SmoothFunction&, std::span<double>, const SolveOptions&);

struct Named {
  const char* name;
  Solver solve;
};

class Solvers : public testing::TestWithParam<Named> {};

TEST_P(Solvers, QuadraticReachesTheKnownMinimiser) {
  Quadratic q(50);
  std::vector<double> x(50, 0.0);
  SolveOptions o;
  // f is about 10 here: much below |g| ~ 1e-7 its decrease, |g|²/2, is lost to rounding.
  o.tol = 1e-7;
  o.max_iter = 1000;
  std::vector<Iteration> seen;
  o.on_iteration = [&](const Iteration& it) { seen.push_back(it); };
  const SolveResult r = GetParam().solve(q, x, o);
  EXPECT_TRUE(r.converged) << r.stopped;
  EXPECT_EQ(r.stopped, "the gradient test holds");
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().iteration, r.iterations);
  EXPECT_EQ(seen.back().objective, r.objective);
  EXPECT_LE(r.gradient, 1e-7);
  const auto best = q.minimiser();
  // |x - x*| <= |g| / (the smallest eigenvalue of H, at least 1) <= sqrt(50) 1e-7.
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], best[i], 1e-6) << i;
}

TEST_P(Solvers, StopsAtMaxIterAndSaysItDidNotConverge) {
  Quadratic q(50);
  std::vector<double> x(50, 0.0);
  SolveOptions o;
  o.tol = 1e-12;
  o.max_iter = 2;
  const SolveResult r = GetParam().solve(q, x, o);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.iterations, 2);
  EXPECT_EQ(r.stopped, "it reached `max_iter`");  // the front ends write their own name
  EXPECT_GT(r.gradient, 1e-12);
}

TEST_P(Solvers, AStartThatPassesTheTestIsKept) {
  Quadratic q(20);
  std::vector<double> x = q.minimiser();
  const std::vector<double> start = x;
  SolveOptions o;
  o.tol = 1e-6;
  const SolveResult r = GetParam().solve(q, x, o);
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_EQ(r.stopped, "the gradient test holds at the start");
  EXPECT_EQ(x, start);
}

TEST_P(Solvers, StopRequestedInterrupts) {
  Quadratic q(50);
  std::vector<double> x(50, 0.0);
  SolveOptions o;
  o.tol = 1e-12;
  o.max_iter = 1000;
  int calls = 0;
  o.stop_requested = [&] { return ++calls >= 3; };
  const SolveResult r = GetParam().solve(q, x, o);
  EXPECT_TRUE(r.interrupted);
  EXPECT_FALSE(r.converged);
  EXPECT_LE(r.iterations, 3);
}

TEST_P(Solvers, TheGradientTestIsScaled) {
  // scale * max|g| <= tol: with scale 1000 the same tol asks for a 1000 times smaller gradient.
  Quadratic q(30);
  std::vector<double> x(30, 0.0), y(30, 0.0);
  SolveOptions o;
  o.tol = 1e-3;
  const SolveResult loose = GetParam().solve(q, x, o);
  o.gradient_scale = 1000;
  const SolveResult tight = GetParam().solve(q, y, o);
  EXPECT_TRUE(loose.converged && tight.converged);
  EXPECT_LE(loose.gradient, 1e-3);
  EXPECT_LE(tight.gradient, 1e-3);
  std::vector<double> g(30);
  q.value_gradient(y, g);
  EXPECT_LE(gradient_test_value(g, 1.0), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Both, Solvers,
                         testing::Values(Named{"Lbfgs", &minimize_lbfgs},
                                         Named{"Newton", &minimize_newton}),
                         [](const testing::TestParamInfo<Named>& p) {
                           return std::string(p.param.name);
                         });

// A softmax problem of 900 rows, 37 inputs and 5 classes.
struct Data {
  std::vector<float> x;
  std::vector<std::int32_t> y;
};

Data make_data(std::size_t rows, std::size_t inputs, std::size_t classes) {
  Rng rng(11);
  Data d;
  std::vector<float> centre(classes * inputs);
  for (float& c : centre) c = static_cast<float>(rng.normal());
  for (std::size_t i = 0; i < rows; ++i) {
    const auto y = static_cast<std::int32_t>(rng.next() % classes);
    d.y.push_back(y);
    for (std::size_t j = 0; j < inputs; ++j)
      d.x.push_back(centre[static_cast<std::size_t>(y) * inputs + j] +
                    2.0f * static_cast<float>(rng.normal()));
  }
  return d;
}

TEST(SolversOnSoftmax, LbfgsAndNewtonReachTheSameOptimum) {
  const Data d = make_data(900, 37, 5);
  Features f;
  f.floats = d.x.data();
  f.inputs = 37;
  ThreadPool pool(2);
  Objective objective(f, d.y, 900, 37, 5, Output::softmax, 1.0 / 900, {}, pool);
  SolveOptions o;
  // On the sum's scale, as scikit-learn's tol: 1e-5 / 900 on F's own.
  o.tol = 1e-5;
  o.max_iter = 10000;
  o.gradient_scale = objective.weight_sum();
  std::vector<double> a(objective.dimension(), 0.0), b(objective.dimension(), 0.0);
  const SolveResult la = minimize_lbfgs(objective, a, o);
  const SolveResult nb = minimize_newton(objective, b, o);
  EXPECT_TRUE(la.converged) << la.stopped;
  EXPECT_TRUE(nb.converged) << nb.stopped;
  EXPECT_NEAR(la.objective, nb.objective, 1e-8 * std::abs(nb.objective));
  EXPECT_LT(nb.iterations, la.iterations) << "Newton takes fewer (but dearer) iterations";
}

TEST(SolversOnSoftmax, BitIdenticalForEveryThreadCount) {
  const Data d = make_data(1500, 41, 3);
  Features f;
  f.floats = d.x.data();
  f.inputs = 41;
  for (Solver solve : {&minimize_lbfgs, &minimize_newton}) {
    std::vector<double> first;
    for (unsigned threads : {1u, 2u, 3u}) {
      ThreadPool pool(threads);
      Objective objective(f, d.y, 1500, 41, 3, Output::softmax, 1e-3, {}, pool);
      SolveOptions o;
      o.tol = 1e-6;
      o.gradient_scale = objective.weight_sum();
      std::vector<double> x(objective.dimension(), 0.0);
      solve(objective, x, o);
      if (first.empty())
        first = x;
      else
        EXPECT_EQ(x, first) << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace softreg
