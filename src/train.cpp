#include "softreg/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numbers>
#include <optional>
#include <string>

#include "softreg/batch.hpp"
#include "softreg/kernel.hpp"

namespace softreg {

namespace {

std::string loss_text(double loss) {
  if (std::isnan(loss)) return "NaN";
  if (std::isinf(loss)) return loss > 0 ? "infinity" : "-infinity";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", loss);
  return buf;
}

std::string lr_text(float lr) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(lr) / 10.0);
  return buf;
}

}  // namespace

float scheduled_lr(const TrainOptions& o, std::uint64_t t, std::uint64_t steps_per_epoch) {
  using S = TrainOptions::Schedule;
  const double lr = o.sgd.lr;
  const std::uint64_t per_epoch = std::max<std::uint64_t>(steps_per_epoch, 1);
  const std::uint64_t epochs = static_cast<std::uint64_t>(std::max(o.epochs, 1));
  const std::uint64_t epoch = std::min(t / per_epoch, epochs - 1);  // 0-based
  double rate = lr;
  switch (o.schedule) {
    case S::constant:
      break;
    case S::step:
      rate = lr * std::pow(static_cast<double>(o.step_gamma),
                           static_cast<double>(
                               epoch / static_cast<std::uint64_t>(std::max(o.step_every, 1))));
      break;
    case S::cosine: {
      const double total = static_cast<double>(epochs * per_epoch);
      const double progress = std::min(static_cast<double>(t), total - 1) / total;
      rate = lr * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
      break;
    }
    case S::linear:
      rate = lr * static_cast<double>(epochs - epoch) / static_cast<double>(epochs);
      break;
  }
  if (t < o.warmup) rate *= static_cast<double>(t + 1) / static_cast<double>(o.warmup);
  return static_cast<float>(rate);
}

EpochMetrics epoch_metrics(int epoch, const PassStats& seen, const PassStats& test,
                           double seconds) {
  EpochMetrics m;
  m.epoch = epoch;
  m.loss = seen.loss_sum / static_cast<double>(seen.rows);
  m.train_accuracy = static_cast<double>(seen.correct) / static_cast<double>(seen.rows);
  m.test_loss = test.rows ? test.loss_sum / static_cast<double>(test.rows) : 0.0;
  m.test_accuracy =
      test.rows ? static_cast<double>(test.correct) / static_cast<double>(test.rows) : 0.0;
  m.seconds = seconds;
  return m;
}

int best_validation_epoch(const std::vector<EpochMetrics>& history) {
  int best = 0;
  double loss = 0.0;
  for (const EpochMetrics& m : history)
    if (m.validated && (best == 0 || m.validation_loss < loss)) {
      best = m.epoch;
      loss = m.validation_loss;
    }
  return best;
}

namespace {

// Early stopping: keeps the weights of the epoch of the lowest validation loss so far and says
// when `patience` epochs have passed without a lower one.
class BestEpoch {
 public:
  explicit BestEpoch(int patience) : patience_(patience) {}
  // After an epoch validated with `loss`: `current` writes the epoch's weights into a model when
  // they are the best so far. True when training should stop.
  bool stop_after(double loss, const std::function<void(SoftmaxRegression&)>& current,
                  const SoftmaxRegression& shape) {
    if (patience_ == 0) return false;
    if (!weights_ || loss < loss_) {
      if (!weights_) weights_ = shape;
      current(*weights_);
      loss_ = loss;
      since_ = 0;
      return false;
    }
    return ++since_ >= patience_;
  }
  // The kept weights into `model` (nothing without early stopping).
  void restore(SoftmaxRegression& model) {
    if (weights_) model = std::move(*weights_);
  }
  // Into a checkpoint's state, and back from one.
  void save(TrainState& s) const {
    s.best = weights_;
    s.best_loss = loss_;
    s.since_best = since_;
  }
  void load(const TrainState& s) {
    weights_ = s.best;
    loss_ = s.best_loss;
    since_ = s.since_best;
  }

 private:
  int patience_;
  std::optional<SoftmaxRegression> weights_;
  double loss_ = 0.0;
  int since_ = 0;
};

// What every trainer refuses in its options and validation set (the sparse one refuses more).
void check_options(const TrainOptions& o, const std::optional<Examples>& validation,
                   const Examples& train) {
  if (o.average_from > o.epochs)
    throw InputError("--average " + std::to_string(o.average_from) +
                     ": averaging would start after the last epoch (" + std::to_string(o.epochs) +
                     ")");
  if (o.sgd.adagrad && o.sgd.momentum != 0.0f)
    throw InputError("--optimizer adagrad takes no --momentum (AdaGrad has none)");
  if (o.early_stopping != 0 && !validation)
    throw InputError(
        "--early-stopping needs a validation set (--validation-split or --validation)");
  if (!validation) return;
  if (validation->rows == 0) throw InputError(validation->source + ": no validation examples");
  if (validation->inputs() != train.inputs() || validation->sparse() != train.sparse())
    throw InputError(validation->source +
                     ": the validation set's features are not the training "
                     "set's (" +
                     train.source + ")");
}

void set_validation(EpochMetrics& m, const PassStats& v) {
  if (v.rows == 0) return;
  m.validated = true;
  m.validation_loss = v.loss_sum / static_cast<double>(v.rows);
  m.validation_accuracy = static_cast<double>(v.correct) / static_cast<double>(v.rows);
}

// What every trainer checks in a state it resumes from: the run must have epochs left, and the
// state must be of this model.
void check_resume(const TrainState& s, const TrainOptions& o, const SoftmaxRegression& model) {
  if (s.stopped)
    throw InputError("the checkpoint's run stopped early after epoch " + std::to_string(s.epoch) +
                     " (--early-stopping): nothing is left to resume");
  if (s.epoch >= o.epochs)
    throw InputError("--epochs " + std::to_string(o.epochs) + ": the checkpoint has done " +
                     std::to_string(s.epoch) + " epoch" + (s.epoch == 1 ? "" : "s") +
                     " already; ask for more to resume");
  const auto fits = [&](const SoftmaxRegression& m) {
    return m.inputs() == model.inputs() && m.classes() == model.classes() &&
           m.output() == model.output();
  };
  if (!fits(s.sgd.weights) || (s.sgd.average && !fits(*s.sgd.average)) ||
      (s.best && !fits(*s.best)))
    throw InputError("the checkpoint holds a model of another shape");
  if (s.epoch < 1 || s.history.size() != static_cast<std::size_t>(s.epoch))
    throw InputError("the checkpoint's history is not of its " + std::to_string(s.epoch) +
                     " epochs");
  if (s.sgd.average.has_value() != (o.average_from != 0 && s.epoch >= o.average_from))
    throw InputError("the checkpoint's average does not fit --average " +
                     std::to_string(o.average_from));
}

BatchOrder resumed_order(const TrainState& s, std::size_t rows, std::size_t batch_size) {
  if (s.order.size() != rows)
    throw InputError("the checkpoint's order has " + std::to_string(s.order.size()) +
                     " rows but the training set " + std::to_string(rows));
  try {
    return BatchOrder(s.order, batch_size);
  } catch (const std::invalid_argument&) {
    throw InputError("the checkpoint's order is not a permutation of the training rows");
  }
}

}  // namespace

DivergenceError::DivergenceError(int epoch_, std::size_t batch, std::size_t batches, double loss,
                                 float lr)
    : Error("training diverged: the loss became " + loss_text(loss) + " in epoch " +
            std::to_string(epoch_) + " (batch " + std::to_string(batch) + " of " +
            std::to_string(batches) + "); try a smaller learning rate, e.g. --lr " + lr_text(lr)),
      epoch(epoch_) {}

Interrupted::Interrupted(int epoch_, std::size_t batch, std::size_t batches)
    : Error("interrupted in epoch " + std::to_string(epoch_) + " (batch " + std::to_string(batch) +
            " of " + std::to_string(batches) + "): nothing was saved"),
      epoch(epoch_) {}

Interrupted::Interrupted(int epoch_)
    : Error("interrupted after epoch " + std::to_string(epoch_) + ": nothing was saved"),
      epoch(epoch_) {}

Examples Examples::of(const Dataset& data) {
  return {Features::of(data), data.labels, data.rows, data.source};
}

std::vector<EpochMetrics> Trainer::fit(SoftmaxRegression& model, const Examples& train,
                                       const Examples& test, Rng& rng,
                                       const TrainCallbacks& callbacks) const {
  using Clock = std::chrono::steady_clock;
  if (train.inputs() != model.inputs() || test.inputs() != model.inputs())
    throw InputError(train.source + ": examples have " + std::to_string(train.inputs()) +
                     " inputs but the model expects " + std::to_string(model.inputs()));
  if (train.rows == 0) throw InputError(train.source + ": no training examples");
  if ((train.subset.empty() ? train.labels.size() != train.rows
                            : train.subset.size() != train.rows) ||
      test.labels.size() != test.rows || !test.subset.empty() ||
      (validation_ && !validation_->subset.empty()))
    throw std::invalid_argument("Trainer::fit: labels are not one a row, or a subset to evaluate");
  if (resume_ && !train.subset.empty())
    throw InputError("a run on a subset of the rows does not resume from a checkpoint");
  check_options(options_, validation_, train);
  if (train.sparse() != test.sparse() && test.rows != 0)
    throw InputError((train.sparse() ? test : train).source +
                     ": sparse and dense data do not mix: train and test must both be sparse");
  if (train.sparse())
    // The whole training set is one buffer.
    return sparse_epochs(
        model, test, rng, callbacks, train.rows,
        [&](const std::function<void(const Examples&)>& on_buffer) { on_buffer(train); });
  // A batch larger than the data set is the whole data set (and must not allocate more).
  const std::size_t batch_size = std::min(options_.batch_size, train.rows);
  if (resume_) {
    check_resume(*resume_, options_, model);
    std::copy_n(resume_->sgd.weights.weight().begin(), model.weight().size(),
                model.weight().begin());
    std::copy_n(resume_->sgd.weights.bias().begin(), model.bias().size(), model.bias().begin());
  }
  ThreadPool pool(options_.threads);
  SoftmaxKernel kernel(model.inputs(), model.outputs(), batch_size);
  Gradients grad;
  Sgd sgd(options_.sgd);
  const std::size_t w_slot = sgd.add(model.weight());
  const std::size_t b_slot = sgd.add(model.bias(), /*decay=*/false);  // b is not penalised
  // W's SGD step runs inside the kernel's step, block by block on the threads that summed dW.
  const SoftmaxKernel::WeightBlockFn update_weight = [&](std::size_t begin, std::size_t end) {
    sgd.step(w_slot, grad.weight, begin, end);
  };
  BestEpoch best(options_.early_stopping);
  BatchOrder order = resume_                ? resumed_order(*resume_, train.rows, batch_size)
                     : train.subset.empty() ? BatchOrder(train.rows, batch_size)
                                            : BatchOrder::over(train.subset, batch_size);
  // Polyak-Ruppert averaging (--average E): the mean of the weights after every step from the
  // start of epoch E on, kept as the sparse trainer keeps it, avg = (t avg + w) / (t + 1) in
  // double, and evaluated and returned instead of the last weights.
  std::optional<SoftmaxRegression> average;
  std::uint64_t averaged = 0;
  const auto add_to_average = [&] {
    const double t = static_cast<double>(averaged++);
    auto mean_in = [t](std::span<float> avg, std::span<const float> now) {
      for (std::size_t i = 0; i < avg.size(); ++i)
        avg[i] = static_cast<float>((t * avg[i] + now[i]) / (t + 1));
    };
    mean_in(average->weight(), model.weight());
    mean_in(average->bias(), model.bias());
  };

  std::vector<EpochMetrics> history;
  int first = 1;
  bool shuffled = false;  // whether `order` is already the first epoch's
  if (resume_) {
    const TrainState& r = *resume_;
    if (r.step != static_cast<std::uint64_t>(r.epoch) * order.batches())
      throw InputError("the checkpoint's steps are not its epochs' (another --batch-size?)");
    try {
      sgd.set_state(w_slot, r.sgd.slow_weight);
      sgd.set_state(b_slot, r.sgd.slow_bias);
    } catch (const std::invalid_argument&) {
      throw InputError("the checkpoint's optimizer state is not --optimizer's / --momentum's");
    }
    rng = Rng::from_state(r.rng);
    average = r.sgd.average;
    averaged = r.sgd.averaged;
    best.load(r);
    history = r.history;
    first = r.epoch + 1;
    shuffled = r.order_shuffled;
  }
  for (int epoch = first; epoch <= options_.epochs; ++epoch) {
    const auto start = Clock::now();
    // Later epochs' orders are shuffled during the evaluation before them.
    if (epoch == first && !shuffled) order.shuffle(rng);
    if (epoch == options_.average_from) average = model;
    PassStats seen;
    const std::size_t batches = order.batches();
    for (std::size_t b = 0; b < batches; ++b) {
      sgd.set_lr(scheduled_lr(options_, (epoch - 1) * std::uint64_t{batches} + b, batches));
      const PassStats s =
          kernel.step(model, train.x, train.labels, order.batch(b), grad, pool, update_weight);
      if (!std::isfinite(s.loss_sum))
        throw DivergenceError(epoch, b + 1, batches, s.loss_sum, options_.sgd.lr);
      sgd.step(b_slot, grad.bias);
      if (average) add_to_average();
      seen.loss_sum += s.loss_sum;
      seen.correct += s.correct;
      seen.rows += s.rows;
      if (callbacks.on_batch) callbacks.on_batch(epoch, b + 1, batches);
      if (callbacks.stop_requested && callbacks.stop_requested())
        throw Interrupted(epoch, b + 1, batches);
    }
    // The next epoch's shuffle (serial) runs on one thread while the others evaluate: the same
    // draws of rng in the same order as shuffling at the start of the next epoch.
    const std::function<void()> shuffle_next = [&] { order.shuffle(rng); };
    const PassStats t =
        evaluate(average ? *average : model, test.x, test.labels, test.rows, pool, {},
                 epoch < options_.epochs ? shuffle_next : std::function<void()>{});
    // The last step of the epoch has not been checked by a later batch's loss yet.
    if (t.rows != 0 && !std::isfinite(t.loss_sum))
      throw DivergenceError(epoch, batches, batches, t.loss_sum, options_.sgd.lr);
    const SoftmaxRegression& now = average ? *average : model;
    const PassStats v =
        validation_ ? evaluate(now, validation_->x, validation_->labels, validation_->rows, pool)
                    : PassStats{};
    EpochMetrics m =
        epoch_metrics(epoch, seen, t, std::chrono::duration<double>(Clock::now() - start).count());
    m.lr = sgd.options().lr;
    set_validation(m, v);
    history.push_back(m);
    if (callbacks.on_epoch) callbacks.on_epoch(m);
    const bool stop =
        m.validated && best.stop_after(
                           m.validation_loss, [&](SoftmaxRegression& w) { w = now; }, model);
    if (callbacks.on_checkpoint) {
      TrainState state;
      state.epoch = epoch;
      state.step = static_cast<std::uint64_t>(epoch) * batches;
      state.rng = rng.state();
      state.order.assign(order.order().begin(), order.order().end());
      state.order_shuffled = epoch < options_.epochs;
      state.sgd.weights = model;
      const auto slow_w = sgd.state(w_slot), slow_b = sgd.state(b_slot);
      state.sgd.slow_weight.assign(slow_w.begin(), slow_w.end());
      state.sgd.slow_bias.assign(slow_b.begin(), slow_b.end());
      state.sgd.average = average;
      state.sgd.averaged = averaged;
      best.save(state);
      state.stopped = stop;
      state.history = history;
      callbacks.on_checkpoint(state);
    }
    if (callbacks.stop_requested && callbacks.stop_requested()) throw Interrupted(epoch);
    if (stop) break;
  }
  if (average) model = std::move(*average);
  best.restore(model);
  return history;
}

std::vector<EpochMetrics> Trainer::fit_stream(SoftmaxRegression& model, SparseStream& stream,
                                              const Dataset& test, std::size_t buffer_rows,
                                              Rng& rng, const TrainCallbacks& callbacks) const {
  if (buffer_rows == 0) throw std::invalid_argument("fit_stream: a buffer of no rows");
  const std::uint64_t no_rows = 0;  // what the stream's rows are, for the validation set's check
  Examples shape;
  shape.x.inputs = stream.inputs();
  shape.x.offsets = &no_rows;
  shape.source = stream.name();
  check_options(options_, validation_, shape);
  // Each epoch reads the file from the start; blocks of lines fill a buffer of at least
  // buffer_rows rows (at most one block more), which is shuffled and trained on, then emptied.
  return sparse_epochs(model, Examples::of(test), rng, callbacks, stream.rows(),
                       [&](const std::function<void(const Examples&)>& on_buffer) {
                         stream.rewind();
                         Dataset buffer, block;
                         const auto clear = [&] {
                           buffer = Dataset{};
                           buffer.inputs = stream.inputs();
                           buffer.sparse.offsets = {0};
                         };
                         clear();
                         while (stream.next(block)) {
                           if (buffer.rows == 0)
                             buffer = std::move(block);  // no copy of a block that starts a buffer
                           else
                             for (std::size_t i = 0; i < block.rows; ++i)
                               buffer.append_row(block, i);
                           block = Dataset{};
                           if (buffer.rows >= buffer_rows) {
                             on_buffer(Examples::of(buffer));
                             clear();
                           }
                         }
                         if (buffer.rows != 0) on_buffer(Examples::of(buffer));
                       });
}

std::vector<EpochMetrics> Trainer::sparse_epochs(
    SoftmaxRegression& model, const Examples& test, Rng& rng, const TrainCallbacks& callbacks,
    std::size_t rows,
    const std::function<void(const std::function<void(const Examples&)>&)>& buffers) const {
  using Clock = std::chrono::steady_clock;
  if (options_.average_from != 0 && options_.sgd.momentum != 0.0f)
    throw InputError(
        "--average and --momentum do not go together on sparse data (its averaging is lazy, "
        "without momentum)");
  if (options_.sgd.adagrad && (options_.sgd.momentum != 0.0f || options_.sgd.weight_decay != 0.0f))
    throw InputError(
        "--optimizer adagrad on sparse data takes no --momentum and no penalty (--l2, --C, "
        "--weight-decay): AdaGrad's decay could not be applied lazily, only to every weight at "
        "every step");
  if (resume_) check_resume(*resume_, options_, model);
  ThreadPool pool(options_.threads);
  SparseSgd sgd(model, options_.sgd, &pool);
  BestEpoch best(options_.early_stopping);
  const std::size_t batches = (rows + options_.batch_size - 1) / options_.batch_size;
  std::optional<BatchOrder> order;
  std::vector<EpochMetrics> history;
  std::uint64_t step = 0;  // over the run, for the schedule
  int first = 1;
  if (resume_) {
    const TrainState& r = *resume_;
    try {
      sgd.restore(r.sgd);
    } catch (const std::invalid_argument&) {
      throw InputError(
          "the checkpoint's optimizer state is not --optimizer's / --momentum's / --average's");
    }
    // The order of the last buffer (the whole set in memory); the next buffer of as many rows
    // shuffles it again.
    if (r.order.size() > rows)
      throw InputError("the checkpoint's order has more rows than the training set");
    if (!r.order.empty())
      order.emplace(
          resumed_order(r, r.order.size(), std::min(options_.batch_size, r.order.size())));
    step = r.step;
    rng = Rng::from_state(r.rng);
    best.load(r);
    history = r.history;
    first = r.epoch + 1;
  }
  for (int epoch = first; epoch <= options_.epochs; ++epoch) {
    const auto start = Clock::now();
    if (epoch == options_.average_from) sgd.start_averaging();
    PassStats seen;
    std::size_t b = 0;
    buffers([&](const Examples& train) {
      // A batch larger than the buffer is the whole buffer. The order of a buffer of as many
      // rows as the last is that order shuffled again (as the dense trainer does epoch after
      // epoch), so the in-memory run and a stream whose buffer holds the file are the same run.
      if (!order || order->rows() != train.rows)
        order.emplace(
            train.subset.empty()
                ? BatchOrder(train.rows, std::min(options_.batch_size, train.rows))
                : BatchOrder::over(train.subset, std::min(options_.batch_size, train.rows)));
      order->shuffle(rng);
      for (std::size_t j = 0; j < order->batches(); ++j) {
        sgd.set_lr(scheduled_lr(options_, step++, batches));
        ++b;
        const PassStats s = sgd.step(train.x, train.labels, order->batch(j));
        if (!std::isfinite(s.loss_sum)) {
          sgd.write_to(model);  // the weights from before this batch
          throw DivergenceError(epoch, b, batches, s.loss_sum, options_.sgd.lr);
        }
        seen.loss_sum += s.loss_sum;
        seen.correct += s.correct;
        seen.rows += s.rows;
        if (callbacks.on_batch) callbacks.on_batch(epoch, std::min(b, batches), batches);
        if (callbacks.stop_requested && callbacks.stop_requested()) {
          sgd.write_to(model);
          throw Interrupted(epoch, b, batches);
        }
      }
    });
    sgd.flush();
    const PassStats t =
        test.rows == 0 ? PassStats{}
                       : evaluate_feature_major(sgd.wt(), sgd.stride(), sgd.bias(), sgd.output(),
                                                test.x, test.labels, test.rows, pool);
    if (t.rows != 0 && !std::isfinite(t.loss_sum)) {
      sgd.write_to(model);
      throw DivergenceError(epoch, batches, batches, t.loss_sum, options_.sgd.lr);
    }
    const PassStats v =
        validation_
            ? evaluate_feature_major(sgd.wt(), sgd.stride(), sgd.bias(), sgd.output(),
                                     validation_->x, validation_->labels, validation_->rows, pool)
            : PassStats{};
    EpochMetrics m =
        epoch_metrics(epoch, seen, t, std::chrono::duration<double>(Clock::now() - start).count());
    m.lr = sgd.lr();
    set_validation(m, v);
    history.push_back(m);
    if (callbacks.on_epoch) callbacks.on_epoch(m);
    const bool stop = m.validated &&
                      best.stop_after(
                          m.validation_loss, [&](SoftmaxRegression& w) { sgd.write_to(w); }, model);
    if (callbacks.on_checkpoint) {
      TrainState state;
      state.epoch = epoch;
      state.step = step;
      state.rng = rng.state();
      if (order) state.order.assign(order->order().begin(), order->order().end());
      state.sgd = sgd.state();
      best.save(state);
      state.stopped = stop;
      state.history = history;
      callbacks.on_checkpoint(state);
    }
    if (callbacks.stop_requested && callbacks.stop_requested()) {
      sgd.write_to(model);
      throw Interrupted(epoch);
    }
    if (stop) break;
  }
  sgd.write_to(model);
  best.restore(model);
  return history;
}

}  // namespace softreg
