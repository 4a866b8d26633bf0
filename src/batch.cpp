#include "softreg/batch.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace softreg {

BatchOrder::BatchOrder(std::size_t rows, std::size_t batch_size)
    : order_(rows), batch_size_(batch_size) {
  if (batch_size == 0) throw std::invalid_argument("batch size must be at least 1");
  std::iota(order_.begin(), order_.end(), std::uint32_t{0});
}

BatchOrder::BatchOrder(std::vector<std::uint32_t> order, std::size_t batch_size)
    : order_(std::move(order)), batch_size_(batch_size) {
  if (batch_size == 0) throw std::invalid_argument("batch size must be at least 1");
  std::vector<bool> seen(order_.size(), false);
  for (const std::uint32_t i : order_) {
    if (i >= seen.size() || seen[i])
      throw std::invalid_argument("BatchOrder: not a permutation of the rows");
    seen[i] = true;
  }
}

BatchOrder::BatchOrder(std::size_t batch_size, std::span<const std::uint32_t> rows)
    : order_(rows.begin(), rows.end()), batch_size_(batch_size) {
  if (batch_size == 0) throw std::invalid_argument("batch size must be at least 1");
}

BatchOrder BatchOrder::over(std::span<const std::uint32_t> rows, std::size_t batch_size) {
  return BatchOrder(batch_size, rows);
}

void BatchOrder::shuffle(Rng& rng) {
  softreg::shuffle(order_, rng);
}

std::span<const std::uint32_t> BatchOrder::batch(std::size_t b) const {
  const std::size_t begin = b * batch_size_;
  const std::size_t end = std::min(begin + batch_size_, order_.size());
  return std::span<const std::uint32_t>(order_).subspan(begin, end - begin);
}

Matrix<float> gather_features(const Dataset& data, std::span<const std::uint32_t> index) {
  Matrix<float> x(index.size(), data.inputs);
  if (data.is_sparse()) {  // the zeros written out, for the few rows of a batch
    const SparseRows& s = data.sparse;
    for (std::size_t r = 0; r < index.size(); ++r)
      for (std::size_t k = s.offsets[index[r]]; k < s.offsets[index[r] + 1]; ++k)
        x(r, s.cols[k]) = (s.vals.empty() ? 1.0f : s.vals[k]) * data.scale;
    return x;
  }
  for (std::size_t r = 0; r < index.size(); ++r) {
    const std::size_t offset = static_cast<std::size_t>(index[r]) * data.inputs;
    for (std::size_t j = 0; j < data.inputs; ++j)
      x(r, j) = (data.is_bytes() ? static_cast<float>(data.pixels[offset + j])
                                 : data.values[offset + j]) *
                data.scale;
  }
  return x;
}

std::vector<std::int32_t> gather_labels(const Dataset& data, std::span<const std::uint32_t> index) {
  std::vector<std::int32_t> y(index.size());
  for (std::size_t r = 0; r < index.size(); ++r) y[r] = data.labels[index[r]];
  return y;
}

}  // namespace softreg
