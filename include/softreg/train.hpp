// The lesson's training loop: every epoch, reshuffle, walk the minibatches, take a gradient step
// on each; report the mean training loss, the training accuracy and the test accuracy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/kernel.hpp"
#include "softreg/model.hpp"
#include "softreg/optim.hpp"
#include "softreg/random.hpp"

namespace softreg {

struct TrainOptions {
  int epochs = 10;
  std::size_t batch_size = 256;
  SgdOptions sgd;
  /// The learning rate of each step (scheduled_lr; docs/cli.md, "Learning-rate schedules"):
  /// constant (sgd.lr throughout); step (times step_gamma every step_every epochs); cosine (from
  /// sgd.lr down to 0 over the run, step by step); linear, which falls by equal steps from sgd.lr
  /// in the first epoch to sgd.lr / epochs in the last (epoch e of E has lr (E − e + 1) / E).
  enum class Schedule { constant, step, cosine, linear } schedule = Schedule::constant;
  int step_every = 1;       // step: epochs between two decays
  float step_gamma = 0.1f;  // step: the factor of each decay
  /// The first `warmup` steps (batches, not epochs) scale the schedule's rate by (t + 1) / warmup
  /// at step t (0-based): from 1/warmup of it up to all of it.
  std::uint64_t warmup = 0;
  /// When not 0: the model is the average of the weights after every step from the start of this
  /// epoch on (Polyak-Ruppert averaging; on sparse data lazily, without momentum); each epoch
  /// evaluates the average.
  int average_from = 0;
  /// When not 0 (needs a validation set, Trainer::validate_on): stop when the validation loss
  /// has not improved for this many epochs, and end with the weights of the epoch of the lowest
  /// validation loss (the first such epoch).
  int early_stopping = 0;
  unsigned threads = 0;  // 0: one per hardware thread
  /// Across processes (issue 22; null or one process: the plain run): every process passes its
  /// part of the training rows (the parts of the whole set in rank order) and of the test set,
  /// and every process ends with the same model. Dense rows: synchronous minibatches over the
  /// whole set, bit for bit the plain run's for every number of processes (so its checkpoints
  /// resume on any number). Sparse rows: local epochs, then the processes' weights averaged
  /// (docs/objective.md, "SGD across processes"): the same for a fixed number of processes, whose
  /// checkpoints continue exactly on that number. Not with a validation set or a subset.
  const Comm* comm = nullptr;
};

struct EpochMetrics {
  int epoch = 0;                // 1-based
  double loss = 0.0;            // mean cross-entropy over the epoch's training batches
  double train_accuracy = 0.0;  // from the same forward passes as the loss
  double test_accuracy = 0.0;   // after the epoch
  double test_loss = 0.0;
  double seconds = 0.0;    // wall time of the epoch, test evaluation included
  double lr = 0.0;         // SGD: the learning rate of the epoch's last step
  bool validated = false;  // with a validation set: its loss and accuracy after the epoch
  double validation_loss = 0.0;
  double validation_accuracy = 0.0;
};

/// Every process's figures of a pass over its part (evaluate()) added up: rows, correct rows and
/// the exact sum of the loss (PassStats::loss_exact), so that the figure is the one pass over
/// the whole set would give, for every number of processes. comm null: `mine`.
PassStats sum_across(const Comm* comm, const PassStats& mine);

/// The epoch of `history` whose weights early stopping keeps: the first of the lowest
/// validation loss (0 when no epoch was validated).
int best_validation_epoch(const std::vector<EpochMetrics>& history);

/// The learning rate of step t (0-based, counted over the whole run) under the options' schedule
/// and warm-up, with `steps_per_epoch` steps an epoch (the run: epochs x steps_per_epoch steps).
float scheduled_lr(const TrainOptions& options, std::uint64_t t, std::uint64_t steps_per_epoch);

/// An epoch's figures from its training batches (`seen`) and the test pass after it.
EpochMetrics epoch_metrics(int epoch, const PassStats& seen, const PassStats& test, double seconds);

/// Everything a run needs to go on after an epoch exactly as it would have gone on unstopped: what
/// a checkpoint holds (docs/formats.md, "Checkpoints"; io.hpp writes and reads it).
struct TrainState {
  int epoch = 0;                     // epochs done
  std::uint64_t step = 0;            // steps done over the run (the schedule's t)
  Rng::State rng{};                  // the run's generator after the epoch
  std::vector<std::uint32_t> order;  // the last order of the rows (of the last buffer streamed)
  bool order_shuffled = false;  // order is already the next epoch's (the dense trainer shuffles
                                // it while evaluating, except after the run's last epoch)
  SgdState sgd;                 // weights, the optimizer's state, the average
  // Early stopping: the weights of the epoch of the lowest validation loss so far, that loss, the
  // epochs since, and whether it has stopped the run.
  std::optional<SoftmaxRegression> best;
  double best_loss = 0.0;
  int since_best = 0;
  bool stopped = false;
  std::vector<EpochMetrics> history;  // the epochs so far
};

struct TrainCallbacks {
  std::function<void(const EpochMetrics&)> on_epoch;
  /// After each batch: epoch (1-based), batches done, batches in the epoch.
  std::function<void(int, std::size_t, std::size_t)> on_batch;
  /// Asked after each batch; true stops training there with Interrupted (e.g. on Ctrl-C).
  std::function<bool()> stop_requested;
  /// After each epoch (after on_epoch and early stopping's decision): the state to go on from
  /// (--checkpoint writes it). Not called when the callback is empty: the state costs a copy.
  std::function<void(const TrainState&)> on_checkpoint;
};

/// Thrown when TrainCallbacks::stop_requested said stop: the model holds the weights after the
/// last batch, and a caller that honours the interruption saves nothing.
class Interrupted : public Error {
 public:
  Interrupted(int epoch, std::size_t batch, std::size_t batches);
  /// At the end of `epoch`, after its evaluation.
  explicit Interrupted(int epoch);
  /// With a message of the caller's (e.g. the full-batch solvers': after which iteration).
  Interrupted(const std::string& message, int epoch_) : Error(message), epoch(epoch_) {}
  int epoch;
};

/// Thrown when the loss stops being finite: nothing after that point is kept.
class DivergenceError : public Error {
 public:
  DivergenceError(int epoch, std::size_t batch, std::size_t batches, double loss, float lr);
  int epoch;
};

/// Labelled rows as the trainers read them: a view of a Dataset's memory or of the caller's
/// (classifier.hpp's FeatureView), which must outlive the training.
struct Examples {
  Features x;
  std::span<const std::int32_t> labels;  // the class index of each of x's rows
  std::size_t rows = 0;                  // the examples: x's rows, or subset's
  std::string source;                    // names the rows in errors
  /// When not empty: the examples are these rows of x (each once, rows = subset.size()), read
  /// in place, e.g. the training part of a validation split. Training only (not for test or
  /// validation sets, not with resume_from).
  std::span<const std::uint32_t> subset;
  std::size_t inputs() const { return x.inputs; }
  bool sparse() const { return x.sparse(); }
  static Examples of(const Dataset& data);
};

class Trainer {
 public:
  explicit Trainer(TrainOptions options) : options_(options) {}

  /// Evaluates every epoch on `validation` too (rows held out of the training set: they choose
  /// the epoch that early stopping keeps; the test set chooses nothing). Its rows must outlive
  /// fit().
  Trainer& validate_on(const Examples& validation) {
    validation_ = validation;
    return *this;
  }
  Trainer& validate_on(const Dataset& validation) { return validate_on(Examples::of(validation)); }

  /// Goes on from `state` (a checkpoint's) instead of starting: fit() and fit_stream() then
  /// begin at epoch state.epoch + 1 with its weights, optimizer state, order and generator (the
  /// model and rng passed in are overwritten), and return the whole history. It must outlive
  /// fit(); the options must be the saved run's, except epochs and threads. InputError when the
  /// state does not fit the model or the data, or when nothing is left to do.
  Trainer& resume_from(const TrainState& state) {
    resume_ = &state;
    return *this;
  }

  /// Trains `model` (already initialised) on `train`, evaluating on `test` after each epoch.
  /// `rng` decides the order of the examples in every epoch. Throws DivergenceError when the
  /// loss of a batch is not finite; the model then holds the weights from before that batch.
  /// Sparse data (both sets) trains by SparseSgd, each step O(nnz K).
  /// A test set of no rows evaluates nothing.
  std::vector<EpochMetrics> fit(SoftmaxRegression& model, const Examples& train,
                                const Examples& test, Rng& rng,
                                const TrainCallbacks& callbacks = {}) const;
  std::vector<EpochMetrics> fit(SoftmaxRegression& model, const Dataset& train, const Dataset& test,
                                Rng& rng, const TrainCallbacks& callbacks = {}) const {
    return fit(model, Examples::of(train), Examples::of(test), rng, callbacks);
  }

  /// SGD streaming a file or cache that need not fit in memory (--stream): every epoch reads it
  /// from the start in blocks that fill a buffer of at least `buffer_rows` rows (at most one block
  /// more); each buffer is shuffled with `rng` and trained on in batches, then emptied. When the
  /// buffer covers the whole file, the run is fit()'s on the file in memory, bit for bit.
  std::vector<EpochMetrics> fit_stream(SoftmaxRegression& model, SparseStream& stream,
                                       const Dataset& test, std::size_t buffer_rows, Rng& rng,
                                       const TrainCallbacks& callbacks = {}) const;

 private:
  // The epochs of sparse SGD over the training rows that `buffers` hands over, buffer by buffer,
  // each epoch (`rows` in all).
  std::vector<EpochMetrics> sparse_epochs(
      SoftmaxRegression& model, const Examples& test, Rng& rng, const TrainCallbacks& callbacks,
      std::size_t rows,
      const std::function<void(const std::function<void(const Examples&)>&)>& buffers) const;
  TrainOptions options_;
  std::optional<Examples> validation_;
  const TrainState* resume_ = nullptr;
};

}  // namespace softreg
