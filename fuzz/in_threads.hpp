// The readers that take a Comm, fuzzed with threads standing in for the processes: the tests'
// group (tests/util/thread_comm.hpp), which refuses a use of the Comm no MPI run could survive
// (counts that do not fit, a message of another size) with std::logic_error, a finding here.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "softreg/comm.hpp"
#include "softreg/error.hpp"
#include "thread_comm.hpp"

namespace softreg::fuzz {

/// What the members' bodies did: how many threw softreg::InputError, and the first such message
/// in rank order.
struct Outcome {
  int refused = 0;
  std::string error;
};

/// Runs body(comm) on `procs` threads at once, each with the Comm of its rank. A member that
/// stays blocked in a collective (another left early) is a hang: libFuzzer reports a timeout.
inline Outcome in_threads(int procs, const std::function<void(const Comm&)>& body) {
  std::vector<std::string> errors(static_cast<std::size_t>(procs));
  std::vector<char> refused(static_cast<std::size_t>(procs), 0);
  test::ThreadGroup(procs).run([&](const Comm& comm) {
    const auto r = static_cast<std::size_t>(comm.rank());
    try {
      body(comm);
    } catch (const InputError& e) {
      refused[r] = 1;
      errors[r] = e.what();
    }
  });
  Outcome out;
  for (std::size_t r = 0; r < refused.size(); ++r)
    if (refused[r] != 0) {
      if (out.refused == 0) out.error = errors[r];
      ++out.refused;
    }
  return out;
}

}  // namespace softreg::fuzz
