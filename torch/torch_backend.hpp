// The concise implementation: the lesson's second half, on LibTorch (PyTorch's C++ frontend).
// `softreg train --backend torch` runs it. It trains the same model as softreg's own engine,
// from the same initial W and b and on the same batches (softreg's seeded shuffler), so the two
// can be compared number by number (torch/parity_test.cpp).
#pragma once

#include <vector>

#include "softreg/data.hpp"
#include "softreg/model.hpp"
#include "softreg/random.hpp"
#include "softreg/train.hpp"

namespace softreg::torch_backend {

/// Trains `model` with torch::nn::Sequential(Flatten, Linear), torch's cross-entropy and
/// torch::optim::SGD; starts from the model's W and b and writes the trained ones back. Same
/// contract as Trainer::fit: rng decides the batch order, callbacks see every epoch and batch,
/// DivergenceError when the loss stops being finite.
std::vector<EpochMetrics> fit(SoftmaxRegression& model, const Dataset& train, const Dataset& test,
                              Rng& rng, const TrainOptions& options,
                              const TrainCallbacks& callbacks = {});

}  // namespace softreg::torch_backend
