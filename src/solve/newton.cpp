// Truncated Newton (Newton-CG): each iteration solves H p = -g approximately by conjugate
// gradient, which needs only Hessian-vector products, then steps along p with a backtracking
// line search. As in scikit-learn's newton-cg, CG stops when its residual is below
// min(0.5, sqrt(‖g‖₁)) ‖g‖₁ (the forcing term: loose far from the optimum, tight near it), or
// after 200 steps, or on a direction of non-positive curvature.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "softreg/error.hpp"
#include "softreg/solve.hpp"

namespace softreg {

namespace {

double dot(std::span<const double> a, std::span<const double> b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double norm1(std::span<const double> a) {
  double s = 0;
  for (double v : a) s += std::abs(v);
  return s;
}

constexpr int kMaxInner = 200;
constexpr int kMaxHalvings = 40;
constexpr double kArmijo = 1e-4;

// liblinear's preconditioner: M = (1 - a) I + a diag(H), a = 0.01. diag(H) alone would trust
// the diagonal too much where features are nearly constant (there it is only λ).
constexpr double kPreconditionerMix = 0.01;

// p ≈ -H⁻¹ g by preconditioned conjugate gradient (M⁻¹ in inverse, or empty for none); returns
// the steps taken.
int conjugate_gradient(SmoothFunction& f, std::span<const double> g,
                       std::span<const double> inverse, std::span<double> p) {
  const std::size_t n = g.size();
  std::vector<double> r(n), z(n), d(n), hd(n);
  std::fill(p.begin(), p.end(), 0.0);
  for (std::size_t i = 0; i < n; ++i) r[i] = -g[i];
  auto precondition = [&] {
    for (std::size_t i = 0; i < n; ++i) z[i] = inverse.empty() ? r[i] : r[i] * inverse[i];
  };
  precondition();
  d = z;
  const double g1 = norm1(g);
  const double tol = std::min(0.5, std::sqrt(g1)) * g1;
  double rz = dot(r, z);
  int steps = 0;
  while (steps < kMaxInner && norm1(r) > tol) {
    f.hessian_vector(d, hd);
    const double curvature = dot(d, hd);
    if (!(curvature > 0)) {
      // Not a direction of positive curvature: keep what CG has, or steepest descent at first.
      if (steps == 0) std::copy(z.begin(), z.end(), p.begin());
      break;
    }
    const double alpha = rz / curvature;
    for (std::size_t i = 0; i < n; ++i) {
      p[i] += alpha * d[i];
      r[i] -= alpha * hd[i];
    }
    precondition();
    const double rz_next = dot(r, z);
    const double beta = rz_next / rz;
    rz = rz_next;
    for (std::size_t i = 0; i < n; ++i) d[i] = z[i] + beta * d[i];
    ++steps;
  }
  return steps;
}

}  // namespace

SolveResult minimize_newton(SmoothFunction& f, std::span<double> x, const SolveOptions& options) {
  const std::size_t n = f.dimension();
  if (x.size() != n) throw std::invalid_argument("minimize_newton: wrong dimension");
  std::vector<double> g(n), p(n), trial(n), g_trial(n), inverse(n);
  SolveResult result;
  double fx = f.value_gradient(x, g);
  result.objective = fx;
  result.gradient = gradient_test_value(g, options.gradient_scale);
  for (int it = 1;; ++it) {
    if (result.gradient <= options.tol) {
      result.converged = true;
      result.stopped = it == 1 ? "the gradient test holds at the start" : "the gradient test holds";
      return result;
    }
    if (it > options.max_iter) {
      result.stopped = "it reached " + param("max_iter");
      return result;
    }
    if (options.stop_requested && options.stop_requested()) {
      result.interrupted = true;
      result.stopped = "interrupted";
      return result;
    }
    // hessian_vector needs the point of the last value_gradient: x (the accepted point).
    const bool preconditioned = f.hessian_diagonal(inverse);
    if (preconditioned)
      for (double& m : inverse) m = 1.0 / ((1 - kPreconditionerMix) + kPreconditionerMix * m);
    const int inner = conjugate_gradient(
        f, g, preconditioned ? std::span<const double>(inverse) : std::span<const double>(), p);
    const double slope = dot(g, p);
    if (!(slope < 0)) {
      result.stopped = "the Newton direction did not descend";
      return result;
    }
    double step = 1, f_trial = 0;
    int halvings = 0;
    for (;; ++halvings) {
      for (std::size_t i = 0; i < n; ++i) trial[i] = x[i] + step * p[i];
      f_trial = f.value_gradient(trial, g_trial);
      if (f_trial <= fx + kArmijo * step * slope) break;
      if (halvings == kMaxHalvings) {
        // The last value_gradient was at a rejected point: evaluate x again so that the
        // function's state (for a caller's hessian_vector) is the result's.
        f.value_gradient(x, g);
        result.stopped =
            "the line search could not lower the objective further (the limit of "
            "rounding)";
        return result;
      }
      step /= 2;
    }
    std::copy(trial.begin(), trial.end(), x.begin());
    g.swap(g_trial);
    fx = f_trial;
    result.iterations = it;
    result.objective = fx;
    result.gradient = gradient_test_value(g, options.gradient_scale);
    if (options.on_iteration) options.on_iteration({it, fx, result.gradient, step, inner, x});
  }
}

}  // namespace softreg
