#include "softreg/comm.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "softreg/error.hpp"

#ifdef SOFTREG_WITH_MPI
#include <mpi.h>
#endif

namespace softreg {

namespace {

class Serial final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allgather(std::span<const double> mine, std::span<const std::size_t> counts,
                 std::span<double> all) const override {
    if (counts.size() != 1 || counts[0] != mine.size() || all.size() != mine.size())
      throw std::invalid_argument("allgather: counts do not fit");
    std::copy(mine.begin(), mine.end(), all.begin());
  }
  void allgather_bytes(std::span<const std::uint8_t> mine, std::span<const std::size_t> counts,
                       std::span<std::uint8_t> all) const override {
    if (counts.size() != 1 || counts[0] != mine.size() || all.size() != mine.size())
      throw std::invalid_argument("allgather_bytes: counts do not fit");
    std::copy(mine.begin(), mine.end(), all.begin());
  }
  void send(int, std::span<const double>) const override {
    throw std::logic_error("send: a run of one process has no other");
  }
  void receive(int, std::span<double>) const override {
    throw std::logic_error("receive: a run of one process has no other");
  }
};

}  // namespace

const Comm& serial_comm() {
  static const Serial serial;
  return serial;
}

std::vector<double> allgather_values(const Comm& comm, double mine) {
  const std::vector<std::size_t> counts(static_cast<std::size_t>(comm.size()), 1);
  std::vector<double> all(counts.size());
  comm.allgather(std::span(&mine, 1), counts, all);
  return all;
}

std::vector<std::string> allgather_strings(const Comm& comm, std::string_view mine) {
  const std::vector<double> sizes = allgather_values(comm, static_cast<double>(mine.size()));
  std::vector<std::size_t> counts(sizes.size());
  std::size_t total = 0;
  for (std::size_t r = 0; r < sizes.size(); ++r)
    total += counts[r] = static_cast<std::size_t>(sizes[r]);
  std::vector<std::uint8_t> all(total);
  comm.allgather_bytes(std::span(reinterpret_cast<const std::uint8_t*>(mine.data()), mine.size()),
                       counts, all);
  std::vector<std::string> out;
  std::size_t at = 0;
  for (const std::size_t n : counts) {
    out.emplace_back(reinterpret_cast<const char*>(all.data()) + at, n);
    at += n;
  }
  return out;
}

void agree_on_errors(const Comm& comm, const std::string& error) {
  if (comm.size() == 1) {
    if (!error.empty()) throw InputError(error);
    return;
  }
  const std::vector<std::string> errors = allgather_strings(comm, error);
  for (std::size_t r = 0; r < errors.size(); ++r)
    if (!errors[r].empty()) throw AgreedError("process " + std::to_string(r) + ": " + errors[r]);
}

#ifdef SOFTREG_WITH_MPI

namespace {

// MPI's counts are ints: a message is sent in pieces of at most this many elements.
constexpr std::size_t kMaxPiece = std::size_t{1} << 28;

int as_count(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw Error(std::string(what) + ": more than 2^31 elements in one collective");
  return static_cast<int>(n);
}

class MpiWorld final : public Comm {
 public:
  MpiWorld() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allgather(std::span<const double> mine, std::span<const std::size_t> counts,
                 std::span<double> all) const override {
    gather(mine.data(), mine.size(), counts, all.data(), all.size(), MPI_DOUBLE);
  }
  void allgather_bytes(std::span<const std::uint8_t> mine, std::span<const std::size_t> counts,
                       std::span<std::uint8_t> all) const override {
    gather(mine.data(), mine.size(), counts, all.data(), all.size(), MPI_BYTE);
  }
  // Zero or more pieces; an empty message is one empty piece, so that sends and receives pair.
  void send(int to, std::span<const double> data) const override {
    std::size_t at = 0;
    do {
      const std::size_t n = std::min(kMaxPiece, data.size() - at);
      MPI_Send(data.data() + at, static_cast<int>(n), MPI_DOUBLE, to, 0, MPI_COMM_WORLD);
      at += n;
    } while (at < data.size());
  }
  void receive(int from, std::span<double> data) const override {
    std::size_t at = 0;
    do {
      const std::size_t n = std::min(kMaxPiece, data.size() - at);
      MPI_Recv(data.data() + at, static_cast<int>(n), MPI_DOUBLE, from, 0, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      at += n;
    } while (at < data.size());
  }

 private:
  void gather(const void* mine, std::size_t n, std::span<const std::size_t> counts, void* all,
              std::size_t total, MPI_Datatype type) const {
    if (counts.size() != static_cast<std::size_t>(size_) ||
        counts[static_cast<std::size_t>(rank_)] != n)
      throw std::invalid_argument("allgather: counts do not fit");
    std::vector<int> c(counts.size()), at(counts.size());
    std::size_t sum = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      c[r] = as_count(counts[r], "allgather");
      at[r] = as_count(sum, "allgather");
      sum += counts[r];
    }
    if (sum != total) throw std::invalid_argument("allgather: counts do not fit");
    as_count(sum, "allgather");
    MPI_Allgatherv(mine, c[static_cast<std::size_t>(rank_)], type, all, c.data(), at.data(), type,
                   MPI_COMM_WORLD);
  }
  int rank_ = 0, size_ = 1;
};

std::unique_ptr<MpiWorld> world;

// Whether a launcher (Open MPI's mpirun, or a PMI one) started this process.
bool launched_by_mpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

}  // namespace

bool mpi_built() {
  return true;
}

const Comm* mpi_world(int* argc, char*** argv) {
  if (world) return world.get();
  if (!launched_by_mpirun()) return nullptr;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  // An error inside MPI (a peer gone) returns to mpirun, which ends the job, instead of hanging.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
  world = std::make_unique<MpiWorld>();
  return world.get();
}

void mpi_finalize() {
  if (!world) return;
  world.reset();
  MPI_Finalize();
}

#else

bool mpi_built() {
  return false;
}
const Comm* mpi_world(int*, char***) {
  return nullptr;
}
void mpi_finalize() {}

#endif

}  // namespace softreg
