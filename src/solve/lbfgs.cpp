// L-BFGS by libLBFGS (Naoaki Okazaki's, Debian's liblbfgs-dev): its two-loop recursion and its
// Moré-Thuente line search are well tested, and the line search is the delicate part; softreg
// adds the stopping test, the reporting and Ctrl-C through libLBFGS's progress callback.
#include <lbfgs.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "softreg/error.hpp"
#include "softreg/solve.hpp"

namespace softreg {

double gradient_test_value(std::span<const double> g, double scale) {
  double m = 0;
  for (double v : g) m = std::max(m, std::abs(v));
  return scale * m;
}

namespace {

struct Context {
  SmoothFunction* f;
  const SolveOptions* options;
  SolveResult* result;
};

lbfgsfloatval_t evaluate(void* instance, const lbfgsfloatval_t* x, lbfgsfloatval_t* g, int n,
                         lbfgsfloatval_t) {
  auto* c = static_cast<Context*>(instance);
  const auto size = static_cast<std::size_t>(n);
  return c->f->value_gradient(std::span<const double>(x, size), std::span<double>(g, size));
}

int progress(void* instance, const lbfgsfloatval_t* x, const lbfgsfloatval_t* g, lbfgsfloatval_t fx,
             lbfgsfloatval_t, lbfgsfloatval_t, lbfgsfloatval_t step, int n, int k, int) {
  auto* c = static_cast<Context*>(instance);
  SolveResult& r = *c->result;
  r.iterations = k;
  r.objective = fx;
  r.gradient = gradient_test_value(std::span<const double>(g, static_cast<std::size_t>(n)),
                                   c->options->gradient_scale);
  if (c->options->on_iteration)
    c->options->on_iteration(
        {k, fx, r.gradient, step, 0, std::span<const double>(x, static_cast<std::size_t>(n))});
  if (r.gradient <= c->options->tol) {
    r.converged = true;
    return 1;
  }
  if (c->options->stop_requested && c->options->stop_requested()) {
    r.interrupted = true;
    return 2;
  }
  return 0;
}

const char* reason(int code) {
  switch (code) {
    case LBFGSERR_MAXIMUMITERATION:
      return "it reached `max_iter`";
    case LBFGSERR_ROUNDING_ERROR:
    case LBFGSERR_MINIMUMSTEP:
    case LBFGSERR_MAXIMUMLINESEARCH:
    case LBFGSERR_WIDTHTOOSMALL:
      return "the line search could not lower the objective further (the limit of rounding)";
    case LBFGSERR_INCREASEGRADIENT:
      return "the search direction did not descend";
    default:
      return "the line search failed";
  }
}

}  // namespace

SolveResult minimize_lbfgs(SmoothFunction& f, std::span<double> x, const SolveOptions& options) {
  if (x.size() != f.dimension()) throw std::invalid_argument("minimize_lbfgs: wrong dimension");
  SolveResult result;
  // The starting point may already pass the test (a warm start from a converged model).
  {
    std::vector<double> g(x.size());
    result.objective = f.value_gradient(x, g);
    result.gradient = gradient_test_value(g, options.gradient_scale);
    if (result.gradient <= options.tol) {
      result.converged = true;
      result.stopped = "the gradient test holds at the start";
      return result;
    }
  }
  const int n = static_cast<int>(x.size());
  lbfgsfloatval_t* buffer = lbfgs_malloc(n);
  if (buffer == nullptr) throw std::bad_alloc();
  std::copy(x.begin(), x.end(), buffer);
  lbfgs_parameter_t p;
  lbfgs_parameter_init(&p);
  p.m = options.lbfgs_memory;
  p.epsilon = 0;  // softreg's test, in progress()
  p.past = 0;
  p.max_iterations = options.max_iter;
  p.linesearch = LBFGS_LINESEARCH_MORETHUENTE;  // strong Wolfe: ftol 1e-4, gtol 0.9
  Context c{&f, &options, &result};
  lbfgsfloatval_t fx = 0;
  const int code = lbfgs(n, buffer, &fx, evaluate, progress, &c, &p);
  // libLBFGS leaves the last accepted point in buffer, whatever stopped it.
  std::copy(buffer, buffer + n, x.begin());
  lbfgs_free(buffer);
  if (result.converged)
    result.stopped = "the gradient test holds";
  else if (result.interrupted)
    result.stopped = "interrupted";
  else
    result.stopped = reason(code);
  return result;
}

}  // namespace softreg
