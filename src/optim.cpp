#include "softreg/optim.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace softreg {

std::size_t Sgd::add(std::span<float> parameter, bool decay) {
  parameters_.push_back(parameter);
  decay_.push_back(decay);
  if (options_.adagrad && options_.momentum != 0.0f)
    throw std::invalid_argument("Sgd: AdaGrad takes no momentum");
  velocity_.emplace_back(options_.momentum != 0.0f || options_.adagrad ? parameter.size() : 0,
                         0.0f);
  return parameters_.size() - 1;
}

void Sgd::set_state(std::size_t slot, std::span<const float> state) {
  AlignedFloats& v = velocity_.at(slot);
  if (state.size() != v.size())
    throw std::invalid_argument("Sgd::set_state: " + std::to_string(state.size()) +
                                " entries for a state of " + std::to_string(v.size()));
  std::copy(state.begin(), state.end(), v.begin());
}

void Sgd::step(std::size_t slot, std::span<const float> gradient) {
  step(slot, gradient, 0, parameters_.at(slot).size());
}

void Sgd::step(std::size_t slot, std::span<const float> gradient, std::size_t begin,
               std::size_t end) {
  std::span<float> p = parameters_.at(slot);
  if (gradient.size() != p.size())
    throw std::invalid_argument("Sgd::step: gradient has " + std::to_string(gradient.size()) +
                                " entries but the parameter has " + std::to_string(p.size()));
  if (begin > end || end > p.size())
    throw std::invalid_argument("Sgd::step: entries [" + std::to_string(begin) + ", " +
                                std::to_string(end) + ") are not inside the parameter's " +
                                std::to_string(p.size()));
  const float lr = options_.lr, mu = options_.momentum;
  const float wd = decay_[slot] ? options_.weight_decay : 0.0f;
  if (options_.adagrad) {
    AlignedFloats& g2 = velocity_[slot];
    const float eps = options_.eps;
    for (std::size_t i = begin; i < end; ++i) {
      const float d = gradient[i] + wd * p[i];
      g2[i] += d * d;
      p[i] -= lr * d / (std::sqrt(g2[i]) + eps);
    }
    return;
  }
  if (mu == 0.0f) {
    for (std::size_t i = begin; i < end; ++i) p[i] -= lr * (gradient[i] + wd * p[i]);
    return;
  }
  AlignedFloats& v = velocity_[slot];
  for (std::size_t i = begin; i < end; ++i) {
    v[i] = mu * v[i] + (gradient[i] + wd * p[i]);
    p[i] -= lr * v[i];
  }
}

}  // namespace softreg
