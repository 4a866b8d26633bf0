// Minibatch SGD on sparse rows in O(nnz K) a step, with lazy decay and momentum (kernel.hpp,
// SparseSgd; docs/objective.md, "Sparse SGD").
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernel_loss.hpp"
#include "softreg/kernel.hpp"

namespace softreg {

namespace {

constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

// A shared step's tasks split the classes in blocks of 16 floats (a cache line): below two
// blocks a step stays on one thread, and the weights keep their plain stride K.
constexpr std::size_t kClassBlock = 16;
constexpr std::size_t kTeamClasses = 2 * kClassBlock;
// The batch's rows are taken in blocks of this many, each block's loss summed on its own and
// the blocks' sums added in order: the same sums whichever thread takes which block.
constexpr std::size_t kLossRows = 8;
// The most steps between two flushes while the rate changes from step to step: the tree of their
// maps (80 bytes a step) stays under 11 MB, and a flush, O(D K), comes at most this often.
constexpr std::uint32_t kMaxTreeSteps = 1u << 16;

std::size_t stride_for(std::size_t classes) {
  return classes < kTeamClasses ? classes : (classes + kClassBlock - 1) / kClassBlock * kClassBlock;
}

// A 2 x 2 matrix [[a, b], [c, d]] in double.
struct Map2 {
  double a, b, c, d;
  Map2 operator*(const Map2& o) const {
    return {a * o.a + b * o.c, a * o.b + b * o.d, c * o.a + d * o.c, c * o.b + d * o.d};
  }
};

// m to the power n, by squaring.
Map2 power(Map2 m, std::uint32_t n) {
  Map2 r{1, 0, 0, 1};
  while (n != 0) {
    if (n & 1u) r = r * m;
    m = m * m;
    n >>= 1;
  }
  return r;
}

}  // namespace

SparseSgd::SparseSgd(const SoftmaxRegression& model, const SgdOptions& options, ThreadPool* pool)
    : inputs_(model.inputs()),
      outputs_(model.outputs()),
      stride_(stride_for(model.outputs())),
      output_(model.output()),
      options_(options),
      pool_(pool) {
  const std::size_t d = inputs_, k_all = outputs_, st = stride_;
  // The padding, weights and bias past K, stays 0: its dO is 0 (see step()).
  bias_.assign(st, 0.0f);
  std::copy(model.bias().begin(), model.bias().end(), bias_.begin());
  wt_.assign(d * st, 0.0f);
  const std::span<const float> w = model.weight();
  for (std::size_t k = 0; k < k_all; ++k)
    for (std::size_t j = 0; j < d; ++j) wt_[j * st + k] = w[k * d + j];
  if (options_.adagrad && (options_.momentum != 0.0f || options_.weight_decay != 0.0f))
    throw std::invalid_argument("SparseSgd: AdaGrad without momentum and weight decay");
  if (options_.momentum != 0.0f) {
    vt_.assign(d * st, 0.0f);
    bias_v_.assign(st, 0.0f);
  }
  if (options_.adagrad) {
    g2_.assign(d * st, 0.0f);
    bias_g2_.assign(st, 0.0f);
  }
  if (options_.momentum != 0.0f || options_.weight_decay != 0.0f) done_.assign(d, 0);
  slot_.assign(d, kNoSlot);
}

bool SparseSgd::threaded(std::size_t entries) const {
  return pool_ != nullptr && pool_->size() > 1 && stride_ >= kTeamClasses &&
         entries >= shared_entries_;
}

void SparseSgd::catch_up(std::size_t col, std::uint32_t from, std::size_t k0, std::size_t k1) {
  const std::uint32_t missed = steps_ - from;
  if (missed == 0 || k0 >= k1) return;
  float* const w = wt_.data() + col * stride_;
  const double lr = options_.lr, mu = options_.momentum, wd = options_.weight_decay;
  // The missed steps' map and, without momentum, Σ of its prefix products (for the average):
  // one rate since the last flush, one power; else the product of the steps' maps.
  Map2 m;
  double sum = 0.0;
  if (!varying_) {
    const double a = 1.0 - lr * wd;
    m = vt_.empty() ? power({a, 0, 0, 1}, missed) : power({a, -lr * mu, wd, mu}, missed);
    sum = a == 1.0 ? missed : a * (1.0 - m.a) / (1.0 - a);
  } else {
    const std::array<double, 5> p = steps_map(from, steps_);
    m = {p[0], p[1], p[2], p[3]};
    sum = p[4];
  }
  if (vt_.empty()) {
    // w ← (1 − ηλ) w, once a step.
    if (averaging_) {
      // The mean of T steps' weights (the average so far) and the n missed ones, w times the
      // prefix products: (T avg + w Σ) / (T + n).
      const double t = static_cast<double>(averaged_ + from);
      const double n = missed;
      float* const avg = avg_.data() + col * stride_;
      for (std::size_t k = k0; k < k1; ++k)
        avg[k] = static_cast<float>((t * avg[k] + sum * w[k]) / (t + n));
    }
    for (std::size_t k = k0; k < k1; ++k) w[k] = static_cast<float>(m.a * w[k]);
    return;
  }
  // (w, v) ← [[1 − ηλ, −ημ], [λ, μ]] (w, v), once a step: v' = μ v + λ w, w' = w − η v'.
  float* const v = vt_.data() + col * stride_;
  for (std::size_t k = k0; k < k1; ++k) {
    const double wk = w[k], vk = v[k];
    w[k] = static_cast<float>(m.a * wk + m.b * vk);
    v[k] = static_cast<float>(m.c * wk + m.d * vk);
  }
}

namespace {

using StepMap = std::array<double, 5>;  // a, b, c, d of the map, and Σ of prefix products of a
constexpr StepMap kIdentity = {1, 0, 0, 1, 0};

// `first`'s steps, then `then`'s.
StepMap followed_by(const StepMap& first, const StepMap& then) {
  const Map2 f{first[0], first[1], first[2], first[3]}, t{then[0], then[1], then[2], then[3]};
  const Map2 m = t * f;
  return {m.a, m.b, m.c, m.d, first[4] + first[0] * then[4]};
}

}  // namespace

void SparseSgd::put_step_map(std::uint32_t step, float lr) {
  if (step >= leaves_) {
    // Twice the leaves (at least 64): the old leaves copied, the inner nodes computed again.
    std::size_t leaves = std::max<std::size_t>(64, leaves_);
    while (leaves <= step) leaves *= 2;
    std::vector<StepMap> tree(2 * leaves, kIdentity);
    for (std::size_t i = 0; i < leaves_; ++i) tree[leaves + i] = tree_[leaves_ + i];
    for (std::size_t i = leaves - 1; i >= 1; --i)
      tree[i] = followed_by(tree[2 * i], tree[2 * i + 1]);
    tree_ = std::move(tree);
    leaves_ = leaves;
  }
  const double eta = lr, mu = options_.momentum, wd = options_.weight_decay;
  const double a = 1.0 - eta * wd;
  std::size_t i = leaves_ + step;
  tree_[i] = vt_.empty() ? StepMap{a, 0, 0, 1, a} : StepMap{a, -eta * mu, wd, mu, 0};
  for (i /= 2; i >= 1; i /= 2) tree_[i] = followed_by(tree_[2 * i], tree_[2 * i + 1]);
}

std::array<double, 5> SparseSgd::steps_map(std::uint32_t from, std::uint32_t to) const {
  // Bottom-up over the tree: the ranges met on the left come first, those on the right last.
  StepMap left = kIdentity, right = kIdentity;
  for (std::size_t l = leaves_ + from, r = leaves_ + to; l < r; l /= 2, r /= 2) {
    if (l & 1u) left = followed_by(left, tree_[l++]);
    if (r & 1u) right = followed_by(tree_[--r], right);
  }
  return followed_by(left, right);
}

void SparseSgd::flush() {
  if (!done_.empty() && steps_ != 0) {
    // Each column on its own: spread over the pool in blocks of columns.
    constexpr std::size_t kColumns = 4096;
    const std::size_t blocks = (inputs_ + kColumns - 1) / kColumns;
    auto block = [&](std::size_t t) {
      const std::size_t j1 = std::min(inputs_, (t + 1) * kColumns);
      for (std::size_t j = t * kColumns; j < j1; ++j) catch_up(j, done_[j], 0, stride_);
    };
    if (pool_ != nullptr)
      pool_->run(blocks, block);
    else
      for (std::size_t t = 0; t < blocks; ++t) block(t);
    std::fill(done_.begin(), done_.end(), 0u);
  }
  if (averaging_) averaged_ += steps_;
  steps_ = 0;
  varying_ = false;
  tree_.clear();
  leaves_ = 0;
}

void SparseSgd::start_averaging() {
  if (!vt_.empty()) throw std::invalid_argument("SparseSgd: averaging with momentum");
  flush();
  averaging_ = true;
  averaged_ = 0;
  avg_ = wt_;
  avg_bias_ = bias_;
  if (done_.empty()) done_.assign(inputs_, 0);
}

void SparseSgd::set_lr(float lr) {
  if (lr == options_.lr) return;
  if (!done_.empty() && steps_ != 0 && !varying_) {
    // The steps so far had one rate: their maps, then each later step's own.
    varying_ = true;
    for (std::uint32_t s = 0; s < steps_; ++s) put_step_map(s, options_.lr);
  }
  options_.lr = lr;
}

PassStats SparseSgd::step(const Features& x, std::span<const std::int32_t> labels,
                          std::span<const std::uint32_t> rows) {
  if (!x.sparse() || x.inputs != inputs_)
    throw std::invalid_argument("SparseSgd::step: sparse rows of " + std::to_string(inputs_) +
                                " inputs expected");
  const std::size_t n = rows.size(), k_all = outputs_, st = stride_;
  // Before the step counter could wrap (4 billion steps without an evaluation), or the tree of
  // changing rates' maps grow past kMaxTreeSteps leaves, catch up.
  if (steps_ == std::numeric_limits<std::uint32_t>::max() - 1 ||
      (varying_ && steps_ >= kMaxTreeSteps))
    flush();
  const bool lazy = !done_.empty();

  // 1. The batch's columns, each once, with the steps it missed. Serial: done by member 0 while
  // the others start on the logits, it made the steps slower, not faster.
  touched_.clear();
  missed_.clear();
  std::size_t stored = 0;
  for (const std::uint32_t r : rows) {
    stored += x.offsets[r + 1] - x.offsets[r];
    for (std::uint64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
      const std::uint32_t c = x.cols[k];
      if (slot_[c] != kNoSlot) continue;
      slot_[c] = static_cast<std::uint32_t>(touched_.size());
      touched_.push_back(c);
      if (lazy) missed_.push_back(done_[c]);
    }
  }
  grad_.resize(touched_.size() * st);
  const bool shared = threaded(stored * k_all);
  const std::size_t blocks = (n + kLossRows - 1) / kLossRows;
  rows_stats_.resize(blocks);
  logits_.resize(n * st);
  const float inv_n = 1.0f / static_cast<float>(n);
  const float lr = options_.lr, mu = options_.momentum, wd = options_.weight_decay;
  const float eps = options_.eps;
  // f(k0, k1) for the blocks of kClassBlock classes, or f(0, S) on this thread.
  auto by_classes = [&](const auto& f) {
    if (!shared) return f(0, st);
    pool_->run(st / kClassBlock, [&](std::size_t t) { f(t * kClassBlock, (t + 1) * kClassBlock); });
  };

  // Every loop over classes runs over [0, S) (or a block of it): whole vectors. The padding's
  // weights and bias are 0, so its logits are 0 and its dO is set to 0.
  // 2. The touched columns caught up with the steps they missed.
  if (lazy)
    by_classes([&](std::size_t k0, std::size_t k1) {
      for (std::size_t s = 0; s < touched_.size(); ++s) catch_up(touched_[s], missed_[s], k0, k1);
    });

  // 3. Each block of rows: logits, loss, dO = (p − onehot(y)) / n.
  auto row_block = [&](std::size_t blk) {
    const std::size_t i0 = blk * kLossRows, i1 = std::min(n, i0 + kLossRows);
    for (std::size_t i = i0; i < i1; ++i) {
      float* const o = logits_.data() + i * st;
      std::copy(bias_.begin(), bias_.end(), o);
      const std::uint32_t r = rows[i];
      for (std::uint64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
        const float v = x.value(k);
        const float* const w = wt_.data() + std::size_t{x.cols[k]} * st;
        for (std::size_t c = 0; c < st; ++c) o[c] += w[c] * v;
      }
    }
    const PassStats s = detail::block_loss(
        output_, logits_.data() + i0 * st, i1 - i0, k_all,
        [&](std::size_t i) { return labels[rows[i0 + i]]; }, st);
    rows_stats_[blk].loss_sum = s.loss_sum;
    rows_stats_[blk].correct = s.correct;
    for (std::size_t i = i0; i < i1; ++i) {
      float* const d_o = logits_.data() + i * st;
      for (std::size_t c = 0; c < k_all; ++c) d_o[c] *= inv_n;
      std::fill(d_o + k_all, d_o + st, 0.0f);
    }
  };
  if (shared)
    pool_->run(blocks, row_block);
  else
    for (std::size_t blk = 0; blk < blocks; ++blk) row_block(blk);
  double loss = 0.0;
  for (std::size_t blk = 0; blk < blocks; ++blk) loss += rows_stats_[blk].loss_sum;
  const bool finite = std::isfinite(loss);

  // 4. dW of the touched columns, classes [k0, k1), each entry summed over the rows in batch
  // order; 5. the eager update of the touched columns (Sgd's arithmetic), then of b (no decay).
  if (finite)
    by_classes([&](std::size_t k0, std::size_t k1) {
      for (std::size_t s = 0; s < touched_.size(); ++s)
        std::fill(grad_.data() + s * st + k0, grad_.data() + s * st + k1, 0.0f);
      for (std::size_t i = 0; i < n; ++i) {
        const float* const d_o = logits_.data() + i * st;
        const std::uint32_t r = rows[i];
        for (std::uint64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
          const float v = x.value(k);
          float* const g = grad_.data() + std::size_t{slot_[x.cols[k]]} * st;
          for (std::size_t c = k0; c < k1; ++c) g[c] += d_o[c] * v;
        }
      }
      for (std::size_t s = 0; s < touched_.size(); ++s) {
        const std::size_t c = touched_[s];
        float* const w = wt_.data() + c * st;
        const float* const g = grad_.data() + s * st;
        if (!g2_.empty()) {
          float* const g2 = g2_.data() + c * st;
          for (std::size_t k = k0; k < k1; ++k) {
            g2[k] += g[k] * g[k];
            w[k] -= lr * g[k] / (std::sqrt(g2[k]) + eps);
          }
        } else if (vt_.empty()) {
          for (std::size_t k = k0; k < k1; ++k) w[k] -= lr * (g[k] + wd * w[k]);
        } else {
          float* const v = vt_.data() + c * st;
          for (std::size_t k = k0; k < k1; ++k) {
            v[k] = mu * v[k] + (g[k] + wd * w[k]);
            w[k] -= lr * v[k];
          }
        }
        if (averaging_) {
          const double t = static_cast<double>(averaged_ + steps_);
          float* const avg = avg_.data() + c * st;
          for (std::size_t k = k0; k < k1; ++k)
            avg[k] = static_cast<float>((t * avg[k] + w[k]) / (t + 1));
        }
      }
      for (std::size_t k = k0; k < k1; ++k) {
        float db = 0.0f;
        for (std::size_t i = 0; i < n; ++i) db += logits_[i * st + k];
        if (!bias_g2_.empty()) {
          bias_g2_[k] += db * db;
          bias_[k] -= lr * db / (std::sqrt(bias_g2_[k]) + eps);
        } else if (bias_v_.empty()) {
          bias_[k] -= lr * db;
        } else {
          bias_v_[k] = mu * bias_v_[k] + db;
          bias_[k] -= lr * bias_v_[k];
        }
        if (averaging_) {
          const double t = static_cast<double>(averaged_ + steps_);
          avg_bias_[k] = static_cast<float>((t * avg_bias_[k] + bias_[k]) / (t + 1));
        }
      }
    });

  PassStats stats;
  stats.rows = n;
  for (std::size_t blk = 0; blk < blocks; ++blk) {
    stats.loss_sum += rows_stats_[blk].loss_sum;
    stats.correct += rows_stats_[blk].correct;
  }
  for (const std::uint32_t c : touched_) slot_[c] = kNoSlot;
  // A diverged batch changes nothing but the catching up; a step done counts.
  if (lazy)
    for (const std::uint32_t c : touched_) done_[c] = finite ? steps_ + 1 : steps_;
  if (finite) {
    if (varying_) put_step_map(steps_, lr);
    ++steps_;
  }
  return stats;
}

namespace {

// Feature-major D x S (the trainer's) to class-major K x D (the model's), and back.
void to_class_major(std::span<const float> wt, std::size_t st, std::span<float> w, std::size_t d,
                    std::size_t k_all) {
  for (std::size_t k = 0; k < k_all; ++k)
    for (std::size_t j = 0; j < d; ++j) w[k * d + j] = wt[j * st + k];
}

void to_feature_major(std::span<const float> w, std::size_t d, std::size_t k_all,
                      std::span<float> wt, std::size_t st) {
  for (std::size_t k = 0; k < k_all; ++k)
    for (std::size_t j = 0; j < d; ++j) wt[j * st + k] = w[k * d + j];
}

}  // namespace

SgdState SparseSgd::state() {
  flush();
  const std::size_t d = inputs_, k_all = outputs_, st = stride_;
  const std::size_t classes = output_ == Output::logistic ? 2 : k_all;
  SgdState s;
  s.weights = SoftmaxRegression(d, classes, output_);
  to_class_major(wt_, st, s.weights.weight(), d, k_all);
  std::copy_n(bias_.begin(), k_all, s.weights.bias().begin());
  const AlignedFloats& slow = !vt_.empty() ? vt_ : g2_;
  const std::vector<float>& slow_bias = !vt_.empty() ? bias_v_ : bias_g2_;
  if (!slow.empty()) {
    s.slow_weight.resize(k_all * d);
    to_class_major(slow, st, s.slow_weight, d, k_all);
    s.slow_bias.assign(slow_bias.begin(), slow_bias.begin() + static_cast<std::ptrdiff_t>(k_all));
  }
  if (averaging_) {
    s.average = SoftmaxRegression(d, classes, output_);
    to_class_major(avg_, st, s.average->weight(), d, k_all);
    std::copy_n(avg_bias_.begin(), k_all, s.average->bias().begin());
    s.averaged = averaged_;
  }
  return s;
}

void SparseSgd::restore(const SgdState& s) {
  const std::size_t d = inputs_, k_all = outputs_, st = stride_;
  const auto fits = [&](const SoftmaxRegression& m) {
    return m.inputs() == d && m.outputs() == k_all && m.output() == output_;
  };
  AlignedFloats& slow = !vt_.empty() ? vt_ : g2_;
  std::vector<float>& slow_bias = !vt_.empty() ? bias_v_ : bias_g2_;
  if (!fits(s.weights) || s.slow_weight.size() != (slow.empty() ? 0 : k_all * d) ||
      s.slow_bias.size() != (slow.empty() ? 0 : k_all) || (s.average && !fits(*s.average)) ||
      (s.average && !vt_.empty()))
    throw std::invalid_argument("SparseSgd::restore: a state of another trainer");
  flush();
  to_feature_major(s.weights.weight(), d, k_all, wt_, st);
  std::copy(s.weights.bias().begin(), s.weights.bias().end(), bias_.begin());
  if (!slow.empty()) {
    to_feature_major(s.slow_weight, d, k_all, slow, st);
    std::copy(s.slow_bias.begin(), s.slow_bias.end(), slow_bias.begin());
  }
  averaging_ = s.average.has_value();
  if (averaging_) {
    avg_.assign(d * st, 0.0f);
    avg_bias_.assign(st, 0.0f);
    to_feature_major(s.average->weight(), d, k_all, avg_, st);
    std::copy(s.average->bias().begin(), s.average->bias().end(), avg_bias_.begin());
    averaged_ = s.averaged;
    if (done_.empty()) done_.assign(inputs_, 0);
  }
}

std::vector<std::span<float>> SparseSgd::state_in_place() {
  flush();
  std::vector<std::span<float>> parts = {wt_, bias_};
  for (std::span<float> p : {std::span<float>(vt_), std::span<float>(bias_v_),
                             std::span<float>(g2_), std::span<float>(bias_g2_)})
    if (!p.empty()) parts.push_back(p);
  if (averaging_) {
    parts.push_back(avg_);
    parts.push_back(avg_bias_);
  }
  return parts;
}

void SparseSgd::write_to(SoftmaxRegression& model) {
  if (model.inputs() != inputs_ || model.outputs() != outputs_)
    throw std::invalid_argument("SparseSgd::write_to: a model of another shape");
  flush();
  const std::size_t d = inputs_, k_all = outputs_, st = stride_;
  const std::span<float> w = model.weight();
  const AlignedFloats& wt = averaging_ ? avg_ : wt_;
  const std::vector<float>& b = averaging_ ? avg_bias_ : bias_;
  for (std::size_t k = 0; k < k_all; ++k)
    for (std::size_t j = 0; j < d; ++j) w[k * d + j] = wt[j * st + k];
  std::copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(k_all), model.bias().begin());
}

}  // namespace softreg
