// Minibatches: the order of the examples, reshuffled every epoch with the run's RNG, cut into
// batches; and the conversion of a batch's stored features to scaled floats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "softreg/data.hpp"
#include "softreg/ops.hpp"
#include "softreg/random.hpp"

namespace softreg {

/// A permutation of the rows of a data set, cut into batches of `batch_size` (the last batch
/// holds the remainder, so every example is used once per epoch).
class BatchOrder {
 public:
  BatchOrder(std::size_t rows, std::size_t batch_size);
  /// The order `order` (a checkpoint's): std::invalid_argument unless it is a permutation of
  /// 0 .. size - 1.
  BatchOrder(std::vector<std::uint32_t> order, std::size_t batch_size);
  /// An order of some rows of a larger set (`rows`, each once; not checked), which the shuffles
  /// permute as they permute 0 .. size - 1: batch b holds rows[p] for the positions p that
  /// BatchOrder(rows.size(), batch_size) puts there.
  static BatchOrder over(std::span<const std::uint32_t> rows, std::size_t batch_size);

  /// A new random order (the lesson's "shuffle=True", once per epoch).
  void shuffle(Rng& rng);
  std::size_t batches() const { return (order_.size() + batch_size_ - 1) / batch_size_; }
  std::size_t rows() const { return order_.size(); }
  /// The whole order: the rows of batch 0, then of batch 1, ...
  std::span<const std::uint32_t> order() const { return order_; }
  /// The row indices of batch b.
  std::span<const std::uint32_t> batch(std::size_t b) const;

 private:
  BatchOrder(std::size_t batch_size, std::span<const std::uint32_t> rows);
  std::vector<std::uint32_t> order_;
  std::size_t batch_size_;
};

/// The features of rows `index` of `data` as floats (bytes scaled by data.scale): a
/// |index| x inputs matrix. For the lesson's plain code and the tests; the training kernel reads
/// the bytes directly.
Matrix<float> gather_features(const Dataset& data, std::span<const std::uint32_t> index);

/// The labels of rows `index`.
std::vector<std::int32_t> gather_labels(const Dataset& data, std::span<const std::uint32_t> index);

}  // namespace softreg
