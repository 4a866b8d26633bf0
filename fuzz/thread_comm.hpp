// Threads standing in for the processes of a data-parallel run, for the fuzz targets of the
// readers that take a Comm (fuzz_parts, fuzz_cache): the design of the tests' group
// (tests/util/thread_comm.hpp), header-only, its barrier a mutex and a condition variable. Each
// member's all-gathers wait for every member and copy every member's values in rank order; its
// messages go through a queue per pair of members.
// A use of the Comm that no MPI run could survive (counts that do not fit, a message of another
// size) ends the run as a broken property: it would be undefined behaviour under MPI.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fuzz.hpp"
#include "softreg/comm.hpp"
#include "softreg/error.hpp"

namespace softreg::fuzz {

class ThreadGroup {
 public:
  explicit ThreadGroup(int size) : size_(size), slots_(static_cast<std::size_t>(size)) {}
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;

  /// What the members' bodies did: how many threw softreg::InputError, and the first such
  /// message in rank order. Any other exception ends the run (std::terminate, from its thread).
  struct Outcome {
    int refused = 0;
    std::string error;
  };

  /// Runs body(comm) on `size` threads at once, each with the Comm of its rank; returns when all
  /// have. A member that stays blocked in a collective (because another member left early) is a
  /// hang, which libFuzzer reports as a timeout.
  Outcome run(const std::function<void(const Comm&)>& body) {
    const auto n = static_cast<std::size_t>(size_);
    std::vector<std::string> errors(n);
    std::vector<char> refused(n, 0);
    {
      std::vector<std::thread> threads;
      threads.reserve(n);
      for (int r = 0; r < size_; ++r)
        threads.emplace_back([this, r, &body, &errors, &refused] {
          const Member comm(*this, r);
          try {
            body(comm);
          } catch (const InputError& e) {
            refused[static_cast<std::size_t>(r)] = 1;
            errors[static_cast<std::size_t>(r)] = e.what();
          }
        });
      for (std::thread& t : threads) t.join();
    }
    Outcome out;
    for (std::size_t r = 0; r < n; ++r)
      if (refused[r] != 0) {
        if (out.refused == 0) out.error = errors[r];
        ++out.refused;
      }
    return out;
  }

 private:
  class Member final : public Comm {
   public:
    Member(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return group_.size_; }
    void allgather(std::span<const double> mine, std::span<const std::size_t> counts,
                   std::span<double> all) const override {
      check_counts(mine.size(), counts, all.size());
      group_.gather(rank_, mine.data(), mine.size_bytes(), all.data(), all.size_bytes());
    }
    void allgather_bytes(std::span<const std::uint8_t> mine, std::span<const std::size_t> counts,
                         std::span<std::uint8_t> all) const override {
      check_counts(mine.size(), counts, all.size());
      group_.gather(rank_, mine.data(), mine.size_bytes(), all.data(), all.size_bytes());
    }
    void send(int to, std::span<const double> data) const override {
      check(to >= 0 && to < group_.size_ && to != rank_, "thread comm: send to no other member");
      {
        const std::lock_guard<std::mutex> lock(group_.mutex_);
        group_.messages_[{rank_, to}].emplace_back(data.begin(), data.end());
      }
      group_.arrived_.notify_all();
    }
    void receive(int from, std::span<double> data) const override {
      check(from >= 0 && from < group_.size_ && from != rank_,
            "thread comm: receive from no other member");
      std::unique_lock<std::mutex> lock(group_.mutex_);
      std::deque<std::vector<double>>& queue = group_.messages_[{from, rank_}];
      group_.arrived_.wait(lock, [&] { return !queue.empty(); });
      check(queue.front().size() == data.size(), "thread comm: a message of another size");
      std::copy(queue.front().begin(), queue.front().end(), data.begin());
      queue.pop_front();
    }

   private:
    void check_counts(std::size_t mine, std::span<const std::size_t> counts,
                      std::size_t all) const {
      std::size_t total = 0;
      for (const std::size_t c : counts) total += c;
      check(counts.size() == static_cast<std::size_t>(group_.size_) &&
                counts[static_cast<std::size_t>(rank_)] == mine && total == all,
            "thread comm: allgather counts do not fit");
    }
    ThreadGroup& group_;
    int rank_;
  };

  // Waits until every member has arrived (a barrier that can be used again and again).
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(barrier_mutex_);
    const std::uint64_t generation = generation_;
    if (++waiting_ == size_) {
      waiting_ = 0;
      ++generation_;
      all_arrived_.notify_all();
    } else {
      all_arrived_.wait(lock, [&] { return generation_ != generation; });
    }
  }

  // Every member's bytes into `all` (all_bytes long), in rank order.
  void gather(int rank, const void* mine, std::size_t bytes, void* all, std::size_t all_bytes) {
    slots_[static_cast<std::size_t>(rank)] = {mine, bytes};
    arrive_and_wait();
    std::size_t total = 0;
    for (const auto& slot : slots_) total += slot.second;
    // Checked before anything is copied, the same on every member: no member leaves between
    // the two barriers.
    check(total == all_bytes, "thread comm: the members' allgather counts disagree");
    std::size_t at = 0;
    for (const auto& [data, n] : slots_) {
      if (n != 0) std::memcpy(static_cast<std::uint8_t*>(all) + at, data, n);
      at += n;
    }
    arrive_and_wait();  // the slots stay valid until every member has copied
  }

  int size_;
  std::mutex barrier_mutex_;
  std::condition_variable all_arrived_;
  int waiting_ = 0;                                         // members at the barrier
  std::uint64_t generation_ = 0;                            // barriers passed
  std::vector<std::pair<const void*, std::size_t>> slots_;  // each member's bytes
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::map<std::pair<int, int>, std::deque<std::vector<double>>> messages_;  // (from, to)
};

}  // namespace softreg::fuzz
