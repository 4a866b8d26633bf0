// The thread pool: the tasks of a job are handed to whichever of the pool's threads is running,
// so that no job waits for a thread that has not started (the operating system may not run it
// for milliseconds when other processes want the cores).
//
// A job is `tasks` fixed tasks, numbered. Each thread m of the pool has a share of them, the m-th
// of size() contiguous runs, and takes its own share first, in order: while every thread runs,
// thread m does the same tasks job after job (what it wrote is in its core's cache the next
// time). A thread whose share is done helps with the others' remaining tasks, so a thread that
// wakes late finds its share taken and delays nobody; the caller waits only for tasks that some
// running thread has claimed. What a task computes must not depend on which thread runs it:
// callers cut their work into tasks that depend on the data only and combine the tasks' results
// in task order, and so get the same bits for every thread count.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace softreg {

class ThreadPool {
 public:
  /// The most threads a pool may have.
  static constexpr unsigned kMaxThreads = 256;

  /// threads = 0: one per hardware thread (at most kMaxThreads). Throws std::invalid_argument
  /// for more than kMaxThreads, std::system_error when a thread cannot be started (the threads
  /// started are stopped first).
  explicit ThreadPool(unsigned threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// The threads that may run a job's tasks, the calling thread included.
  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /// Calls task(t) once for every t in [0, tasks) and returns when all have returned. The calling
  /// thread works too. An exception thrown by a task is rethrown here once every claimed task
  /// has ended (the remaining tasks are then skipped). Called from inside a task of this pool, or
  /// while another thread runs a job on it, the tasks run in order on the calling thread.
  void run(std::size_t tasks, const std::function<void(std::size_t)>& task);

 private:
  // One share's claim word: the job's number (24 bits), the share's next task and its end
  // (20 bits each). Claiming is a compare-and-swap of the whole word, so a thread that read an
  // earlier job's number cannot claim a task of a later job.
  struct alignas(64) Share {
    std::atomic<std::uint64_t> word{0};
  };
  static constexpr std::size_t kTaskBits = 20;
  static constexpr std::size_t kMaxTasks = (std::size_t{1} << kTaskBits) - 1;

  void run_job(std::size_t first, std::size_t tasks, const std::function<void(std::size_t)>& task);
  // Claims and runs tasks of job `job`, share `home` first; returns when none is left to claim.
  void take_tasks(std::uint32_t job, std::size_t home);
  void worker_loop(std::size_t member);
  void stop();  // ends and joins the workers

  std::vector<std::thread> workers_;
  std::vector<Share> shares_;                               // one per thread
  const std::function<void(std::size_t)>* task_ = nullptr;  // the job's, read after a claim
  std::size_t first_ = 0;                                   // added to the task's number
  std::uint32_t tasks_ = 0;                                 // the job's tasks
  std::mutex running_;                                      // held by the thread running a job
  std::exception_ptr error_;                                // the first task's exception
  std::atomic<bool> failed_{false};
  std::atomic<bool> stop_{false};
  std::uint32_t jobs_ = 0;                              // jobs started (the caller's count)
  alignas(64) std::atomic<std::uint32_t> done_{0};      // tasks of the job that have ended
  alignas(64) std::atomic<std::uint32_t> doorbell_{0};  // the last job started, for the workers
};

}  // namespace softreg
