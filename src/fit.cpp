#include "softreg/fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

#include "softreg/error.hpp"
#include "softreg/kernel.hpp"
#include "softreg/objective.hpp"
#include "softreg/train.hpp"

namespace softreg {

const char* solver_name(Solver s) {
  switch (s) {
    case Solver::sgd:
      return "sgd";
    case Solver::lbfgs:
      return "lbfgs";
    case Solver::newton:
      return "newton";
  }
  return "?";
}

std::string Penalty::text() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %g", kind == c ? "C" : "l2", value);
  return buf;
}

namespace {

// The objective with its last entries (the intercepts, from `first` on) held where they are.
class NoIntercept final : public SmoothFunction {
 public:
  NoIntercept(SmoothFunction& f, std::size_t first) : f_(f), first_(first) {}
  std::size_t dimension() const override { return f_.dimension(); }
  double value_gradient(std::span<const double> x, std::span<double> g) override {
    const double v = f_.value_gradient(x, g);
    std::fill(g.begin() + static_cast<std::ptrdiff_t>(first_), g.end(), 0.0);
    return v;
  }
  void hessian_vector(std::span<const double> v, std::span<double> hv) override {
    f_.hessian_vector(v, hv);
    std::fill(hv.begin() + static_cast<std::ptrdiff_t>(first_), hv.end(), 0.0);
  }
  bool hessian_diagonal(std::span<double> d) override {
    if (!f_.hessian_diagonal(d)) return false;
    std::fill(d.begin() + static_cast<std::ptrdiff_t>(first_), d.end(), 1.0);
    return true;
  }

 private:
  SmoothFunction& f_;
  std::size_t first_;
};

// The columns that any process's rows store, sorted: the union of every process's `mine`.
std::vector<std::uint32_t> all_processes_columns(const Comm& comm,
                                                 const std::vector<std::uint32_t>& mine) {
  const std::string bytes(reinterpret_cast<const char*>(mine.data()),
                          mine.size() * sizeof(std::uint32_t));
  std::vector<std::uint32_t> all;
  for (const std::string& part : allgather_strings(comm, bytes)) {
    const std::size_t at = all.size();
    all.resize(at + part.size() / sizeof(std::uint32_t));
    std::memcpy(all.data() + at, part.data(), part.size());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

}  // namespace

FitResult fit(SoftmaxRegression& model, const Dataset& train, std::span<const double> weights,
              const FitOptions& options, ThreadPool& pool,
              const std::function<void(const Iteration&)>& on_iteration,
              const std::function<bool()>& stop_requested) {
  if (train.inputs != model.inputs())
    throw InputError(train.source + ": examples have " + std::to_string(train.inputs) +
                     " inputs but the model expects " + std::to_string(model.inputs()));
  return fit(model, Features::of(train), train.labels, train.rows, weights, options, pool,
             on_iteration, stop_requested);
}

FitResult fit(SoftmaxRegression& model, const Features& features,
              std::span<const std::int32_t> labels, std::size_t rows,
              std::span<const double> weights, const FitOptions& options, ThreadPool& pool,
              const std::function<void(const Iteration&)>& on_iteration,
              const std::function<bool()>& stop_requested) {
  if (options.solver == Solver::sgd) throw std::invalid_argument("fit: sgd is Trainer's");
  if (features.inputs != model.inputs() || labels.size() != rows ||
      (!weights.empty() && weights.size() != rows))
    throw std::invalid_argument("fit: features, labels, weights and model do not fit");
  const auto start = std::chrono::steady_clock::now();
  // Across processes (options.comm): each holds a part of the rows, in rank order.
  const Comm* comm = options.comm != nullptr && options.comm->size() > 1 ? options.comm : nullptr;
  std::size_t global_rows = rows;
  if (comm != nullptr) {
    global_rows = 0;
    for (const double n : allgather_values(*comm, static_cast<double>(rows)))
      global_rows += static_cast<std::size_t>(n);
  }
  FitResult result;
  // Sparse data: only the columns some training row stores take part. Every other column's data
  // gradient is 0 at every point, so its optimum is 0 with a penalty (and wherever it starts
  // without one), and the solver's vectors need not hold it: they have K (A + 1) entries for the
  // A columns used, not K (D + 1) (a hashed or indexed space is mostly empty).
  Features x = features;
  std::vector<std::uint32_t> active, compact_cols;
  const std::size_t inputs = features.inputs;
  std::size_t d = inputs;
  if (features.sparse()) {
    const std::size_t nnz = features.offsets[rows];
    active.assign(features.cols, features.cols + nnz);
    std::sort(active.begin(), active.end());
    active.erase(std::unique(active.begin(), active.end()), active.end());
    if (comm != nullptr) active = all_processes_columns(*comm, active);
    if (active.size() < d) {
      compact_cols.resize(nnz);
      for (std::size_t e = 0; e < compact_cols.size(); ++e)
        compact_cols[e] = static_cast<std::uint32_t>(
            std::lower_bound(active.begin(), active.end(), features.cols[e]) - active.begin());
      x.cols = compact_cols.data();
      d = x.inputs = active.size();
    } else {
      active.clear();
    }
  }
  const std::size_t k_out = model.outputs();
  Objective objective(x, labels, rows, d, model.classes(), model.output(), 0.0, weights, pool,
                      /*hessian=*/options.solver == Solver::newton, Sharding{comm, global_rows});
  // λ from S, the weights' sum over every process's rows, as the objective sums them.
  result.lambda = options.penalty.lambda_for(objective.weight_sum());
  objective.set_lambda(result.lambda);
  // Without an intercept the bias is held at 0: the solvers see its gradient, Hessian products
  // and curvature as 0, 0 and 1, so no step moves it (and L-BFGS's pairs never hold it).
  NoIntercept no_intercept(objective, k_out * d);
  SmoothFunction& f = options.fit_intercept ? static_cast<SmoothFunction&>(objective)
                                            : static_cast<SmoothFunction&>(no_intercept);
  SolveOptions so;
  so.tol = options.tol;
  so.max_iter = options.max_iter;
  so.lbfgs_memory = options.lbfgs_memory;
  so.gradient_scale = objective.weight_sum();
  so.on_iteration = on_iteration;
  so.stop_requested = stop_requested;
  std::vector<double> theta;
  if (active.empty()) {
    theta = parameters_of(model);
  } else {
    theta.resize(k_out * (d + 1));
    const std::span<const float> w = model.weight();
    for (std::size_t k = 0; k < k_out; ++k) {
      for (std::size_t a = 0; a < d; ++a) theta[k * d + a] = w[k * inputs + active[a]];
      theta[k_out * d + k] = model.bias()[k];
    }
  }
  if (!options.fit_intercept)
    std::fill(theta.begin() + static_cast<std::ptrdiff_t>(k_out * d), theta.end(), 0.0);
  result.solve = options.solver == Solver::newton ? minimize_newton(f, theta, so)
                                                  : minimize_lbfgs(f, theta, so);
  if (active.empty()) {
    set_parameters(model, theta);
  } else {
    const std::span<float> w = model.weight();
    if (result.lambda > 0) std::fill(w.begin(), w.end(), 0.0f);  // the unused columns' optimum
    for (std::size_t k = 0; k < k_out; ++k) {
      for (std::size_t a = 0; a < d; ++a)
        w[k * inputs + active[a]] = static_cast<float>(theta[k * d + a]);
      model.bias()[k] = static_cast<float>(theta[k_out * d + k]);
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<double> ClassWeights::of(const Dataset& data, const Comm* comm) const {
  if (!given.empty()) return given;
  if (!balanced) return {};
  std::vector<double> counts(data.classes() + 1, 0.0), w(data.classes(), 0.0);
  for (std::int32_t y : data.labels) counts[static_cast<std::size_t>(y)] += 1;
  counts.back() = static_cast<double>(data.rows);
  if (comm != nullptr && comm->size() > 1) {
    // Every process's counts (whole numbers: their sum is exact in any order).
    const std::vector<std::size_t> sizes(static_cast<std::size_t>(comm->size()), counts.size());
    std::vector<double> all(counts.size() * sizes.size());
    comm->allgather(counts, sizes, all);
    std::fill(counts.begin(), counts.end(), 0.0);
    for (std::size_t p = 0; p < sizes.size(); ++p)
      for (std::size_t k = 0; k < counts.size(); ++k) counts[k] += all[p * counts.size() + k];
  }
  for (std::size_t k = 0; k < w.size(); ++k)
    if (counts[k] > 0) w[k] = counts.back() / (static_cast<double>(w.size()) * counts[k]);
  return w;
}

std::vector<double> example_weights(const Dataset& data, const ClassWeights& class_weights,
                                    const Comm* comm) {
  const std::vector<double> per_class = class_weights.of(data, comm);
  if (per_class.empty() && data.weights.empty()) return {};
  if (!per_class.empty() &&
      std::all_of(per_class.begin(), per_class.end(), [](double w) { return w == 0; }))
    throw InputError(data.source + ": every class weight is 0, so no row would count");
  std::vector<double> s(data.rows, 1.0);
  for (std::size_t i = 0; i < data.rows; ++i) {
    if (!data.weights.empty()) s[i] = data.weights[i];
    if (!per_class.empty()) s[i] *= per_class[static_cast<std::size_t>(data.labels[i])];
  }
  return s;
}

namespace {

// The rows of `data` whose fold is (or is not) f, in the file's order.
Dataset fold_part(const Dataset& data, const std::vector<std::size_t>& fold_of, std::size_t f,
                  bool held_out) {
  Dataset part = data.empty_like(data.source + " (fold " + std::to_string(f + 1) + ")");
  part.feature_names = {};
  for (std::size_t i = 0; i < data.rows; ++i)
    if ((fold_of[i] == f) == held_out) part.append_row(data, i);
  return part;
}

}  // namespace

std::vector<CvPoint> cross_validate(const Dataset& data, const ClassWeights& class_weights,
                                    std::span<const Penalty> penalties, std::size_t folds,
                                    Output output, const FitOptions& options, Rng& rng,
                                    ThreadPool& pool, const std::function<bool()>& stop_requested) {
  if (folds < 2)
    throw InputError(param("cv") + " " + std::to_string(folds) + ": expected at least 2 folds");
  // Stratified folds: each class's rows shuffled, then dealt to the folds in turn.
  std::vector<std::vector<std::uint32_t>> members(data.classes());
  for (std::size_t i = 0; i < data.rows; ++i)
    members[static_cast<std::size_t>(data.labels[i])].push_back(static_cast<std::uint32_t>(i));
  for (std::size_t k = 0; k < members.size(); ++k)
    if (members[k].size() < folds)
      throw InputError(param("cv") + " " + std::to_string(folds) + ": class '" +
                       data.class_names[k] + "' has " + std::to_string(members[k].size()) +
                       " training rows, fewer than the folds (each fold needs every class)");
  std::vector<std::size_t> fold_of(data.rows);
  for (auto& m : members) {
    shuffle(m, rng);
    for (std::size_t j = 0; j < m.size(); ++j) fold_of[m[j]] = j % folds;
  }

  // From the strongest penalty to the weakest: λ falls as C grows.
  std::vector<std::size_t> order(penalties.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return penalties[a].stronger_than(penalties[b]);
  });

  std::vector<std::vector<double>> accuracy(penalties.size()), iterations(penalties.size());
  const std::size_t classes = data.classes();
  for (std::size_t f = 0; f < folds; ++f) {
    const Dataset train = fold_part(data, fold_of, f, false);
    const Dataset held = fold_part(data, fold_of, f, true);
    const std::vector<double> weights = example_weights(train, class_weights);
    SoftmaxRegression model(train.inputs, classes, output);  // zeros: the first fit's start
    for (std::size_t p : order) {
      FitOptions o = options;
      o.penalty = penalties[p];
      const FitResult r = fit(model, train, weights, o, pool, {}, stop_requested);
      if (r.solve.interrupted) throw Interrupted(0);
      const PassStats s = evaluate(model, Features::of(held), held.labels, held.rows, pool);
      accuracy[p].push_back(static_cast<double>(s.correct) / static_cast<double>(held.rows));
      iterations[p].push_back(r.solve.iterations);
    }
  }
  std::vector<CvPoint> points;
  for (std::size_t p = 0; p < penalties.size(); ++p) {
    CvPoint c;
    c.penalty = penalties[p];
    const double n = static_cast<double>(folds);
    for (double a : accuracy[p]) c.mean_accuracy += a / n;
    for (double a : accuracy[p])
      c.std_accuracy += (a - c.mean_accuracy) * (a - c.mean_accuracy) / n;
    c.std_accuracy = std::sqrt(c.std_accuracy);
    for (double it : iterations[p]) c.mean_iterations += it / n;
    points.push_back(c);
  }
  return points;
}

std::size_t best_point(std::span<const CvPoint> points) {
  std::size_t best = 0;
  for (std::size_t p = 1; p < points.size(); ++p) {
    const double a = points[p].mean_accuracy, b = points[best].mean_accuracy;
    if (a > b || (a == b && points[p].penalty.stronger_than(points[best].penalty))) best = p;
  }
  return best;
}

}  // namespace softreg
