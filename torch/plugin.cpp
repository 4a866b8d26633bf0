#include "plugin.hpp"

#include "torch_backend.hpp"

extern "C" __attribute__((visibility("default"))) void softreg_torch_fit(
    softreg::SoftmaxRegression& model, const softreg::Dataset& train, const softreg::Dataset& test,
    softreg::Rng& rng, const softreg::TrainOptions& options,
    const softreg::TrainCallbacks& callbacks, std::vector<softreg::EpochMetrics>& history) {
  history = softreg::torch_backend::fit(model, train, test, rng, options, callbacks);
}

// The function pointer type the CLI casts the symbol to must match this definition.
static_assert(std::is_same_v<decltype(&softreg_torch_fit), softreg::torch_backend::FitFunction>);
