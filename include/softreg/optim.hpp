// Optimizers. They see parameters and gradients, nothing else: they know nothing of softmax.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "softreg/ops.hpp"

namespace softreg {

/// Options of stochastic gradient descent, with PyTorch's meaning:
///   d = g + weight_decay * p      (for parameters added with decay; the trainer adds W so and
///                                  b without, as the objective penalises W only)
///   v = momentum * v + d          (v starts at 0, so the first v is d)
///   p = p - lr * v                (with momentum 0: p = p - lr * d)
///
/// With `adagrad`, per-coordinate AdaGrad instead (PyTorch's torch.optim.Adagrad with its
/// defaults, no momentum):
///   d = g + weight_decay * p      G = G + d²  (G starts at 0)      p = p - lr * d / (√G + eps)
struct SgdOptions {
  float lr = 0.1f;
  float momentum = 0.0f;
  float weight_decay = 0.0f;
  bool adagrad = false;
  float eps = 1e-10f;  // AdaGrad's
};

class Sgd {
 public:
  explicit Sgd(SgdOptions options) : options_(options) {}

  /// Registers a parameter tensor and returns its slot; its momentum buffer lives here.
  /// `decay`: whether weight_decay applies to it.
  std::size_t add(std::span<float> parameter, bool decay = true);
  /// One step on the parameter of `slot` with its gradient (same length as the parameter).
  void step(std::size_t slot, std::span<const float> gradient);
  /// The same step on entries [begin, end) only. Steps on disjoint ranges of a parameter may run
  /// at the same time on different threads; together they equal one whole step.
  void step(std::size_t slot, std::span<const float> gradient, std::size_t begin, std::size_t end);

  /// The per-entry state of the parameter of `slot`: momentum's v or AdaGrad's G (empty with
  /// neither), to save in a checkpoint; set_state puts a saved one back (same size).
  std::span<const float> state(std::size_t slot) const { return velocity_.at(slot); }
  void set_state(std::size_t slot, std::span<const float> state);

  const SgdOptions& options() const { return options_; }
  void set_lr(float lr) { options_.lr = lr; }

 private:
  SgdOptions options_;
  std::vector<std::span<float>> parameters_;
  std::vector<AlignedFloats> velocity_;  // momentum's v, or AdaGrad's G
  std::vector<bool> decay_;
};

}  // namespace softreg
