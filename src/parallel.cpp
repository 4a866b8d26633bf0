#include "softreg/parallel.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "spin.hpp"

namespace softreg {

namespace {

// The pool whose task the current thread is running (its workers always; a caller during a job).
thread_local const ThreadPool* tl_pool = nullptr;

constexpr std::uint64_t kJobMask = (std::uint64_t{1} << 24) - 1;

std::uint64_t pack(std::uint64_t job, std::uint64_t next, std::uint64_t end) {
  return (job & kJobMask) << 40 | next << 20 | end;
}

}  // namespace

ThreadPool::ThreadPool(unsigned threads) {
  if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, kMaxThreads);
  if (threads > kMaxThreads)
    throw std::invalid_argument("ThreadPool: " + std::to_string(threads) + " threads, at most " +
                                std::to_string(kMaxThreads));
  shares_ = std::vector<Share>(threads);
  workers_.reserve(threads - 1);
  try {
    for (unsigned t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
  } catch (...) {
    stop();  // the threads started so far
    throw;
  }
}

ThreadPool::~ThreadPool() {
  stop();
}

void ThreadPool::stop() {
  stop_.store(true, std::memory_order_relaxed);
  doorbell_.fetch_add(1, std::memory_order_release);
  doorbell_.notify_all();
  for (auto& w : workers_)
    if (w.joinable()) w.join();
}

void ThreadPool::worker_loop(std::size_t member) {
  tl_pool = this;
  std::uint32_t seen = 0;
  for (;;) {
    seen = detail::spin_until(doorbell_, [seen](std::uint32_t d) { return d != seen; });
    if (stop_.load(std::memory_order_relaxed)) return;
    take_tasks(seen, member);
  }
}

void ThreadPool::take_tasks(std::uint32_t job, std::size_t home) {
  const std::size_t threads = shares_.size();
  const std::uint64_t job_bits = job & kJobMask;
  for (std::size_t k = 0; k < threads; ++k) {
    std::atomic<std::uint64_t>& word = shares_[(home + k) % threads].word;
    std::uint64_t w = word.load(std::memory_order_acquire);
    for (;;) {
      if ((w >> 40) != job_bits) return;  // that job has ended: nothing of it is left
      const std::uint64_t next = (w >> 20) & kMaxTasks, end = w & kMaxTasks;
      if (next >= end) break;  // this share is taken: help with the next one
      if (!word.compare_exchange_weak(w, w + (std::uint64_t{1} << 20), std::memory_order_acq_rel,
                                      std::memory_order_acquire))
        continue;
      // Claimed: the job cannot end before this task does, so its fields are still the job's.
      const std::uint32_t tasks = tasks_;
      if (!failed_.load(std::memory_order_relaxed)) {
        try {
          (*task_)(first_ + next);
        } catch (...) {
          if (!failed_.exchange(true, std::memory_order_relaxed)) error_ = std::current_exception();
        }
      }
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == tasks) done_.notify_all();
      w = word.load(std::memory_order_acquire);
    }
  }
}

void ThreadPool::run(std::size_t tasks, const std::function<void(std::size_t)>& task) {
  std::unique_lock lock(running_, std::defer_lock);
  if (workers_.empty() || tasks <= 1 || tl_pool == this || !lock.try_lock()) {
    for (std::size_t t = 0; t < tasks; ++t) task(t);
    return;
  }
  struct Mark {  // what tl_pool was, put back however run() ends
    const ThreadPool* before = tl_pool;
    ~Mark() { tl_pool = before; }
  } mark;
  tl_pool = this;
  for (std::size_t first = 0; first < tasks; first += kMaxTasks)
    run_job(first, std::min(kMaxTasks, tasks - first), task);
}

void ThreadPool::run_job(std::size_t first, std::size_t tasks,
                         const std::function<void(std::size_t)>& task) {
  task_ = &task;
  first_ = first;
  tasks_ = static_cast<std::uint32_t>(tasks);
  error_ = nullptr;
  failed_.store(false, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  const std::uint32_t job = ++jobs_;
  const std::size_t threads = shares_.size();
  for (std::size_t s = 0; s < threads; ++s)
    shares_[s].word.store(pack(job, s * tasks / threads, (s + 1) * tasks / threads),
                          std::memory_order_release);
  doorbell_.store(job, std::memory_order_release);
  doorbell_.notify_all();
  take_tasks(job, 0);
  const auto n = static_cast<std::uint32_t>(tasks);
  detail::spin_until(done_, [n](std::uint32_t d) { return d == n; });
  if (error_) std::rethrow_exception(error_);
}

}  // namespace softreg
