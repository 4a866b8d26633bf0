// Full-batch solvers. They minimise a smooth function of n doubles and see its values, gradients
// and Hessian-vector products, nothing else: they know nothing of softmax or of the data (the
// objective of objective.hpp is one such function).
//
//   minimize_lbfgs   L-BFGS (libLBFGS, Debian's liblbfgs-dev), the Moré-Thuente line search,
//                    which ends on a step that satisfies the strong Wolfe conditions
//   minimize_newton  truncated Newton: conjugate gradient on H p = -g, preconditioned by
//                    liblinear's mix 0.99 I + 0.01 diag(H), to a relative residual
//                    min(0.5, sqrt(|g|)), then a backtracking (Armijo) line search from step 1
//
// Both stop when the gradient test holds, scale * max_j |∂f/∂x_j| <= tol (the objective of
// softreg's solvers is a mean, and scale = S, the sum of the weights, makes the test
// scikit-learn's, which takes the gradient of the sum), after max_iter iterations, or when
// stop_requested says so. Not converging is a result, not an error.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>

namespace softreg {

class SmoothFunction {
 public:
  virtual ~SmoothFunction() = default;
  virtual std::size_t dimension() const = 0;
  /// f(x) and ∇f(x).
  virtual double value_gradient(std::span<const double> x, std::span<double> gradient) = 0;
  /// H v at the point of the last value_gradient.
  virtual void hessian_vector(std::span<const double> v, std::span<double> hv) = 0;
  /// The diagonal of H at the point of the last value_gradient, for preconditioning; false when
  /// the function does not provide it.
  virtual bool hessian_diagonal(std::span<double>) { return false; }
};

/// What a solver reports after each iteration.
struct Iteration {
  int iteration = 0;     // 1-based
  double objective = 0;  // f at the new point
  double gradient = 0;   // scale * max_j |∂f/∂x_j| there: what the test compares with tol
  double step = 0;       // the line search's step along the direction
  int inner = 0;         // Newton: conjugate-gradient steps of this iteration
  std::span<const double> point;  // the new point (valid during the callback)
};

struct SolveOptions {
  double tol = 1e-4;
  int max_iter = 100;
  int lbfgs_memory = 10;
  double gradient_scale = 1;
  std::function<void(const Iteration&)> on_iteration;
  std::function<bool()> stop_requested;  // true: stop now (the result says interrupted)
};

struct SolveResult {
  int iterations = 0;
  double objective = 0;
  double gradient = 0;  // the gradient test's value at the result
  bool converged = false;
  bool interrupted = false;
  std::string stopped;  // why it stopped, in words ("the gradient test holds", ...)
};

/// Minimises f from x (overwritten with the result).
SolveResult minimize_lbfgs(SmoothFunction& f, std::span<double> x, const SolveOptions& options);
SolveResult minimize_newton(SmoothFunction& f, std::span<double> x, const SolveOptions& options);

/// scale * max_j |g_j|.
double gradient_test_value(std::span<const double> g, double scale);

}  // namespace softreg
