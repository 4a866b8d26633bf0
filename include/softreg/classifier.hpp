// softreg as a library on data the caller owns (docs/api.md): views of dense float32/float64
// matrices (any strides: C or Fortran order) and CSR matrices (32- or 64-bit indices), fitted
// to the regularised optimum (lbfgs, newton) or by the lesson's SGD, and asked for scores,
// probabilities and classes. The Python module (python/) is a thin layer over this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "softreg/data.hpp"
#include "softreg/fit.hpp"
#include "softreg/kernel.hpp"
#include "softreg/model.hpp"
#include "softreg/ops.hpp"
#include "softreg/random.hpp"
#include "softreg/solve.hpp"
#include "softreg/train.hpp"

namespace softreg {

/// A rows x cols matrix the caller owns: element (i, j) is at data + i * row_stride +
/// j * col_stride (strides in elements): C order has (cols, 1), Fortran order (1, rows).
struct DenseMatrix {
  const void* data = nullptr;
  bool f64 = false;  // double, else float
  std::size_t rows = 0, cols = 0;
  std::ptrdiff_t row_stride = 0, col_stride = 1;
};

/// A rows x cols CSR matrix the caller owns (scipy.sparse's csr_matrix): row i's columns are
/// indices[indptr[i] .. indptr[i + 1]) with values data[...] at the same places.
struct CsrMatrix {
  std::size_t rows = 0, cols = 0;
  const void* indptr = nullptr;  // rows + 1 entries
  bool indptr64 = true;          // int64, else int32
  const void* indices = nullptr;
  bool indices64 = false;  // int64, else int32
  const void* data = nullptr;
  bool data64 = false;  // double, else float
  /// The entries the caller's indices and data arrays hold: indptr must stay within both.
  std::size_t indices_size = 0, data_size = 0;
};

/// The features as the kernels read them (float32 rows, or CSR with 64-bit offsets, 32-bit
/// columns and float32 values): a view of the caller's memory when it is laid out so (C order
/// float32; CSR with int64 indptr, int32 indices and float32 data), else a copy converted once.
/// Checks what it reads, indptr whole before any index or value: indptr not from 0, decreasing, or
/// ending past the indices or data arrays; a column index outside [0, cols),
/// columns not increasing within a row (scipy's canonical form; unsorted rows are sorted in the
/// copy), or a value that is not finite, is InputError naming `what` (e.g. "X").
class FeatureView {
 public:
  static FeatureView of(const DenseMatrix& m, const char* what = "X");
  static FeatureView of(const CsrMatrix& m, const char* what = "X");
  /// A loaded data set's features, as they are (bytes, floats or sparse rows, already checked
  /// when loaded): always a view. Its name is the data set's source.
  static FeatureView of(const Dataset& d);

  // Moved, never copied: x_ may point into the vectors below.
  FeatureView(FeatureView&&) = default;
  FeatureView& operator=(FeatureView&&) = default;
  FeatureView(const FeatureView&) = delete;
  FeatureView& operator=(const FeatureView&) = delete;

  const Features& features() const { return x_; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return x_.inputs; }
  bool sparse() const { return x_.sparse(); }
  /// Whether the caller's memory is read directly (no copy was made).
  bool is_view() const { return view_; }
  /// What the rows are called in errors ("X", a file's name).
  const std::string& name() const { return name_; }

 private:
  // rows x cols, checked (columns from 1 to 2^32 - 1); a view until a copy is made.
  FeatureView(std::size_t rows, std::size_t cols, const char* what);
  Features x_;
  std::size_t rows_ = 0;
  std::string name_;
  bool view_ = true;
  std::vector<float> values_;
  std::vector<std::uint64_t> offsets_;
  std::vector<std::uint32_t> cols_;
};

/// How to fit: the objective's penalty and the solver, or SGD's options.
struct ClassifierOptions {
  Solver solver = Solver::lbfgs;
  /// scikit-learn's C (λ = 1 / (C S), S the sum of the row weights), λ itself, or none
  /// (λ = 0). SGD takes it as its weight decay λ (sgd.sgd.weight_decay is set from it).
  Penalty penalty{Penalty::c, 1.0};
  double tol = 1e-4;
  int max_iter = 100;
  int lbfgs_memory = 10;
  bool fit_intercept = true;  // lbfgs, newton: false holds b at 0
  TrainOptions sgd;           // Solver::sgd: epochs, batch, rate, schedule, ... (threads below)
  /// Solver::sgd: start from the lesson's weights, N(0, 0.01²) drawn from the run's generator,
  /// which then shuffles every epoch (softreg train's order of draws), instead of the model's.
  bool lesson_init = false;
  /// Solver::sgd: hold out this fraction of the rows for validation (0: none), stratified as
  /// softreg train --validation-split holds them out, drawn from the run's generator before the
  /// lesson's weights: their loss and accuracy are in every epoch's figures, and with
  /// sgd.early_stopping they choose the epoch whose weights are kept. The training rows are read
  /// in place; the held-out ones are copied.
  double validation_fraction = 0;
  std::uint64_t seed = 0;  // the run's generator, unless FitWatch::rng gives one
  unsigned threads = 0;    // 0: one per core; results do not depend on it
  /// Across processes (FitOptions::comm, TrainOptions::comm): the rows are this process's part
  /// (and so are the test set's); every process ends with the same model.
  const Comm* comm = nullptr;
};

/// Labelled rows besides the training set: x and one class index a row.
struct LabelledView {
  const FeatureView* x = nullptr;  // null: none
  std::span<const std::int32_t> labels;
};

/// What a caller may watch and add while a fit runs (softreg train's progress lines, curves,
/// Ctrl-C and checkpoints); every member may be left empty.
struct FitWatch {
  /// Asked between iterations (and SGD's batches): true stops the fit with Interrupted.
  std::function<bool()> stop_requested;
  /// lbfgs, newton: after every iteration.
  std::function<void(const Iteration&)> on_iteration;
  /// sgd: after every batch and epoch, and the state to checkpoint (train.hpp's callbacks;
  /// their stop_requested is the one above).
  TrainCallbacks epochs;
  /// sgd: rows evaluated after every epoch (EpochMetrics' test figures), and held-out rows
  /// whose loss chooses the epoch early stopping keeps (TrainOptions::early_stopping).
  LabelledView test, validation;
  /// sgd: go on from a checkpoint's state (Trainer::resume_from).
  const TrainState* resume = nullptr;
  /// sgd: the run's generator (it draws the lesson's weights, then the orders), instead of one
  /// seeded with ClassifierOptions::seed.
  Rng* rng = nullptr;
};

struct ClassifierFit {
  int iterations = 0;  // solver iterations, or SGD epochs
  /// lbfgs, newton: F at the result; sgd: the last epoch's mean training loss.
  double objective = 0;
  double gradient = 0;                // lbfgs, newton: the gradient test's value at the result
  bool converged = false;             // lbfgs, newton: the gradient test holds (sgd: true)
  std::string stopped;                // lbfgs, newton: why the solver stopped, in words
  double lambda = 0;                  // the λ that was used
  double seconds = 0;                 // lbfgs, newton: the solver's wall time
  std::vector<EpochMetrics> history;  // sgd: every epoch's figures
};

/// Fits `model` (its shape: x's columns, the classes; logistic for two classes as scikit-learn
/// does) on rows of x with labels in [0, classes) and, when not empty, one weight per row
/// (sample weight times class weight), from the model's current parameters (a warm start; zeros
/// for a new model). InputError for labels out of range, weights negative, non-finite or all 0,
/// or sizes that do not match; Interrupted when watch.stop_requested said stop (the model then
/// holds the last iterate or batch's weights); DivergenceError when SGD's loss is not finite.
ClassifierFit fit_classifier(SoftmaxRegression& model, const FeatureView& x,
                             std::span<const std::int32_t> labels,
                             std::span<const double> sample_weight,
                             const ClassifierOptions& options, const FitWatch& watch = {});

/// The scores X Wᵀ + b, rows x outputs (one column for logistic), in double.
Matrix<double> decision_function(const SoftmaxRegression& model, const FeatureView& x,
                                 unsigned threads = 0);

/// Class probabilities, rows x classes: softmax of the scores, or (1 − σ(z), σ(z)).
Matrix<double> predict_proba(const SoftmaxRegression& model, const FeatureView& x,
                             unsigned threads = 0);

/// The class of each row: the argmax of the scores (z > 0 for logistic), the first of equals.
std::vector<std::int32_t> predict_classes(const SoftmaxRegression& model, const FeatureView& x,
                                          unsigned threads = 0);

}  // namespace softreg
