// The thread pool (parallel.hpp): every task once, exceptions, nesting, two callers; and the
// promise it exists for: no job waits for a thread that does not run. That is tested by freezing
// every other thread of the test process on purpose (a signal whose handler holds the thread
// until it is released: what the operating system does to a thread when other processes want the
// core), then running jobs and the dense and sparse SGD steps: they end, with the bits of one
// thread.
#include "softreg/parallel.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "softreg/kernel.hpp"
#include "softreg/optim.hpp"
#include "softreg/random.hpp"

namespace softreg {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskOnce) {
  for (unsigned threads : {1u, 2u, 4u, 7u}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (std::size_t tasks : {0u, 1u, 3u, 100u, 1000u}) {
      std::vector<std::atomic<int>> hits(tasks);
      for (int round = 0; round < 30; ++round)
        pool.run(tasks, [&](std::size_t t) { hits[t].fetch_add(1); });
      for (auto& h : hits) EXPECT_EQ(h.load(), 30) << threads << " threads, " << tasks << " tasks";
    }
  }
}

TEST(ThreadPoolTest, ATaskThatThrowsIsRethrownOnceAndThePoolGoesOn) {
  ThreadPool pool(3);
  std::atomic<int> ran{0};
  try {
    pool.run(50, [&](std::size_t t) {
      ran.fetch_add(1);
      if (t == 7) throw std::runtime_error("task 7");
    });
    ADD_FAILURE() << "the task's exception was lost";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "task 7");
  }
  EXPECT_GE(ran.load(), 1);
  std::vector<std::atomic<int>> hits(100);
  pool.run(hits.size(), [&](std::size_t t) { hits[t].fetch_add(1); });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPoolTest, ARunInsideATaskRunsOnItsThread) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> hits(12);
  pool.run(3, [&](std::size_t outer) {
    const auto id = std::this_thread::get_id();
    pool.run(4, [&](std::size_t inner) {
      EXPECT_EQ(std::this_thread::get_id(), id);
      hits[outer * 4 + inner].fetch_add(1);
    });
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPoolTest, TwoCallersAtOnceBothGetEveryTask) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> a(500), b(500);
  std::thread other([&] {
    for (int round = 0; round < 200; ++round) pool.run(b.size(), [&](std::size_t t) { ++b[t]; });
  });
  for (int round = 0; round < 200; ++round) pool.run(a.size(), [&](std::size_t t) { ++a[t]; });
  other.join();
  for (std::size_t t = 0; t < a.size(); ++t) {
    EXPECT_EQ(a[t].load(), 200);
    EXPECT_EQ(b[t].load(), 200);
  }
}

TEST(ThreadPoolTest, MoreThreadsThanTheLimitAreRefused) {
  try {
    ThreadPool pool(ThreadPool::kMaxThreads + 1);
    ADD_FAILURE() << "a pool of 257 threads was made";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "ThreadPool: 257 threads, at most 256");
  }
  ThreadPool all(0);
  EXPECT_GE(all.size(), 1u);
  EXPECT_LE(all.size(), ThreadPool::kMaxThreads);
}

// ------------------------------------------------------------------------------ frozen threads

std::atomic<int> g_frozen{0};
std::atomic<bool> g_release{false};

void hold_thread(int) {
  g_frozen.fetch_add(1);
  const timespec ms{0, 1000000};
  while (!g_release.load()) nanosleep(&ms, nullptr);
  g_frozen.fetch_sub(1);
}

// Holds every thread of this process but the calling one in a signal handler until the object
// is destroyed: threads that exist but do not run. (ThreadSanitizer delivers a signal to a thread
// only when it passes through one of its interceptors, which a thread asleep in the pool's futex
// wait does not: under it the tests that freeze threads are skipped.)
class FreezeOtherThreads {
 public:
  FreezeOtherThreads() {
    struct sigaction sa {};
    sa.sa_handler = hold_thread;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, &old_);
    g_release = false;
    const auto self = static_cast<pid_t>(syscall(SYS_gettid));
    int sent = 0;
    if (DIR* dir = opendir("/proc/self/task")) {
      while (const dirent* e = readdir(dir)) {
        const int tid = std::atoi(e->d_name);
        if (tid > 0 && tid != self && syscall(SYS_tgkill, getpid(), tid, SIGUSR2) == 0) ++sent;
      }
      closedir(dir);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (g_frozen.load() < sent && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    frozen_ = g_frozen.load();
    expected_ = sent;
  }
  ~FreezeOtherThreads() {
    g_release = true;
    while (g_frozen.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    sigaction(SIGUSR2, &old_, nullptr);
  }
  int frozen() const { return frozen_; }
  int expected() const { return expected_; }

 private:
  struct sigaction old_ {};
  int frozen_ = 0, expected_ = 0;
};

#if defined(__SANITIZE_THREAD__)
#define SKIP_UNDER_TSAN() GTEST_SKIP() << "ThreadSanitizer defers the signal that freezes a thread"
#else
#define SKIP_UNDER_TSAN() (void)0
#endif

TEST(ThreadPoolTest, AJobDoesNotWaitForAThreadThatDoesNotRun) {
  SKIP_UNDER_TSAN();
  for (unsigned threads : {2u, 4u}) {
    ThreadPool pool(threads);
    pool.run(8, [](std::size_t) {});  // the workers have started and wait for work
    FreezeOtherThreads freeze;
    ASSERT_EQ(freeze.frozen(), freeze.expected());
    ASSERT_GE(freeze.frozen(), static_cast<int>(threads) - 1);
    // Every task runs on this thread; the pool never waits for the frozen ones.
    const auto self = std::this_thread::get_id();
    for (int round = 0; round < 1000; ++round) {
      std::size_t sum = 0;
      pool.run(16, [&](std::size_t t) {
        EXPECT_EQ(std::this_thread::get_id(), self);
        sum += t;
      });
      ASSERT_EQ(sum, 120u);
    }
  }
}

// Random data for the steps: bytes for the dense kernel, sparse rows of 58 classes (the Debian
// task's) for the sparse one.
struct StepData {
  std::size_t rows = 600, inputs = 300, classes = 58;
  std::vector<std::uint8_t> bytes;
  std::vector<std::int32_t> labels;
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::uint32_t> cols;
  std::vector<float> vals;
  StepData() {
    Rng rng(8);
    bytes.resize(rows * inputs);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng.below(256));
    for (std::size_t i = 0; i < rows; ++i) {
      labels.push_back(static_cast<std::int32_t>(rng.below(classes)));
      for (std::size_t j = 0; j < inputs; ++j)
        if (rng.uniform() < 0.1) {
          cols.push_back(static_cast<std::uint32_t>(j));
          vals.push_back(static_cast<float>(rng.normal()));
        }
      offsets.push_back(cols.size());
    }
  }
  Features dense() const { return Features{bytes.data(), nullptr, inputs, 1.0f / 255}; }
  Features sparse() const {
    Features f;
    f.inputs = inputs;
    f.offsets = offsets.data();
    f.cols = cols.data();
    f.vals = vals.data();
    return f;
  }
};

// Ten dense steps of 300 rows (3 chunks) and ten sparse steps of 64 rows, with momentum: the
// weights after them.
std::vector<float> train_steps(const StepData& data, ThreadPool& pool) {
  Rng rng(4);
  SoftmaxRegression dense(data.inputs, data.classes);
  dense.init(rng, 0.05f);
  SoftmaxRegression sparse_model = dense;
  SoftmaxKernel kernel(data.inputs, data.classes, 300);
  Gradients grad;
  Sgd sgd(SgdOptions{0.1f, 0.9f, 0.0f});
  const std::size_t w_slot = sgd.add(dense.weight()), b_slot = sgd.add(dense.bias(), false);
  SparseSgd sparse(sparse_model, SgdOptions{0.1f, 0.9f, 0.001f}, &pool);
  sparse.set_shared_entries(0);  // every step shared with the pool, however small
  std::vector<std::uint32_t> batch(300);
  for (std::uint32_t s = 0; s < 10; ++s) {
    for (std::uint32_t i = 0; i < 300; ++i) batch[i] = (s * 37 + i * 7) % 600;
    kernel.step(dense, data.dense(), data.labels, batch, grad, pool,
                [&](std::size_t i0, std::size_t i1) { sgd.step(w_slot, grad.weight, i0, i1); });
    sgd.step(b_slot, grad.bias);
    sparse.step(data.sparse(), data.labels, std::span(batch).first(64));
  }
  sparse.write_to(sparse_model);
  std::vector<float> out(dense.weight().begin(), dense.weight().end());
  out.insert(out.end(), dense.bias().begin(), dense.bias().end());
  out.insert(out.end(), sparse_model.weight().begin(), sparse_model.weight().end());
  out.insert(out.end(), sparse_model.bias().begin(), sparse_model.bias().end());
  return out;
}

TEST(ThreadPoolTest, DenseAndSparseStepsEndWithOneThreadsBitsWhileTheOthersAreFrozen) {
  const StepData data;
  ThreadPool one(1);
  const std::vector<float> want = train_steps(data, one);
  for (unsigned threads : {2u, 3u}) {
    ThreadPool pool(threads);
    EXPECT_EQ(train_steps(data, pool), want) << threads << " threads, all running";
#if !defined(__SANITIZE_THREAD__)
    FreezeOtherThreads freeze;
    ASSERT_EQ(freeze.frozen(), freeze.expected());
    EXPECT_EQ(train_steps(data, pool), want) << threads << " threads, all but this one frozen";
#endif
  }
}

}  // namespace
}  // namespace softreg
