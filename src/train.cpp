#include "softreg/train.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
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

PassStats sum_across(const Comm* comm, const PassStats& mine) {
  if (comm == nullptr) return mine;
  constexpr std::size_t kBytes = 16 + ExactSum::kBytes;
  std::array<std::uint8_t, kBytes> b{};
  const std::uint64_t counts[2] = {mine.correct, mine.rows};
  std::memcpy(b.data(), counts, 16);
  const auto loss = mine.loss_exact.bytes();
  std::memcpy(b.data() + 16, loss.data(), loss.size());
  const std::vector<std::size_t> sizes(static_cast<std::size_t>(comm->size()), kBytes);
  std::vector<std::uint8_t> all(kBytes * sizes.size());
  comm->allgather_bytes(b, sizes, all);
  PassStats s;
  for (std::size_t p = 0; p < sizes.size(); ++p) {
    const std::uint8_t* const q = all.data() + p * kBytes;
    std::uint64_t c[2];
    std::memcpy(c, q, 16);
    s.correct += c[0];
    s.rows += c[1];
    s.loss_exact.add(ExactSum::of_bytes(std::span<const std::uint8_t>(q + 16, ExactSum::kBytes)));
  }
  s.loss_sum = s.loss_exact.value();
  return s;
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
    throw InputError(param("average") + " " + std::to_string(o.average_from) +
                     ": averaging would start after the last epoch (" + std::to_string(o.epochs) +
                     ")");
  if (o.sgd.adagrad && o.sgd.momentum != 0.0f)
    throw InputError(param("optimizer") + " adagrad takes no " + param("momentum") +
                     " (AdaGrad has none)");
  if (o.early_stopping != 0 && !validation)
    throw InputError(param("early_stopping") + " needs a validation set (" +
                     param("validation_split") + " or " + param("validation") + ")");
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
                     " (" + param("early_stopping") + "): nothing is left to resume");
  if (s.epoch >= o.epochs)
    throw InputError(param("epochs") + " " + std::to_string(o.epochs) +
                     ": the checkpoint has done " + std::to_string(s.epoch) + " epoch" +
                     (s.epoch == 1 ? "" : "s") + " already; ask for more to resume");
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
    throw InputError("the checkpoint's average does not fit " + param("average") + " " +
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

// The sum of every process's figures, in rank order (the loss as doubles: what SGD on sparse
// rows saw, whose figures depend on the number of processes anyway).
PassStats sum_over(const Comm* comm, const PassStats& mine) {
  if (comm == nullptr) return mine;
  const double v[3] = {mine.loss_sum, static_cast<double>(mine.correct),
                       static_cast<double>(mine.rows)};
  const std::vector<std::size_t> counts(static_cast<std::size_t>(comm->size()), 3);
  std::vector<double> all(3 * counts.size());
  comm->allgather(v, counts, all);
  PassStats s;
  for (std::size_t p = 0; p < counts.size(); ++p) {
    s.loss_sum += all[3 * p];
    s.correct += static_cast<std::size_t>(all[3 * p + 1]);
    s.rows += static_cast<std::size_t>(all[3 * p + 2]);
  }
  return s;
}

// Dense SGD across processes: every process walks the same order of all the rows (the same
// generator), and each step is the plain kernel's step cut at its chunks. Chunk c of a batch of
// C chunks belongs to process ⌊c P / C⌋; its rows, wherever they are held, are sent to it (one
// all-gather of the batch's rows), it computes the chunk's partial gradient by the kernel's own
// arithmetic, and every process gets every chunk's partial (a second all-gather) and adds them
// in chunk order, as the kernel does. So every process has the plain step's gradient bit for
// bit, and updates its copy of the weights as the plain run does.
class StepAcross {
 public:
  StepAcross(const Comm& comm, const Examples& train, SoftmaxKernel& kernel)
      : comm_(comm), train_(train), kernel_(kernel) {
    const std::vector<double> rows = allgather_values(comm, static_cast<double>(train.rows));
    starts_.push_back(0);
    for (const double r : rows) starts_.push_back(starts_.back() + static_cast<std::size_t>(r));
    // How the rows are stored (bytes or floats) and their scale, from the first process that
    // holds rows: a process whose part is empty may not know (an empty IDX part has no bytes).
    const double kind[2] = {train.rows == 0            ? 0.0
                            : train.x.bytes != nullptr ? 1.0
                                                       : 4.0,
                            static_cast<double>(train.x.scale)};
    const std::vector<std::size_t> twos(rows.size(), 2);
    std::vector<double> kinds(2 * rows.size());
    comm.allgather(kind, twos, kinds);
    for (std::size_t p = 0; p < rows.size(); ++p)
      if (kinds[2 * p] != 0.0) {
        value_bytes_ = static_cast<std::size_t>(kinds[2 * p]);
        scale_ = static_cast<float>(kinds[2 * p + 1]);
        break;
      }
    row_bytes_ = train.inputs() * value_bytes_ + sizeof(std::int32_t);
  }

  // The rows of every process.
  std::size_t rows() const { return starts_.back(); }

  // The step on the batch `rows` (indices into all the rows); `stop` says whether this process
  // was asked to stop, `stop_any` whether any was (after this step, as the plain run checks).
  PassStats step(const SoftmaxRegression& model, std::span<const std::uint32_t> rows,
                 Gradients& grad, ThreadPool& pool, const SoftmaxKernel::WeightBlockFn& update,
                 bool stop, bool& stop_any) {
    const std::size_t n = rows.size(), procs = starts_.size() - 1;
    const std::size_t me = static_cast<std::size_t>(comm_.rank());
    const std::size_t per_chunk = SoftmaxKernel::rows_per_chunk();
    const std::size_t chunks = (n + per_chunk - 1) / per_chunk;
    const auto first_chunk = [&](std::size_t p) { return p * chunks / procs; };
    const auto first_pos = [&](std::size_t p) { return std::min(n, first_chunk(p) * per_chunk); };
    const auto holder = [&](std::uint32_t g) {
      return static_cast<std::size_t>(std::upper_bound(starts_.begin(), starts_.end(), g) -
                                      starts_.begin() - 1);
    };

    // 1. The batch's rows (features, then label), each from the process that holds it.
    std::vector<std::size_t> counts(procs, 0);
    for (const std::uint32_t g : rows) counts[holder(g)] += row_bytes_;
    mine_.resize(counts[me]);
    const std::size_t d_bytes = train_.inputs() * value_bytes_;
    const auto* base = train_.x.bytes != nullptr
                           ? train_.x.bytes
                           : reinterpret_cast<const std::uint8_t*>(train_.x.floats);
    std::size_t at = 0;
    for (const std::uint32_t g : rows)
      if (holder(g) == me) {
        const std::size_t i = g - starts_[me];
        std::memcpy(mine_.data() + at, base + i * d_bytes, d_bytes);
        std::memcpy(mine_.data() + at + d_bytes, &train_.labels[i], sizeof(std::int32_t));
        at += row_bytes_;
      }
    all_.resize(n * row_bytes_);
    comm_.allgather_bytes(mine_, counts, all_);

    // 2. This process's chunks: their rows in batch order, and their partial gradients.
    const std::size_t p0 = first_pos(me), p1 = first_pos(me + 1), m = p1 - p0;
    std::vector<std::size_t> next(procs, 0);  // where each process's next row is in all_
    for (std::size_t p = 1; p < procs; ++p) next[p] = next[p - 1] + counts[p - 1];
    x_.resize(m * d_bytes);
    labels_.resize(m);
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t& from = next[holder(rows[i])];
      if (i >= p0 && i < p1) {
        std::memcpy(x_.data() + (i - p0) * d_bytes, all_.data() + from, d_bytes);
        std::memcpy(&labels_[i - p0], all_.data() + from + d_bytes, sizeof(std::int32_t));
      }
      from += row_bytes_;
    }
    if (identity_.size() < m) {
      identity_.resize(m);
      for (std::size_t i = 0; i < m; ++i) identity_[i] = static_cast<std::uint32_t>(i);
    }
    Features x = train_.x;
    x.bytes = value_bytes_ == 1 ? x_.data() : nullptr;
    x.floats = value_bytes_ == 1 ? nullptr : reinterpret_cast<const float*>(x_.data());
    x.scale = scale_;
    const std::size_t floats = kernel_.chunk_floats();
    const std::size_t own = first_chunk(me + 1) - first_chunk(me);
    // Sent as floats: every chunk's dW and db, then per chunk its loss and correct rows (as
    // doubles, 4 floats' bytes each), then this process's stop flag.
    constexpr std::size_t kStatFloats = 4, kFlagFloats = 2;
    out_.assign(own * (floats + kStatFloats) + kFlagFloats, 0.0f);
    stats_.assign(own, PassStats{});
    kernel_.chunk_gradients(model, x, labels_, std::span(identity_).first(m), n, pool,
                            std::span(out_).first(own * floats), stats_);
    for (std::size_t c = 0; c < own; ++c) {
      const double s[2] = {stats_[c].loss_sum, static_cast<double>(stats_[c].correct)};
      std::memcpy(out_.data() + own * floats + c * kStatFloats, s, sizeof s);
    }
    const double flag = stop ? 1.0 : 0.0;
    std::memcpy(out_.data() + own * (floats + kStatFloats), &flag, sizeof flag);

    // 3. Every chunk's partial, folded in chunk order as the kernel folds them.
    std::vector<std::size_t> sizes(procs);
    std::size_t total = 0;
    for (std::size_t p = 0; p < procs; ++p)
      total += sizes[p] =
          ((first_chunk(p + 1) - first_chunk(p)) * (floats + kStatFloats) + kFlagFloats) *
          sizeof(float);
    gathered_.resize(total / sizeof(float));
    comm_.allgather_bytes(
        std::span(reinterpret_cast<const std::uint8_t*>(out_.data()), out_.size() * sizeof(float)),
        sizes, std::span(reinterpret_cast<std::uint8_t*>(gathered_.data()), total));
    const std::size_t k_all = model.outputs(), dw = k_all * model.inputs();
    grad.weight.resize(dw);
    grad.bias.assign(k_all, 0.0f);
    PassStats stats;
    stats.rows = n;
    stop_any = false;
    std::size_t from = 0;  // process p's first float in gathered_
    for (std::size_t p = 0; p < procs; ++p) {
      const std::size_t c0 = first_chunk(p), c1 = first_chunk(p + 1);
      for (std::size_t c = c0; c < c1; ++c) {
        const float* part = gathered_.data() + from + (c - c0) * floats;
        if (c == 0)
          std::copy(part, part + dw, grad.weight.begin());
        else
          for (std::size_t i = 0; i < dw; ++i) grad.weight[i] += part[i];
        for (std::size_t k = 0; k < k_all; ++k) grad.bias[k] += part[dw + k];
        double s[2];
        std::memcpy(s, gathered_.data() + from + (c1 - c0) * floats + (c - c0) * kStatFloats,
                    sizeof s);
        stats.loss_sum += s[0];
        stats.correct += static_cast<std::size_t>(s[1]);
      }
      double f;
      std::memcpy(&f, gathered_.data() + from + (c1 - c0) * (floats + kStatFloats), sizeof f);
      stop_any = stop_any || f != 0.0;
      from += sizes[p] / sizeof(float);
    }
    // As in the kernel: a batch whose loss is not finite leaves W alone.
    if (update && std::isfinite(stats.loss_sum)) update(0, dw);
    return stats;
  }

 private:
  const Comm& comm_;
  const Examples& train_;
  SoftmaxKernel& kernel_;
  std::vector<std::size_t> starts_;  // process p holds rows [starts_[p], starts_[p + 1])
  std::size_t value_bytes_ = 1, row_bytes_ = 0;
  float scale_ = 1.0f;
  std::vector<std::uint8_t> mine_, all_, x_;
  std::vector<std::int32_t> labels_;
  std::vector<std::uint32_t> identity_;
  std::vector<float> out_, gathered_;
  std::vector<PassStats> stats_;
};

// Sparse SGD across processes, after each process's epoch on its part (`rows` rows): when any
// diverged or was asked to stop, every process throws it (the lowest rank's); else every
// process's weights, optimizer state and running average are replaced by their mean over the
// processes, weighted by their rows, summed in double in rank order (so the same on every
// process, and the same run to run).
void merge_across(const Comm& comm, SparseSgd& sgd, std::size_t rows, int epoch,
                  std::size_t batches,
                  const std::optional<std::pair<std::size_t, double>>& diverged,
                  std::size_t stopped_at, SoftmaxRegression& model) {
  const std::size_t procs = static_cast<std::size_t>(comm.size());
  // Every float of the state, in the trainer's layout (the same on every process: the same
  // shape and options), sent as the floats they are and averaged in double, in place.
  const std::vector<std::span<float>> parts = sgd.state_in_place();  // (flushed)
  constexpr std::size_t kFigures = 6;
  const double mine[kFigures] = {diverged ? 1.0 : 0.0,
                                 diverged ? static_cast<double>(diverged->first) : 0,
                                 diverged ? diverged->second : 0.0,
                                 static_cast<double>(stopped_at),
                                 static_cast<double>(rows),
                                 static_cast<double>(sgd.averaged())};
  const std::vector<std::size_t> figures(procs, kFigures);
  std::vector<double> all(kFigures * procs);
  comm.allgather(mine, figures, all);
  const auto figure = [&](std::size_t p, std::size_t i) { return all[kFigures * p + i]; };
  for (std::size_t p = 0; p < procs; ++p)
    if (figure(p, 0) != 0) {
      sgd.write_to(model);
      throw DivergenceError(epoch, static_cast<std::size_t>(figure(p, 1)), batches, figure(p, 2),
                            sgd.lr());
    }
  for (std::size_t p = 0; p < procs; ++p)
    if (figure(p, 3) != 0) {
      sgd.write_to(model);
      throw Interrupted(epoch, static_cast<std::size_t>(figure(p, 3)), batches);
    }
  double total = 0;
  for (std::size_t p = 0; p < procs; ++p) total += figure(p, 4);
  // The running average's steps: the processes' counts weighted by their rows, rounded down,
  // so that every process holds the same state (and a checkpoint of one is every process's).
  unsigned __int128 weighted = 0, all_rows = 0;
  for (std::size_t p = 0; p < procs; ++p) {
    weighted +=
        static_cast<unsigned __int128>(figure(p, 4)) * static_cast<unsigned __int128>(figure(p, 5));
    all_rows += static_cast<unsigned __int128>(figure(p, 4));
  }
  sgd.set_averaged(all_rows == 0 ? 0 : static_cast<std::uint64_t>(weighted / all_rows));
  std::vector<float> flat;
  for (const auto part : parts) flat.insert(flat.end(), part.begin(), part.end());
  const std::size_t bytes = flat.size() * sizeof(float);
  const std::vector<std::size_t> counts(procs, bytes);
  std::vector<std::uint8_t> every(bytes * procs);
  comm.allgather_bytes(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(flat.data()), bytes),
      counts, every);
  std::vector<double> mean(flat.size(), 0.0);
  for (std::size_t p = 0; p < procs; ++p) {
    const double weight = figure(p, 4) / total;
    const std::uint8_t* v = every.data() + p * bytes;
    for (std::size_t i = 0; i < flat.size(); ++i) {
      float x;
      std::memcpy(&x, v + i * sizeof(float), sizeof x);
      mean[i] += weight * x;
    }
  }
  std::size_t at = 0;
  for (const auto part : parts)
    for (float& f : part) f = static_cast<float>(mean[at++]);
}

}  // namespace

DivergenceError::DivergenceError(int epoch_, std::size_t batch, std::size_t batches, double loss,
                                 float lr)
    : Error("training diverged: the loss became " + loss_text(loss) + " in epoch " +
            std::to_string(epoch_) + " (batch " + std::to_string(batch) + " of " +
            std::to_string(batches) + "); try a smaller learning rate, e.g. " + param("lr") + " " +
            lr_text(lr)),
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
  // Across processes (more than one): `train` and `test` are this process's parts.
  const Comm* comm =
      options_.comm != nullptr && options_.comm->size() > 1 ? options_.comm : nullptr;
  if (comm != nullptr && (!train.subset.empty() || validation_))
    throw InputError("across processes, SGD takes no validation set and no subset of the rows");
  const std::size_t rows =  // every process's
      comm != nullptr ? sum_over(comm, PassStats{0.0, 0, train.rows}).rows : train.rows;
  if (rows == 0) throw InputError(train.source + ": no training examples");
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
  ThreadPool pool(options_.threads);
  SoftmaxKernel kernel(model.inputs(), model.outputs(), std::min(options_.batch_size, rows));
  std::optional<StepAcross> across;
  if (comm != nullptr) across.emplace(*comm, train, kernel);
  // A batch larger than the data set is the whole data set (and must not allocate more).
  const std::size_t batch_size = std::min(options_.batch_size, rows);
  if (resume_) {
    check_resume(*resume_, options_, model);
    std::copy_n(resume_->sgd.weights.weight().begin(), model.weight().size(),
                model.weight().begin());
    std::copy_n(resume_->sgd.weights.bias().begin(), model.bias().size(), model.bias().begin());
  }
  Gradients grad;
  Sgd sgd(options_.sgd);
  const std::size_t w_slot = sgd.add(model.weight());
  const std::size_t b_slot = sgd.add(model.bias(), /*decay=*/false);  // b is not penalised
  // W's SGD step runs inside the kernel's step, block by block on the threads that summed dW.
  const SoftmaxKernel::WeightBlockFn update_weight = [&](std::size_t begin, std::size_t end) {
    sgd.step(w_slot, grad.weight, begin, end);
  };
  BestEpoch best(options_.early_stopping);
  BatchOrder order = resume_                ? resumed_order(*resume_, rows, batch_size)
                     : train.subset.empty() ? BatchOrder(rows, batch_size)
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
      throw InputError("the checkpoint's steps are not its epochs' (another " +
                       param("batch_size") + "?)");
    try {
      sgd.set_state(w_slot, r.sgd.slow_weight);
      sgd.set_state(b_slot, r.sgd.slow_bias);
    } catch (const std::invalid_argument&) {
      throw InputError("the checkpoint's optimizer state is not " + param("optimizer") + "'s / " +
                       param("momentum") + "'s");
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
      bool stop = false;
      const PassStats s =
          across ? across->step(model, order.batch(b), grad, pool, update_weight,
                                callbacks.stop_requested && callbacks.stop_requested(), stop)
                 : kernel.step(model, train.x, train.labels, order.batch(b), grad, pool,
                               update_weight);
      if (!std::isfinite(s.loss_sum))
        throw DivergenceError(epoch, b + 1, batches, s.loss_sum, options_.sgd.lr);
      sgd.step(b_slot, grad.bias);
      if (average) add_to_average();
      seen.loss_sum += s.loss_sum;
      seen.correct += s.correct;
      seen.rows += s.rows;
      if (callbacks.on_batch) callbacks.on_batch(epoch, b + 1, batches);
      // Across processes every process stops at the same batch: when any was asked to.
      if (across ? stop : callbacks.stop_requested && callbacks.stop_requested())
        throw Interrupted(epoch, b + 1, batches);
    }
    // The next epoch's shuffle (serial) runs on one thread while the others evaluate: the same
    // draws of rng in the same order as shuffling at the start of the next epoch.
    const std::function<void()> shuffle_next = [&] { order.shuffle(rng); };
    const PassStats t = sum_across(
        comm, evaluate(average ? *average : model, test.x, test.labels, test.rows, pool, {},
                       epoch < options_.epochs ? shuffle_next : std::function<void()>{}));
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
    const bool asked = callbacks.stop_requested && callbacks.stop_requested();
    if (comm != nullptr ? sum_over(comm, PassStats{0.0, 0, asked ? 1u : 0u}).rows != 0 : asked)
      throw Interrupted(epoch);
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
    throw InputError(param("average") + " and " + param("momentum") +
                     " do not go together on sparse data (its averaging is lazy, without "
                     "momentum)");
  if (options_.sgd.adagrad && (options_.sgd.momentum != 0.0f || options_.sgd.weight_decay != 0.0f))
    throw InputError(param("optimizer") + " adagrad on sparse data takes no " + param("momentum") +
                     " and no penalty (" + param("l2") + ", " + param("C") + ", " +
                     param("weight_decay") +
                     "): AdaGrad's decay could not be applied lazily, only to every weight at "
                     "every step");
  // Across processes: local epochs, each process on its part in an order of its own, then
  // every process's weights and optimizer state averaged, weighted by the processes' rows.
  const Comm* comm =
      options_.comm != nullptr && options_.comm->size() > 1 ? options_.comm : nullptr;
  if (resume_) check_resume(*resume_, options_, model);
  ThreadPool pool(options_.threads);
  SparseSgd sgd(model, options_.sgd, &pool);
  BestEpoch best(options_.early_stopping);
  const std::size_t batches = (rows + options_.batch_size - 1) / options_.batch_size;
  // Across processes the schedule's steps are each process's own; a checkpoint counts the
  // steps of one process holding every row, as one process resuming it would.
  const std::size_t all_batches =
      comm == nullptr ? batches
                      : (sum_over(comm, PassStats{0.0, 0, rows}).rows + options_.batch_size - 1) /
                            options_.batch_size;
  std::optional<BatchOrder> order;
  std::vector<EpochMetrics> history;
  std::uint64_t step = 0;  // over the run, for the schedule
  int first = 1;
  if (resume_) {
    const TrainState& r = *resume_;
    try {
      sgd.restore(r.sgd);
    } catch (const std::invalid_argument&) {
      throw InputError("the checkpoint's optimizer state is not " + param("optimizer") + "'s / " +
                       param("momentum") + "'s / " + param("average") + "'s");
    }
    // The order of the last buffer (the whole set in memory); the next buffer of as many rows
    // shuffles it again. (Across processes every epoch draws its orders afresh.)
    if (comm == nullptr && r.order.size() > rows)
      throw InputError("the checkpoint's order has more rows than the training set");
    if (comm == nullptr && !r.order.empty())
      order.emplace(
          resumed_order(r, r.order.size(), std::min(options_.batch_size, r.order.size())));
    step = comm != nullptr ? static_cast<std::uint64_t>(r.epoch) * batches : r.step;
    rng = Rng::from_state(r.rng);
    best.load(r);
    history = r.history;
    first = r.epoch + 1;
  }
  // Across processes each process shuffles its own rows every epoch, from their first order,
  // with a generator drawn from the run's generator's state (not from its draws: it makes none
  // across processes, so a checkpoint holds that state), the epoch and the rank: the same
  // orders every run of the same processes, and in a run resumed from a checkpoint.
  const auto mix = [](std::uint64_t z) {  // SplitMix64's finaliser
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  std::uint64_t base = 0;
  for (const std::uint64_t w : rng.state()) base = mix(base ^ w);
  for (int epoch = first; epoch <= options_.epochs; ++epoch) {
    std::optional<Rng> own_rng;
    if (comm != nullptr) {
      own_rng.emplace(mix(base ^ mix(static_cast<std::uint64_t>(epoch)) ^
                          mix(~static_cast<std::uint64_t>(comm->rank()))));
      order.reset();
    }
    Rng& order_rng = own_rng ? *own_rng : rng;
    const auto start = Clock::now();
    if (epoch == options_.average_from) sgd.start_averaging();
    PassStats seen;
    std::size_t b = 0;
    // Across processes a process that diverges or is asked to stop goes no further this epoch;
    // the processes agree on it after the epoch.
    std::optional<std::pair<std::size_t, double>> diverged;  // the batch, its loss
    std::size_t stopped_at = 0;
    buffers([&](const Examples& train) {
      if (diverged || stopped_at != 0 || train.rows == 0) return;
      // A batch larger than the buffer is the whole buffer. The order of a buffer of as many
      // rows as the last is that order shuffled again (as the dense trainer does epoch after
      // epoch), so the in-memory run and a stream whose buffer holds the file are the same run.
      if (!order || order->rows() != train.rows)
        order.emplace(
            train.subset.empty()
                ? BatchOrder(train.rows, std::min(options_.batch_size, train.rows))
                : BatchOrder::over(train.subset, std::min(options_.batch_size, train.rows)));
      order->shuffle(order_rng);
      for (std::size_t j = 0; j < order->batches(); ++j) {
        sgd.set_lr(scheduled_lr(options_, step++, batches));
        ++b;
        const PassStats s = sgd.step(train.x, train.labels, order->batch(j));
        if (!std::isfinite(s.loss_sum)) {
          if (comm != nullptr) {
            diverged.emplace(b, s.loss_sum);
            return;
          }
          sgd.write_to(model);  // the weights from before this batch
          throw DivergenceError(epoch, b, batches, s.loss_sum, options_.sgd.lr);
        }
        seen.loss_sum += s.loss_sum;
        seen.correct += s.correct;
        seen.rows += s.rows;
        if (callbacks.on_batch) callbacks.on_batch(epoch, std::min(b, batches), batches);
        if (callbacks.stop_requested && callbacks.stop_requested()) {
          if (comm != nullptr) {
            stopped_at = b;
            return;
          }
          sgd.write_to(model);
          throw Interrupted(epoch, b, batches);
        }
      }
    });
    if (comm != nullptr) {
      merge_across(*comm, sgd, rows, epoch, batches, diverged, stopped_at, model);
      seen = sum_over(comm, seen);
    }
    sgd.flush();
    const PassStats t =
        sum_across(comm, test.rows == 0 ? PassStats{}
                                        : evaluate_feature_major(sgd.wt(), sgd.stride(), sgd.bias(),
                                                                 sgd.output(), test.x, test.labels,
                                                                 test.rows, pool));
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
      state.step = comm != nullptr ? static_cast<std::uint64_t>(epoch) * all_batches : step;
      state.rng = rng.state();
      // Across processes each order is a process's own, and the next is drawn afresh.
      if (order && comm == nullptr)
        state.order.assign(order->order().begin(), order->order().end());
      state.sgd = sgd.state();
      best.save(state);
      state.stopped = stop;
      state.history = history;
      callbacks.on_checkpoint(state);
    }
    const bool asked = callbacks.stop_requested && callbacks.stop_requested();
    if (comm != nullptr ? sum_over(comm, PassStats{0.0, 0, asked ? 1u : 0u}).rows != 0 : asked) {
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
