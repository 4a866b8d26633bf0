// Training to the optimum: the regularised objective (objective.hpp) minimised by L-BFGS or
// Newton (solve.hpp), with example weights, a warm start, and the choice of the penalty by
// k-fold cross-validation along a regularisation path. The SGD trainer is train.hpp's.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "softreg/kernel.hpp"
#include "softreg/model.hpp"
#include "softreg/random.hpp"
#include "softreg/solve.hpp"

namespace softreg {

enum class Solver { sgd, lbfgs, newton };

/// "sgd", "lbfgs", "newton".
const char* solver_name(Solver s);

/// The strength of the penalty, given as λ itself or as scikit-learn's C: its objective
/// C Σᵢ sᵢ ℓᵢ + ½ ‖W‖² has the minimiser of F with λ = 1 / (C S), S = Σᵢ sᵢ.
struct Penalty {
  enum Kind { lambda, c } kind = lambda;
  double value = 0;

  /// λ for a training set whose weights sum to S.
  double lambda_for(double weight_sum) const {
    return kind == c ? 1.0 / (value * weight_sum) : value;
  }
  /// True when this penalty regularises more than `other` (of the same kind): a smaller C, a
  /// larger λ.
  bool stronger_than(const Penalty& other) const {
    return kind == c ? value < other.value : value > other.value;
  }
  /// "C 0.1" or "l2 0.001", for messages and tables.
  std::string text() const;
};

struct FitOptions {
  Solver solver = Solver::lbfgs;  // lbfgs or newton
  Penalty penalty{Penalty::c, 1.0};
  double tol = 1e-4;  // on S max|∂F/∂θ|: scikit-learn's test
  int max_iter = 100;
  int lbfgs_memory = 10;
  /// false: the model has no intercept, b is held at 0 (scikit-learn's fit_intercept=False).
  bool fit_intercept = true;
  /// Across processes (docs/objective.md, "Across processes"): this process holds a part of the
  /// training rows, the processes' parts in rank order making the whole; every process calls
  /// fit() at once and gets the model of one process fitting all the rows, bit for bit (dense
  /// rows: the parts objective_rows() gives). Null: one process.
  const Comm* comm = nullptr;
};

struct FitResult {
  SolveResult solve;
  double lambda = 0;  // the λ that was used
  double seconds = 0;
};

/// Minimises F over `train` from the model's current parameters (zeros for a fresh start, a
/// saved model's for a warm one); `weights` holds sᵢ for every row, or is empty for all 1.
FitResult fit(SoftmaxRegression& model, const Dataset& train, std::span<const double> weights,
              const FitOptions& options, ThreadPool& pool,
              const std::function<void(const Iteration&)>& on_iteration = {},
              const std::function<bool()>& stop_requested = {});

/// The same on features the caller holds: `rows` rows of x with their labels (classifier.hpp's
/// views of callers' matrices come this way, without a copy).
FitResult fit(SoftmaxRegression& model, const Features& x, std::span<const std::int32_t> labels,
              std::size_t rows, std::span<const double> weights, const FitOptions& options,
              ThreadPool& pool, const std::function<void(const Iteration&)>& on_iteration = {},
              const std::function<bool()>& stop_requested = {});

/// How the classes are weighted: not at all, scikit-learn's "balanced" (n / (K n_k) for each of
/// the K classes, computed on the rows being fitted; 0 for a class without rows), or given.
struct ClassWeights {
  bool balanced = false;
  std::vector<double> given;  // one per class, or empty

  /// The weight of each class for the rows of `data` (with `comm`, of every process's rows);
  /// empty for all 1.
  std::vector<double> of(const Dataset& data, const Comm* comm = nullptr) const;
};

/// sᵢ = (the row's sample weight, data.weights, or 1) × (its class's weight); empty when every
/// sᵢ is 1.
std::vector<double> example_weights(const Dataset& data, const ClassWeights& class_weights,
                                    const Comm* comm = nullptr);

/// One value of a cross-validated path.
struct CvPoint {
  Penalty penalty;
  double mean_accuracy = 0;  // over the folds, on each fold's held-out rows
  double std_accuracy = 0;   // population standard deviation over the folds
  double mean_iterations = 0;
};

/// Stratified k-fold cross-validation of each penalty (all of one kind): each class's rows are
/// shuffled by `rng` and dealt to the folds in turn; each fold is fitted on the other folds'
/// rows, from the strongest penalty to the weakest, each fit starting from the previous one's
/// solution on that fold. Returns the points in the order of `penalties`. Throws InputError when
/// folds < 2 or a class has fewer rows than folds.
std::vector<CvPoint> cross_validate(const Dataset& data, const ClassWeights& class_weights,
                                    std::span<const Penalty> penalties, std::size_t folds,
                                    Output output, const FitOptions& options, Rng& rng,
                                    ThreadPool& pool,
                                    const std::function<bool()>& stop_requested = {});

/// The best point: the highest mean accuracy, the strongest penalty among equals.
std::size_t best_point(std::span<const CvPoint> points);

}  // namespace softreg
