// A group of threads standing in for the processes of a data-parallel run (issue 22): each
// member is a Comm whose all-gathers wait for every member and copy every member's values in
// rank order, and whose messages go through a queue per pair of members.
#pragma once

#include <barrier>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "softreg/comm.hpp"

namespace softreg::test {

class ThreadGroup {
 public:
  explicit ThreadGroup(int size);
  /// Runs body(comm) on `size` threads at once, each with the Comm of its rank; returns when
  /// all have. An exception in a body is rethrown here (the first rank's).
  void run(const std::function<void(const Comm&)>& body);

 private:
  class Member;
  template <typename T>
  void gather(int rank, std::span<const T> mine, std::span<T> all);
  int size_;
  std::barrier<> barrier_;
  std::vector<std::pair<const void*, std::size_t>> slots_;  // each member's bytes
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::map<std::pair<int, int>, std::deque<std::vector<double>>> messages_;  // (from, to)
};

}  // namespace softreg::test
