// The run's random numbers, written down so that one seed gives the same numbers with every
// compiler and standard library (std::normal_distribution's algorithm is unspecified).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace softreg {

/// xoshiro256** (Blackman and Vigna), seeded through splitmix64. Small, fast, and the same
/// sequence everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t next();
  /// Uniform integer in [0, n), without modulo bias (Lemire's multiply-and-reject). n > 0.
  std::uint64_t below(std::uint64_t n);
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform();
  /// Standard normal N(0, 1) by the Box-Muller transform; the second value of each pair is kept
  /// for the next call.
  double normal();

  /// Everything the generator remembers: xoshiro's four words, the kept normal value's bits and
  /// whether one is kept (a checkpoint stores it; docs/formats.md).
  using State = std::array<std::uint64_t, 6>;
  State state() const;
  /// The generator in `state`; std::invalid_argument when it is not one a generator can be in
  /// (xoshiro's words all 0, or the flag not 0 or 1).
  static Rng from_state(const State& state);

 private:
  Rng() = default;
  std::uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

/// Fisher-Yates shuffle driven by `rng`: the same seed gives the same permutation everywhere.
void shuffle(std::span<std::uint32_t> items, Rng& rng);

}  // namespace softreg
