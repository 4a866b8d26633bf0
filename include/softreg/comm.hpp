// The processes of a data-parallel run (issue 22) as the objective and the loaders see them:
// their number, this one's rank, an all-gather in rank order (of doubles or of bytes) and
// messages from one process to another. serial_comm() is the run of one process; mpi_world()
// the processes mpirun started (when softreg is built with MPI); tests use a group of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "softreg/error.hpp"

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
  /// The same for bytes.
  virtual void allgather_bytes(std::span<const std::uint8_t> mine,
                               std::span<const std::size_t> counts,
                               std::span<std::uint8_t> all) const = 0;
  /// `data` to process `to`, which takes it with receive(rank(), ...) of the same size; the
  /// messages from one process to another arrive in the order they were sent.
  virtual void send(int to, std::span<const double> data) const = 0;
  virtual void receive(int from, std::span<double> data) const = 0;
};

/// A run of one process: allgather copies `mine`.
const Comm& serial_comm();

/// One value from every process, in rank order.
std::vector<double> allgather_values(const Comm& comm, double mine);
/// One string from every process, in rank order.
std::vector<std::string> allgather_strings(const Comm& comm, std::string_view mine);

/// An InputError that every process of a run throws at once (agree_on_errors): they can all
/// end together, and one of them reports it.
class AgreedError : public InputError {
 public:
  using InputError::InputError;
};

/// Every process calls it with its error, or an empty string when it has none. When any process
/// has one, every process throws the same AgreedError: "process R: ERROR" for the lowest such
/// rank R (so that one message ends the whole job, whichever process saw the bad input).
void agree_on_errors(const Comm& comm, const std::string& error);

/// True when softreg was built with MPI (-DSOFTREG_MPI=ON, Open MPI found).
bool mpi_built();
/// The processes mpirun started, or null when this process was not started by mpirun (or
/// softreg was built without MPI): then nothing of MPI is touched. The first call initialises MPI
/// (threads: only the calling thread talks to MPI); call mpi_finalize() before exiting.
const Comm* mpi_world(int* argc, char*** argv);
void mpi_finalize();

}  // namespace softreg
