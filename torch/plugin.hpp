// The entry point of the LibTorch plugin (libsoftreg_torch_plugin.so), looked up by name with
// dlsym. Same compiler, same library: C++ types cross the boundary as they are, and so do
// exceptions (DivergenceError, InputError).
#pragma once

#include <vector>

#include "softreg/data.hpp"
#include "softreg/model.hpp"
#include "softreg/random.hpp"
#include "softreg/train.hpp"

#define SOFTREG_TORCH_FIT_SYMBOL "softreg_torch_fit"

namespace softreg::torch_backend {

/// Calls torch_backend::fit and stores its result in `history`.
using FitFunction = void (*)(SoftmaxRegression& model, const Dataset& train, const Dataset& test,
                             Rng& rng, const TrainOptions& options, const TrainCallbacks& callbacks,
                             std::vector<EpochMetrics>& history);

}  // namespace softreg::torch_backend
