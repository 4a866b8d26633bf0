// Waiting on another thread without a system call for the short waits between and inside jobs
// of the thread pool (parallel.cpp): spin a little, then sleep on the atomic.
#pragma once

#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace softreg::detail {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// How long a thread spins before it sleeps: long enough to cover the serial work between two
// jobs of one batch (a few microseconds), short enough not to burn a core that another thread
// could use when there are more threads than cores.
constexpr int kSpins = 4000;

// Loads `a` until done(its value) holds, spinning a little, then sleeping on it; returns the value
// that ended the wait.
template <class T, class Done>
T spin_until(const std::atomic<T>& a, Done done) {
  T now;
  for (int i = 0; !done(now = a.load(std::memory_order_acquire)); ++i) {
    if (i < kSpins)
      cpu_relax();
    else
      a.wait(now, std::memory_order_acquire);
  }
  return now;
}

}  // namespace softreg::detail
