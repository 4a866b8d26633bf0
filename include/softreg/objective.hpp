// The regularised objective of softmax (and logistic) regression over a whole data set, the
// function the full-batch solvers minimise (docs/objective.md):
//
//   F(W, b) = (1/S) Σᵢ sᵢ ℓ(yᵢ, W xᵢ + b) + (λ/2) ‖W‖²_F,      S = Σᵢ sᵢ
//
// ℓ is the softmax cross-entropy (K rows of W) or, for a logistic model, the sigmoid's binary
// cross-entropy (one row, the logit of class 1); sᵢ is example i's weight (1 by default); the
// intercept b is not penalised. With o = W x + b and p = softmax(o):
//
//   ∂F/∂W = (1/S) Σᵢ sᵢ (pᵢ − onehot(yᵢ)) xᵢᵀ + λ W          ∂F/∂b = (1/S) Σᵢ sᵢ (pᵢ − onehot(yᵢ))
//   H [V; v] = (1/S) Σᵢ sᵢ rᵢ [xᵢᵀ; 1] + [λ V; 0],  rᵢ = pᵢ ⊙ uᵢ − pᵢ (pᵢ · uᵢ),  uᵢ = V xᵢ + v
//
// (for the logistic model p = σ(z) and rᵢ = p (1 − p) uᵢ). Everything is computed in double from
// the data's own storage (bytes stay bytes, times their scale).
//
// One pass over the data computes the logits, the losses and the gradient (or the Hessian-vector
// product) together, four rows at a time, so the data is read once per evaluation. Sparse rows
// take two: the logits and coefficients row by row, then the gradient column by column over the
// rows' transpose (built once, 8 bytes a stored value), so no thread adds into another's sums.
//
// Reproducibility: the rows are cut into stripes that depend only on the data's shape (at most
// 24, of at least 256 rows); one task sums a stripe's rows into its own partial gradient in row
// order, and the partials are added in stripe order. So every number comes from the same
// operations in the same order whatever the thread count: bit-identical results for every number
// of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "softreg/kernel.hpp"
#include "softreg/model.hpp"
#include "softreg/solve.hpp"

namespace softreg {

/// The parameters as the solvers see them: W row-major (outputs x inputs), then b (outputs).
std::vector<double> parameters_of(const SoftmaxRegression& model);
/// Writes parameters back into a model of the same shape (rounded to float).
void set_parameters(SoftmaxRegression& model, std::span<const double> theta);

/// A data-parallel objective (docs/objective.md, "Across processes"): the rows of a data set of
/// `global_rows` rows are held by comm's processes in rank order, and every process gets the
/// values of one process holding every row, bit for bit, for every number of processes (and
/// threads). Dense rows: each process holds the whole stripes objective_rows() gives it; their
/// partial sums are all-gathered and every process folds all of them in stripe order. Sparse
/// rows: any contiguous part; each column's sum (and each stripe's loss) is carried from one
/// process to the next in row order, as one process adds them, and the last hands out the sums.
/// Constructing and evaluating are collective: every process does them in the same order.
struct Sharding {
  const Comm* comm = nullptr;  // null: one process
  std::size_t global_rows = 0;
};

/// The rows [begin, end) that part `part` of `parts` holds for a dense objective over `rows`
/// rows with `inputs` inputs and `outputs` outputs: the stripes ⌊p S / P⌋ .. ⌊(p + 1) S / P⌋ of
/// its S stripes (a part may hold none when there are more parts than stripes).
RowRange objective_rows(std::size_t rows, std::size_t inputs, std::size_t outputs,
                        std::uint32_t parts, std::uint32_t part);

class Objective final : public SmoothFunction {
 public:
  /// F over the first `rows` rows of `x` with `labels`; `weights` (the sᵢ: sample weight times
  /// class weight) has one entry per row, or is empty for all 1. `lambda` ≥ 0 is λ. The data,
  /// labels, weights and pool must outlive the objective. `hessian`: whether hessian_vector and
  /// hessian_diagonal will be asked for; they need the probabilities of every row kept from
  /// value_gradient (8 bytes a row and class), which L-BFGS does not.
  Objective(const Features& x, std::span<const std::int32_t> labels, std::size_t rows,
            std::size_t inputs, std::size_t classes, Output output, double lambda,
            std::span<const double> weights, ThreadPool& pool, bool hessian = true,
            const Sharding& sharding = {});

  /// The number of parameters, outputs x (inputs + 1).
  std::size_t dimension() const override { return outputs_ * (inputs_ + 1); }
  std::size_t outputs() const { return outputs_; }
  double lambda() const { return lambda_; }
  /// λ from now on (fit() sets it from weight_sum() for a C).
  void set_lambda(double lambda);
  /// S, the sum of the weights (the number of rows when all are 1).
  double weight_sum() const { return weight_sum_; }

  /// F at theta.
  double value(std::span<const double> theta);
  /// F and ∇F at theta; remembers the probabilities there for hessian_vector.
  double value_gradient(std::span<const double> theta, std::span<double> gradient) override;
  /// H v at the theta of the last value_gradient.
  void hessian_vector(std::span<const double> v, std::span<double> hv) override;
  /// diag(H) at the theta of the last value_gradient: (1/S) Σᵢ sᵢ pᵢₖ (1 − pᵢₖ) xᵢⱼ² + λ for
  /// W (no λ for b).
  bool hessian_diagonal(std::span<double> diagonal) override;

 private:
  enum class Pass { value, gradient, hessian, diagonal };
  // One pass over the rows with params (θ, or V for the Hessian): returns (1/S) Σ sᵢ ℓᵢ (value,
  // gradient) and writes the data term's gradient or H v into `out`.
  double pass(Pass kind, std::span<const double> params, std::span<double> out);
  // The same over sparse rows: logits row by row, then each column's sum over the transpose.
  double sparse_pass(Pass kind, std::span<const double> params, std::span<double> out);
  // Row `row`'s coefficients gᵢ for the pass from its logits (or uᵢ) z and probabilities p
  // (written by gradient passes, read by the others); returns sᵢ ℓᵢ (value and gradient).
  double coefficients(Pass kind, std::size_t row, const double* z, double* p, double* g) const;
  void check(std::span<const double> params, std::span<double> out) const;
  // Sparse rows: acc[k] += Σ gᵢₖ xᵢⱼ (or xᵢⱼ²) over the rows that store column j, in row order.
  void add_column(Pass kind, std::size_t j, double* acc) const;
  // Sparse rows across processes (docs/objective.md): the global stripe of a global row; the
  // running sums from the process before (zeros on the first) and to the process after; the
  // last process's values to every process; a sum continued over the processes in rank order;
  // the stripes' losses and intercept sums finished across processes; the columns' sums.
  std::size_t stripe_of(std::size_t row) const;
  void chain_receive(std::span<double> acc) const;
  void chain_send(std::span<const double> acc) const;
  void from_last(std::span<const double> mine, std::span<double> all) const;
  double chain_sum(double mine_from) const;
  void finish_stripes(bool backward);
  void sharded_columns(Pass kind, std::span<double> out);
  // Row i as doubles (times the scale) into `row`.
  void load_row(std::size_t i, double* row) const;

  Features x_;
  std::span<const std::int32_t> labels_;
  std::size_t rows_, inputs_, outputs_;
  Output output_;
  double lambda_;
  std::span<const double> weights_;
  double weight_sum_ = 0;
  ThreadPool& pool_;
  std::size_t stripes_ = 1;
  // Sharded: the stripes [first_stripe_, last_stripe_) of the global rows are this process's;
  // rows_ are theirs, and global row first_row_ is local row 0.
  const Comm* comm_ = nullptr;
  std::size_t global_rows_ = 0, first_stripe_ = 0, last_stripe_ = 1, first_row_ = 0;
  // Per process, for the all-gathers: the stripes it holds (sparse: that end in its rows), and
  // their partials' doubles.
  std::vector<std::size_t> partial_counts_, stripe_counts_;
  // Sparse rows across processes: each process's first global row (and the total, last); the
  // losses of this process's rows in a stripe begun before them; the columns' running sums (j
  // major) and the last process's.
  std::vector<std::size_t> process_first_row_;
  std::vector<double> head_losses_, column_sums_, column_totals_;
  std::vector<double> gathered_partials_, gathered_losses_;
  // The global stripe s's rows [stripe_begin(s), stripe_begin(s + 1)).
  std::size_t stripe_begin(std::size_t s) const { return global_rows_ * s / stripes_; }
  bool hessian_;
  std::vector<double> probabilities_;  // rows x outputs, at the last value_gradient's point
  std::vector<double> partials_;       // stripes x dimension()
  std::vector<double> losses_;         // per stripe: Σ sᵢ ℓᵢ
  std::vector<double> scratch_;        // per stripe: rows, logits, coefficients of a group
  std::size_t scratch_size_ = 0;
  bool have_probabilities_ = false;
  // Sparse rows: the coefficients of every row, and the rows' transpose (CSC).
  std::vector<double> row_coef_;
  std::vector<double> params_t_;  // W feature-major, for the logits of sparse rows
  std::vector<std::uint64_t> csc_offsets_;
  std::vector<std::uint32_t> csc_rows_;
  std::vector<float> csc_vals_;
};

}  // namespace softreg
