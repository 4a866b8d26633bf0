// softreg as a library on data the caller owns (docs/api.md): views of dense float32/float64
// matrices (any strides: C or Fortran order) and CSR matrices (32- or 64-bit indices), fitted
// to the regularised optimum (lbfgs, newton) or by the lesson's SGD, and asked for scores,
// probabilities and classes. The Python module (python/) is a thin layer over this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "softreg/fit.hpp"
#include "softreg/kernel.hpp"
#include "softreg/model.hpp"
#include "softreg/ops.hpp"
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
};

/// The features as the kernels read them (float32 rows, or CSR with 64-bit offsets, 32-bit
/// columns and float32 values): a view of the caller's memory when it is laid out so (C order
/// float32; CSR with int64 indptr, int32 indices and float32 data), else a copy converted once.
/// Checks what it reads: a column index outside [0, cols), indptr not from 0 and not decreasing,
/// columns not increasing within a row (scipy's canonical form; unsorted rows are sorted in the
/// copy), or a value that is not finite, is InputError naming `what` (e.g. "X").
class FeatureView {
 public:
  static FeatureView of(const DenseMatrix& m, const char* what = "X");
  static FeatureView of(const CsrMatrix& m, const char* what = "X");

  const Features& features() const { return x_; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return x_.inputs; }
  bool sparse() const { return x_.sparse(); }
  /// Whether the caller's memory is read directly (no copy was made).
  bool is_view() const { return view_; }

 private:
  // rows x cols, checked (columns from 1 to 2^32 - 1); a view until a copy is made.
  FeatureView(std::size_t rows, std::size_t cols, const char* what);
  Features x_;
  std::size_t rows_ = 0;
  bool view_ = true;
  std::vector<float> values_;
  std::vector<std::uint64_t> offsets_;
  std::vector<std::uint32_t> cols_;
};

/// How to fit: the objective's penalty and the solver, or SGD's options.
struct ClassifierOptions {
  Solver solver = Solver::lbfgs;
  /// scikit-learn's C (λ = 1 / (C S)), or no penalty at all when `penalize` is false.
  double C = 1.0;
  bool penalize = true;
  double tol = 1e-4;
  int max_iter = 100;
  int lbfgs_memory = 10;
  bool fit_intercept = true;  // lbfgs, newton: false holds b at 0
  TrainOptions sgd;           // Solver::sgd: epochs, batch, rate, schedule, ... (threads below)
  /// Solver::sgd: start from the lesson's weights, N(0, 0.01²) drawn from the seed's generator,
  /// which then shuffles every epoch (softreg train's order of draws), instead of the model's.
  bool lesson_init = false;
  std::uint64_t seed = 0;
  unsigned threads = 0;  // 0: one per core; results do not depend on it
};

struct ClassifierFit {
  int iterations = 0;  // solver iterations, or SGD epochs
  double objective = 0;
  bool converged = false;
  double lambda = 0;
};

/// Fits `model` (its shape: x's columns, the classes; logistic for two classes as scikit-learn
/// does) on rows of x with labels in [0, classes) and, when not empty, one weight per row
/// (sample weight times class weight), from the model's current parameters (a warm start; zeros
/// for a new model). InputError for labels out of range, weights negative, non-finite or all 0,
/// or sizes that do not match.
ClassifierFit fit_classifier(SoftmaxRegression& model, const FeatureView& x,
                             std::span<const std::int32_t> labels,
                             std::span<const double> sample_weight,
                             const ClassifierOptions& options);

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
