// The processes of a data-parallel run as the objective sees them (issue 22): their number, this
// one's rank, and the one collective it needs, an all-gather in rank order. serial_comm() is the
// run of one process; MPI's world will be another, and tests use a group of threads.
#pragma once

#include <cstddef>
#include <span>

namespace softreg {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Every process's `mine` concatenated in rank order into `all`: process r gives counts[r]
  /// values (counts has size() entries, the same on every process) and all holds their sum.
  /// Every process must call it, in the same order.
  virtual void allgather(std::span<const double> mine, std::span<const std::size_t> counts,
                         std::span<double> all) const = 0;
};

/// A run of one process: allgather copies `mine`.
const Comm& serial_comm();

}  // namespace softreg
