// The loss of a block of logits, shared by the dense and the sparse kernels (kernel.cpp,
// kernel_sparse.cpp): softmax or sigmoid, cross-entropy, dL/do in place, correct rows.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "softreg/kernel.hpp"
#include "softreg/model.hpp"
#include "softreg/ops.hpp"

namespace softreg::detail {

// Softmax regression over a block of n rows of logits o (row stride k_all, or `stride` when it is
// given: the entries between a row's k_all and its stride must be <= 0), y(r) the label of
// row r: turns each row into dL/do = p - onehot(y) in place and returns the block's summed
// cross-entropy and how many rows' argmax is the label; each(loss) sees each row's loss. Each row's
// loss is (m - o_y) + log Σ exp(o_k - m), m the row's largest logit: exact when y is the argmax,
// where the subtraction is 0, and never log(0). The work is in three passes, so that the
// exponentials, most of it, run as one vector loop over the whole block instead of one call per
// logit.
struct NoEachRow {
  void operator()(float) const {}
};

template <class Label, class EachRow = NoEachRow>
PassStats softmax_rows(float* o, std::size_t n, std::size_t k_all, Label y, std::size_t stride = 0,
                       EachRow each = {}) {
  if (stride == 0) stride = k_all;
  PassStats s;
  s.rows = n;
  constexpr std::size_t kBlock = 64;
  float shifted_loss[kBlock];  // m - o_y of each row
  std::size_t label[kBlock];
  for (std::size_t r0 = 0; r0 < n; r0 += kBlock) {
    const std::size_t r1 = std::min(n, r0 + kBlock);
    // 1. Each row's largest logit m, subtracted from the row: every o_k - m <= 0.
    for (std::size_t r = r0; r < r1; ++r) {
      float* const row = o + r * stride;
      const std::size_t yr = label[r - r0] = static_cast<std::size_t>(y(r));
      std::size_t best = 0;
      for (std::size_t k = 1; k < k_all; ++k)
        if (row[k] > row[best]) best = k;
      const float m = row[best];
      shifted_loss[r - r0] = m - row[yr];
      s.correct += best == yr;
      for (std::size_t k = 0; k < k_all; ++k) row[k] -= m;
    }
    // 2. exp(o_k - m) of the whole block.
    exp_nonpositive(std::span<float>(o + r0 * stride, (r1 - r0) * stride));
    // 3. p = exp(o - m) / Σ exp(o - m), dO = p - onehot(y), and the loss.
    for (std::size_t r = r0; r < r1; ++r) {
      float* const row = o + r * stride;
      float sum = 0.0f;
      for (std::size_t k = 0; k < k_all; ++k) sum += row[k];
      const float inv = 1.0f / sum;
      for (std::size_t k = 0; k < k_all; ++k) row[k] *= inv;
      row[label[r - r0]] -= 1.0f;
      const float loss = shifted_loss[r - r0] + std::log(sum);
      s.loss_sum += loss;
      each(loss);
    }
  }
  return s;
}

// Logistic regression, one example: one logit z; turns it into dL/dz = σ(z) - y and returns the
// binary cross-entropy -[y log σ(z) + (1 - y) log(1 - σ(z))] = softplus(z) - y z, written as
// max(z, 0) - y z + log(1 + exp(-|z|)) so that nothing overflows.
inline float logistic_loss(float* o, std::int32_t y, bool* correct) {
  const float z = o[0];
  const float t = y == 1 ? 1.0f : 0.0f;
  *correct = (z > 0.0f) == (y == 1);
  o[0] = sigmoid(z) - t;
  return std::max(z, 0.0f) - t * z + std::log1p(std::exp(-std::abs(z)));
}

// The loss of a block of n rows of logits (row stride k_all, or `stride`: see softmax_rows), each
// turned into dL/do in place; each(loss) sees each row's loss.
template <class Label, class EachRow = NoEachRow>
PassStats block_loss(Output output, float* o, std::size_t n, std::size_t k_all, Label y,
                     std::size_t stride = 0, EachRow each = {}) {
  if (stride == 0) stride = k_all;
  if (output != Output::logistic) return softmax_rows(o, n, k_all, y, stride, each);
  PassStats s;
  s.rows = n;
  for (std::size_t r = 0; r < n; ++r) {
    bool ok = false;
    const float loss = logistic_loss(o + r * stride, y(r), &ok);
    s.loss_sum += loss;
    each(loss);
    s.correct += ok;
  }
  return s;
}

// The predicted class from the logits.
inline std::int32_t predicted_class(Output output, const float* o, std::size_t k_all) {
  if (output == Output::logistic) return o[0] > 0.0f ? 1 : 0;
  return static_cast<std::int32_t>(argmax(std::span<const float>(o, k_all)));
}

}  // namespace softreg::detail
