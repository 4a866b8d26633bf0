// The hot loop: one fused, threaded step of softmax regression per minibatch, and the
// evaluation of a data set with the same forward code. Checked against ops.hpp in the tests.
//
// Letters: B rows in the batch, D inputs, K outputs (the classes; 1 for logistic regression,
// whose loss is the sigmoid's binary cross-entropy instead). x_i is row i of the batch (bytes or
// floats, times `scale`), W is K x D, b has K entries.
//
//   forward    o_i = W x_i + b,  p_i = softmax(o_i),  loss_i = logsumexp(o_i) - o_{i,y_i}
//   backward   dO_i = (p_i - onehot(y_i)) / B
//              dW = Σ_i dO_i x_iᵀ    (K x D)      db = Σ_i dO_i
//
// Reproducibility: a batch is cut into fixed chunks of rows (128, whatever the thread count); one
// thread computes a chunk's forward pass and its partial gradient, each entry summed over the
// chunk's rows in row order, and the partial gradients are added in chunk order. So each number
// is computed by the same operations in the same order whichever thread computes it: the same
// seed gives bit-identical weights for every thread count.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "softreg/data.hpp"
#include "softreg/model.hpp"
#include "softreg/optim.hpp"
#include "softreg/parallel.hpp"

namespace softreg {

/// Rows of features to read: bytes, floats or compressed sparse rows, times scale.
struct Features {
  const std::uint8_t* bytes = nullptr;  // rows x inputs, or null
  const float* floats = nullptr;        // rows x inputs when bytes is null
  std::size_t inputs = 0;
  float scale = 1.0f;
  // Sparse rows (SparseRows): row i is cols/vals[offsets[i], offsets[i + 1]).
  const std::uint64_t* offsets = nullptr;  // rows + 1, or null when dense
  const std::uint32_t* cols = nullptr;
  const float* vals = nullptr;  // null: every stored value is 1

  bool sparse() const { return offsets != nullptr; }
  /// Row i's stored value k (an index into cols), times the scale.
  float value(std::size_t k) const { return (vals != nullptr ? vals[k] : 1.0f) * scale; }
  static Features of(const Dataset& data);
};

/// The exact sum of float values, kept as one wide fixed-point integer: every finite float is an
/// integer multiple of 2^-149 below 2^128, so 384 bits (two's complement) hold the sum of up to
/// 2^100 of them with no rounding at all. Adding is integer addition, so the sum is the same in
/// every order and every grouping (threads, processes); value() rounds it once, to the nearest
/// double. Infinities and NaNs are added apart, as floats, and value() is then theirs.
class ExactSum {
 public:
  static constexpr std::size_t kWords = 6;
  static constexpr std::size_t kBytes = kWords * 8 + 4;  // bytes() and of_bytes()

  void add(float v);
  void add(const ExactSum& other);
  /// The sum rounded to the nearest double (ties to even).
  double value() const;
  /// The sum as kBytes bytes, to send to other processes, and back.
  std::array<std::uint8_t, kBytes> bytes() const;
  static ExactSum of_bytes(std::span<const std::uint8_t> b);

 private:
  std::array<std::uint64_t, kWords> words_{};  // the sum times 2^149, least significant first
  float special_ = 0.0f;                       // the sum of the infinite and NaN values
};

/// What a pass over some rows found: the sum of the per-row losses and the number of rows
/// whose argmax was the label. evaluate() also keeps the exact sum of the rows' (float) losses,
/// so that parts evaluated apart, on other processes, add up to the whole pass's figure;
/// loss_sum is then loss_exact.value().
struct PassStats {
  double loss_sum = 0.0;
  std::size_t correct = 0;
  std::size_t rows = 0;
  ExactSum loss_exact{};
};

/// Gradients of the mean loss over a batch, shaped like the model's parameters.
struct Gradients {
  AlignedFloats weight;     // K x D
  std::vector<float> bias;  // K
};

/// Runs the fused steps of a model of a given shape; holds the scratch memory for a batch.
namespace detail {
/// What a block of rows found (loss and correct rows), a cache line of its own: the threads
/// each write their blocks' figures.
struct alignas(64) LineStats {
  double loss_sum = 0.0;
  std::size_t correct = 0;
};
}  // namespace detail

class SoftmaxKernel {
 public:
  /// outputs: the model's outputs() (rows of W).
  SoftmaxKernel(std::size_t inputs, std::size_t outputs, std::size_t max_batch);

  /// Called on a pool thread with a block [begin, end) of grad.weight's entries once they are
  /// final; the blocks of one step are disjoint and cover all entries.
  using WeightBlockFn = std::function<void(std::size_t begin, std::size_t end)>;

  /// Forward, stable softmax, cross-entropy and accuracy from the same logits, and the gradient
  /// of the batch's mean loss into `grad`. `rows` are the batch's row indices into x and labels.
  /// `on_weight_block`, when given, lets the caller update W block by block on the threads that
  /// summed each block (the trainer runs its optimizer there), instead of on one thread after the
  /// step: W is then written where it was just computed rather than pulled to one core and back.
  /// It is not called when the batch's loss is not finite.
  PassStats step(const SoftmaxRegression& model, const Features& x,
                 std::span<const std::int32_t> labels, std::span<const std::uint32_t> rows,
                 Gradients& grad, ThreadPool& pool, const WeightBlockFn& on_weight_block = {});

  /// The floats of one chunk's partial gradient in chunk_gradients' output: dW (K x D), then db.
  std::size_t chunk_floats() const { return classes_ * inputs_ + classes_; }

  /// One process's share of a step across processes (train.hpp, TrainOptions::comm): the
  /// partial gradients of whole chunks of a batch of `batch_rows` rows. `rows` (into x and
  /// labels) are the batch's rows from the start of one chunk on, a whole number of chunks (the
  /// batch's last may be short); chunk i of them gets its dW then db, by the arithmetic of step(),
  /// at out[i * chunk_floats()], and its loss and correct rows in stats[i]. Added in chunk order
  /// over the whole batch, as step() adds them, they give step()'s gradient bit for bit.
  void chunk_gradients(const SoftmaxRegression& model, const Features& x,
                       std::span<const std::int32_t> labels, std::span<const std::uint32_t> rows,
                       std::size_t batch_rows, ThreadPool& pool, std::span<float> out,
                       std::span<PassStats> stats);

  /// Rows of a batch in one chunk (its last chunk may have fewer).
  static std::size_t rows_per_chunk();

 private:
  void reserve(std::size_t batch);

  std::size_t inputs_;
  std::size_t classes_;
  AlignedFloats scratch_;                       // per chunk of rows: dO, partial db, partial dW
  std::vector<detail::LineStats> chunk_stats_;  // per chunk of rows
  std::vector<const void*> row_ptr_;            // the batch's rows
};

/// What SGD carries from one step to the next besides its options, in the model's layout: the
/// last step's weights, the optimizer's per-weight state and the running average (a checkpoint
/// holds it; docs/formats.md, "Checkpoints").
struct SgdState {
  SoftmaxRegression weights;                  // the last step's, not averaged
  std::vector<float> slow_weight, slow_bias;  // momentum's v or AdaGrad's G; empty with neither
  std::optional<SoftmaxRegression> average;   // from the start of averaging on
  std::uint64_t averaged = 0;                 // steps the average holds (the sparse trainer's)
};

/// Minibatch SGD on sparse rows, each step O(nnz K) rather than O(D K): the step's arithmetic
/// touches only the columns the batch's rows store (docs/objective.md, "Sparse SGD"). With
/// SgdOptions::adagrad, AdaGrad, which changes nothing where the gradient is 0: exactly lazy,
/// without weight decay (refused: it would change every weight every step).
///
/// The update is SgdOptions' (PyTorch's) for W, without decay for b. A column no row of the batch
/// stores has gradient 0, so its step is linear: w ← (1 − ηλ) w − ημ v, v ← μ v + λ w. Those steps
/// are not done one by one: each column records how many steps it has had, and when a batch
/// touches it (or at flush) the steps it missed are applied at once, as the power Mⁿ of that 2 x 2
/// map (just (1 − ηλ)ⁿ without momentum; nothing at all without decay and momentum). So W is the
/// eager update's, to rounding.
///
/// W is kept feature-major (wt[j S + k], S = stride()): a stored feature reads and writes one
/// contiguous run of K weights. With 32 classes or more, S is K rounded up to 16 (a run starts
/// on a cache line) and a step large enough to pay for it is shared with the pool's threads in
/// three jobs of fixed tasks (parallel.hpp): the touched columns caught up, block of 16 classes by
/// block; the logits and losses, block of rows by block; the gradient and update, block of
/// classes by block, over all the batch's columns (no two tasks write one cache line). Every entry
/// is the same arithmetic in the same order whichever thread computes it, and every sum runs in
/// row order: the result is the same for every thread count.
class SparseSgd {
 public:
  /// Starts from the model's weights and bias; `pool`, when given, runs the steps and flush()
  /// (it must outlive this).
  SparseSgd(const SoftmaxRegression& model, const SgdOptions& options, ThreadPool* pool = nullptr);

  /// One step on the batch `rows` of x: forward, loss, gradient of the batch's mean loss, update.
  /// When the batch's loss is not finite nothing is changed and the stats say so.
  PassStats step(const Features& x, std::span<const std::int32_t> labels,
                 std::span<const std::uint32_t> rows);
  /// Applies every column's missed steps: afterwards wt() is exactly the eager update's W.
  void flush();
  /// Changes the learning rate from the next step on. A column's missed steps are applied with
  /// the rates they had: while the rate has not changed since the last flush, as one power of
  /// their map; after a change, as the product of the steps' maps from a segment tree over them.
  void set_lr(float lr);
  float lr() const { return options_.lr; }
  /// From the next step on, also keeps the average of W and b over the steps (Polyak-Ruppert
  /// averaging, each step's weights after it), caught up lazily like the weights; wt() and
  /// bias() then give the average. Not with momentum.
  void start_averaging();

  /// The weights (their average once averaging started), feature-major with row stride
  /// stride(); call flush() first.
  std::span<const float> wt() const { return averaging_ ? avg_ : wt_; }
  std::size_t stride() const { return stride_; }
  std::span<const float> bias() const {
    return std::span<const float>(averaging_ ? avg_bias_ : bias_).first(outputs_);
  }
  Output output() const { return output_; }
  /// Flushes and writes W (class-major, the model's layout) and b into `model`.
  void write_to(SoftmaxRegression& model);
  /// Flushes and returns everything the next steps depend on (besides the options).
  SgdState state();
  /// Puts a saved state back (right after construction, with the options it was saved under);
  /// std::invalid_argument when its shapes are not this trainer's.
  void restore(const SgdState& state);
  /// Flushes and returns every float of the state in this trainer's own layout (feature-major,
  /// padded with zeros to the stride), W, b, then the optimizer's and the average's: what
  /// trainers of the same shape and options can average element by element in place (SGD
  /// across processes), without state()'s and restore()'s copies into the model's layout.
  std::vector<std::span<float>> state_in_place();
  /// The steps the running average holds (after a flush), and setting them: processes whose
  /// averages were averaged agree on one count.
  std::uint64_t averaged() const { return averaged_; }
  void set_averaged(std::uint64_t steps) { averaged_ = steps; }
  /// The smallest step, in stored values x classes of its batch, that is shared with the pool
  /// (smaller ones run on the calling thread: sharing would cost more than it saves). The
  /// default was measured (bench/kernel_bench.cpp, BM_SparseStep); benchmarks and tests change it.
  static constexpr std::size_t kSharedEntries = std::size_t{1} << 19;
  void set_shared_entries(std::size_t entries) { shared_entries_ = entries; }

 private:
  // Applies the steps [from, steps_) (since the last flush) to classes [k0, k1) of column col.
  void catch_up(std::size_t col, std::uint32_t from, std::size_t k0, std::size_t k1);
  // Step `step`'s lazy map into leaf `step` of the tree, and its ancestors updated.
  void put_step_map(std::uint32_t step, float lr);
  // The product of the maps of steps [from, to) and, without momentum, the sum of its prefix
  // products of (1 − ηλ) (for averaging): {a, b, c, d, sum}.
  std::array<double, 5> steps_map(std::uint32_t from, std::uint32_t to) const;
  // Whether a step touching `entries` (stored values x classes) is shared with the pool.
  bool threaded(std::size_t entries) const;

  std::size_t inputs_, outputs_, stride_;
  Output output_;
  SgdOptions options_;
  ThreadPool* pool_;
  std::size_t shared_entries_ = kSharedEntries;
  AlignedFloats wt_, vt_;               // D x S; vt_ (momentum) empty without momentum
  AlignedFloats g2_;                    // AdaGrad's Σ d², D x S; empty without AdaGrad
  std::vector<float> bias_g2_;          // and the bias's, S
  std::vector<float> bias_, bias_v_;    // S (0 past K)
  std::vector<std::uint32_t> done_;     // per column: the steps it has had since the last flush
  std::vector<std::uint32_t> slot_;     // per column: its row in grad_ during a step, or none
  std::uint32_t steps_ = 0;             // steps since the last flush
  std::vector<std::uint32_t> touched_;  // the batch's columns, in first-seen order
  std::vector<std::uint32_t> missed_;   // per touched column: the first step it missed
  AlignedFloats grad_;                  // touched x S
  bool averaging_ = false;
  AlignedFloats avg_;                          // the average of W, D x S
  std::vector<float> avg_bias_;                // and of b
  std::uint64_t averaged_ = 0;                 // steps averaged before the last flush
  AlignedFloats logits_;                       // batch x S
  std::vector<detail::LineStats> rows_stats_;  // per block of the batch's rows
  // Rates that changed since the last flush: each step's rate, and a segment tree of the steps'
  // maps (leaves_ leaves from index leaves_, node i the product of its children 2i, 2i + 1).
  bool varying_ = false;
  std::vector<float> rates_;
  std::vector<std::array<double, 5>> tree_;
  std::size_t leaves_ = 0;
};

/// Loss and accuracy of `model` on all rows of x; when `predictions` is not empty (size rows), the
/// predicted classes are written there. Uses the forward code of the training step.
/// `alongside`, when given, is a job that runs on one of the pool's threads while the others start
/// on the rows (the trainer shuffles the next epoch's order there); it must not touch the model.
PassStats evaluate(const SoftmaxRegression& model, const Features& x,
                   std::span<const std::int32_t> labels, std::size_t rows, ThreadPool& pool,
                   std::span<std::int32_t> predictions = {},
                   const std::function<void()>& alongside = {});

/// evaluate() for sparse rows x under weights stored feature-major, wt[j * stride + k] = W[k][j]
/// (stride >= the classes; the sparse trainer's layout: a row's stored features each read one
/// contiguous run of weights), with the bias (its size: the classes) and output given.
PassStats evaluate_feature_major(std::span<const float> wt, std::size_t stride,
                                 std::span<const float> bias, Output output, const Features& x,
                                 std::span<const std::int32_t> labels, std::size_t rows,
                                 ThreadPool& pool, std::span<std::int32_t> predictions = {});

/// The logits of the first `rows` rows of x (rows x outputs), by the forward code of the training
/// step.
Matrix<float> logits(const SoftmaxRegression& model, const Features& x, std::size_t rows,
                     ThreadPool& pool);

/// x[i] = e^x[i], vectorised: the exponential of the kernel's softmax, which calls it on o -
/// max(o), so for x <= 0. Within 1.5 ulp of e^x wherever that is a normal float: checked for every
/// float from -87.33 to 0, the worst is 0.94 ulp in a build with FMA (-march=native on x86-64 since
/// 2013) and 1.22 ulp without. 0 for x < -87.34, where e^x < 1.2e-38 is not a normal float;
/// e^0 = 1 exactly; NaN stays NaN.
void exp_nonpositive(std::span<float> x);

/// The vector width (floats) the kernel was compiled for: 16 with AVX-512, 8 with AVX, else 4.
std::size_t kernel_lanes();

}  // namespace softreg
