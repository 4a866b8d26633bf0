// Minibatch SGD on sparse rows in O(nnz K) a step, with lazy decay and momentum (kernel.hpp,
// SparseSgd; docs/objective.md, "Sparse SGD").
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernel_loss.hpp"
#include "softreg/kernel.hpp"

namespace softreg {

namespace {

constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

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

SparseSgd::SparseSgd(const SoftmaxRegression& model, const SgdOptions& options)
    : inputs_(model.inputs()),
      outputs_(model.outputs()),
      output_(model.output()),
      options_(options),
      bias_(model.bias().begin(), model.bias().end()) {
  const std::size_t d = inputs_, k_all = outputs_;
  wt_.resize(d * k_all);
  const std::span<const float> w = model.weight();
  for (std::size_t k = 0; k < k_all; ++k)
    for (std::size_t j = 0; j < d; ++j) wt_[j * k_all + k] = w[k * d + j];
  if (options_.momentum != 0.0f) {
    vt_.assign(d * k_all, 0.0f);
    bias_v_.assign(k_all, 0.0f);
  }
  if (options_.momentum != 0.0f || options_.weight_decay != 0.0f) done_.assign(d, 0);
  slot_.assign(d, kNoSlot);
}

void SparseSgd::catch_up(std::size_t col, std::uint32_t missed) {
  if (missed == 0) return;
  const std::size_t k_all = outputs_;
  float* const w = wt_.data() + col * k_all;
  const double lr = options_.lr, mu = options_.momentum, wd = options_.weight_decay;
  if (vt_.empty()) {
    // w ← (1 − ηλ) w, n times.
    const double a = 1.0 - lr * wd;
    const Map2 m = power({a, 0, 0, 1}, missed);
    if (averaging_) {
      // The mean of T steps' weights (the average so far) and the n missed ones, w aⁱ for
      // i = 1..n: (T avg + w Σ aⁱ) / (T + n).
      const double t = static_cast<double>(averaged_ + done_[col]);
      const double n = missed;
      const double sum = a == 1.0 ? n : a * (1.0 - m.a) / (1.0 - a);
      float* const avg = avg_.data() + col * k_all;
      for (std::size_t k = 0; k < k_all; ++k)
        avg[k] = static_cast<float>((t * avg[k] + sum * w[k]) / (t + n));
    }
    for (std::size_t k = 0; k < k_all; ++k) w[k] = static_cast<float>(m.a * w[k]);
    return;
  }
  // (w, v) ← [[1 − ηλ, −ημ], [λ, μ]] (w, v), n times: v' = μ v + λ w, w' = w − η v'.
  const Map2 m = power({1.0 - lr * wd, -lr * mu, wd, mu}, missed);
  float* const v = vt_.data() + col * k_all;
  for (std::size_t k = 0; k < k_all; ++k) {
    const double wk = w[k], vk = v[k];
    w[k] = static_cast<float>(m.a * wk + m.b * vk);
    v[k] = static_cast<float>(m.c * wk + m.d * vk);
  }
}

void SparseSgd::flush() {
  if (!done_.empty() && steps_ != 0) {
    for (std::size_t j = 0; j < inputs_; ++j) catch_up(j, steps_ - done_[j]);
    std::fill(done_.begin(), done_.end(), 0u);
  }
  if (averaging_) averaged_ += steps_;
  steps_ = 0;
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
  flush();
  options_.lr = lr;
}

PassStats SparseSgd::step(const Features& x, std::span<const std::int32_t> labels,
                          std::span<const std::uint32_t> rows) {
  if (!x.sparse() || x.inputs != inputs_)
    throw std::invalid_argument("SparseSgd::step: sparse rows of " + std::to_string(inputs_) +
                                " inputs expected");
  const std::size_t n = rows.size(), k_all = outputs_;
  // Before the step counter could wrap (4 billion steps without an evaluation), catch up.
  if (steps_ == std::numeric_limits<std::uint32_t>::max() - 1) flush();
  const bool lazy = !done_.empty();

  // 1. The batch's columns, each once, caught up with the steps it missed.
  touched_.clear();
  for (const std::uint32_t r : rows)
    for (std::uint64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
      const std::uint32_t c = x.cols[k];
      if (slot_[c] != kNoSlot) continue;
      slot_[c] = static_cast<std::uint32_t>(touched_.size());
      touched_.push_back(c);
      if (lazy) catch_up(c, steps_ - done_[c]);
    }

  // 2. Logits, loss, dO = (p − onehot(y)) / n.
  logits_.resize(n * k_all);
  for (std::size_t i = 0; i < n; ++i) {
    float* const o = logits_.data() + i * k_all;
    std::copy(bias_.begin(), bias_.end(), o);
    const std::uint32_t r = rows[i];
    for (std::uint64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
      const float v = x.value(k);
      const float* const w = wt_.data() + std::size_t{x.cols[k]} * k_all;
      for (std::size_t c = 0; c < k_all; ++c) o[c] += w[c] * v;
    }
  }
  const PassStats stats = detail::block_loss(output_, logits_.data(), n, k_all,
                                             [&](std::size_t i) { return labels[rows[i]]; });
  if (!std::isfinite(stats.loss_sum)) {
    for (const std::uint32_t c : touched_) slot_[c] = kNoSlot;
    if (lazy)
      for (const std::uint32_t c : touched_) done_[c] = steps_;  // caught up, not stepped
    return stats;
  }
  const float inv_n = 1.0f / static_cast<float>(n);
  for (float& g : logits_) g *= inv_n;

  // 3. dW of the touched columns, each entry summed over the rows in batch order.
  grad_.assign(touched_.size() * k_all, 0.0f);
  for (std::size_t i = 0; i < n; ++i) {
    const float* const d_o = logits_.data() + i * k_all;
    const std::uint32_t r = rows[i];
    for (std::uint64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
      const float v = x.value(k);
      float* const g = grad_.data() + std::size_t{slot_[x.cols[k]]} * k_all;
      for (std::size_t c = 0; c < k_all; ++c) g[c] += d_o[c] * v;
    }
  }

  // 4. The eager update of the touched columns (Sgd's arithmetic), then of b (no decay).
  const float lr = options_.lr, mu = options_.momentum, wd = options_.weight_decay;
  for (std::size_t s = 0; s < touched_.size(); ++s) {
    const std::size_t c = touched_[s];
    float* const w = wt_.data() + c * k_all;
    const float* const g = grad_.data() + s * k_all;
    if (vt_.empty()) {
      for (std::size_t k = 0; k < k_all; ++k) w[k] -= lr * (g[k] + wd * w[k]);
    } else {
      float* const v = vt_.data() + c * k_all;
      for (std::size_t k = 0; k < k_all; ++k) {
        v[k] = mu * v[k] + (g[k] + wd * w[k]);
        w[k] -= lr * v[k];
      }
    }
    if (averaging_) {
      const double t = static_cast<double>(averaged_ + steps_);
      float* const avg = avg_.data() + c * k_all;
      for (std::size_t k = 0; k < k_all; ++k)
        avg[k] = static_cast<float>((t * avg[k] + w[k]) / (t + 1));
    }
    slot_[c] = kNoSlot;
    if (lazy) done_[c] = steps_ + 1;
  }
  for (std::size_t k = 0; k < k_all; ++k) {
    float db = 0.0f;
    for (std::size_t i = 0; i < n; ++i) db += logits_[i * k_all + k];
    if (bias_v_.empty()) {
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
  ++steps_;
  return stats;
}

void SparseSgd::write_to(SoftmaxRegression& model) {
  if (model.inputs() != inputs_ || model.outputs() != outputs_)
    throw std::invalid_argument("SparseSgd::write_to: a model of another shape");
  flush();
  const std::size_t d = inputs_, k_all = outputs_;
  const std::span<float> w = model.weight();
  const std::vector<float>& wt = averaging_ ? avg_ : wt_;
  const std::vector<float>& b = averaging_ ? avg_bias_ : bias_;
  for (std::size_t k = 0; k < k_all; ++k)
    for (std::size_t j = 0; j < d; ++j) w[k * d + j] = wt[j * k_all + k];
  std::copy(b.begin(), b.end(), model.bias().begin());
}

}  // namespace softreg
