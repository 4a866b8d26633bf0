// Microbenchmarks of the hot loop: the fused training step and evaluation, on Fashion-MNIST's
// shapes (batch 256, 784 inputs, 10 classes) with random bytes, reported in GFLOP/s.
// Also the machine's float32 FMA peak on one core, the yardstick of docs/performance.md.
//
//   build/release/bench/softreg_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <libdeflate.h>
#include <zlib.h>

#if defined(__SSE__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <span>
#include <thread>
#include <vector>

#include "softreg/data.hpp"
#include "softreg/kernel.hpp"
#include "softreg/model.hpp"
#include "softreg/optim.hpp"
#include "softreg/random.hpp"

namespace {

using namespace softreg;

constexpr std::size_t kInputs = 784, kClasses = 10, kRows = 60000;

struct Data {
  std::vector<std::uint8_t> pixels;
  std::vector<std::int32_t> labels;
  Data(std::size_t rows) : pixels(rows * kInputs), labels(rows) {
    Rng rng(1);
    for (auto& p : pixels) p = static_cast<std::uint8_t>(rng.below(256));
    for (auto& y : labels) y = static_cast<std::int32_t>(rng.below(kClasses));
  }
  Features features() const { return Features{pixels.data(), nullptr, kInputs, 1.0f / 255}; }
};

const Data& data() {
  static const Data d(kRows);
  return d;
}

constexpr std::size_t kBatch = 256;

// A model being trained as the trainer does it: the kernel's fused step (forward,
// softmax-cross-entropy, gradient) with W's SGD step block by block inside it, then b's.
struct Trainee {
  const Features x = data().features();  // made here, so that no timed step makes the data
  SoftmaxRegression model{kInputs, kClasses};
  SoftmaxKernel kernel;
  Gradients grad;
  Sgd sgd{SgdOptions{.lr = 0.01f}};
  std::size_t w_slot, b_slot;
  SoftmaxKernel::WeightBlockFn update;

  explicit Trainee(std::size_t max_batch) : kernel(kInputs, kClasses, max_batch) {
    Rng rng(2);
    model.init(rng);
    w_slot = sgd.add(model.weight());
    b_slot = sgd.add(model.bias());
    update = [this](std::size_t begin, std::size_t end) {
      sgd.step(w_slot, grad.weight, begin, end);
    };
  }
  Trainee(const Trainee&) = delete;
  Trainee& operator=(const Trainee&) = delete;

  void step(std::span<const std::uint32_t> rows, ThreadPool& pool) {
    auto s = kernel.step(model, x, data().labels, rows, grad, pool, update);
    sgd.step(b_slot, grad.bias);
    benchmark::DoNotOptimize(s);
  }
};

// GFLOP/s of steps on `rows` rows per iteration: 2 multiply-adds per weight per row, one
// forward, one for the gradient.
void count_step_flops(benchmark::State& state, std::size_t rows) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 4.0 * static_cast<double>(rows) *
                             kInputs * kClasses,
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

// Steps as the trainer runs them, each on the batch of kBatch rows that next_batch() returns.
template <class NextBatch>
void run_steps(benchmark::State& state, NextBatch&& next_batch) {
  ThreadPool pool(static_cast<unsigned>(state.range(0)));
  Trainee trainee(kBatch);
  for (auto _ : state) trainee.step(next_batch(), pool);
  count_step_flops(state, kBatch);
}

// The step on one batch of 256 random rows, again and again: its rows stay in the caches.
void BM_Step(benchmark::State& state) {
  Rng rng(5);
  std::vector<std::uint32_t> rows(kBatch);
  for (auto& r : rows) r = static_cast<std::uint32_t>(rng.below(kRows));
  run_steps(state, [&] { return std::span<const std::uint32_t>(rows); });
}
BENCHMARK(BM_Step)->Arg(1)->Arg(2)->UseRealTime();

// The step as training runs it: each iteration takes the next batch of a shuffled order of all
// 60000 rows, so the rows come from memory (47 MB) rather than from the caches as in BM_Step.
const std::vector<std::uint32_t>& shuffled_order() {
  static const std::vector<std::uint32_t> order = [] {
    std::vector<std::uint32_t> o(kRows);
    std::iota(o.begin(), o.end(), 0u);
    Rng rng(4);
    shuffle(o, rng);
    return o;
  }();
  return order;
}

// The i-th batch of kBatch rows of the shuffled order, round and round.
std::span<const std::uint32_t> shuffled_batch(std::size_t i) {
  return std::span<const std::uint32_t>(shuffled_order())
      .subspan(i % (kRows / kBatch) * kBatch, kBatch);
}

void BM_StepShuffled(benchmark::State& state) {
  std::size_t i = 0;
  run_steps(state, [&] { return shuffled_batch(i++); });
}
BENCHMARK(BM_StepShuffled)->Arg(1)->Arg(2)->UseRealTime();

// The ceiling of two threads for this placement of the VM's vCPUs, on the batches of
// BM_StepShuffled. With argument 2, each of two threads runs a whole step of its own on half the
// batch (128 rows), with a model, kernel and optimizer of its own, so that nothing crosses between
// the cores except the start and the end of the job. Any split of the real step must also
// exchange gradients or weights, so with 2 threads it cannot be faster than this:
// BM_StepShuffled/1 divided by BM_StepCeiling/2 is the most two threads can gain at that moment
// (see "Where the host runs the two vCPUs" in docs/performance.md). With argument 1, one such half
// step alone on the calling thread: the ideal for each of the two. (It is not training: the
// halves never meet.)
void BM_StepCeiling(benchmark::State& state) {
  const auto members = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kHalf = kBatch / 2;
  struct Member {
    ThreadPool alone{1};
    Trainee trainee{kHalf};
  };
  std::vector<Member> team_members(members);
  ThreadPool team(static_cast<unsigned>(members));
  std::size_t step = 0;
  for (auto _ : state) {
    const auto rows = shuffled_batch(step++);
    team.run(members, [&](std::size_t i) {
      team_members[i].trainee.step(rows.subspan(i * kHalf, kHalf), team_members[i].alone);
    });
  }
  count_step_flops(state, members * kHalf);
}
BENCHMARK(BM_StepCeiling)->Arg(1)->Arg(2)->UseRealTime();

// The sparse SGD step on rows shaped like the Debian text task's (2^18 hashed columns, 58
// classes, 12 stored values a row), batch of range(0) rows, on range(1) threads, every step
// shared with the pool when range(2) is 1 (else on the calling thread alone): the measurement
// behind SparseSgd::kSharedEntries (a step is worth sharing from about that many stored values x
// classes).
void BM_SparseStep(benchmark::State& state) {
  constexpr std::size_t kSparseInputs = 1 << 18, kSparseClasses = 58, kPerRow = 12;
  constexpr std::size_t kSparseRows = 50000;
  static const auto rows = [] {
    Rng rng(5);
    struct Rows {
      std::vector<std::uint64_t> offsets{0};
      std::vector<std::uint32_t> cols;
      std::vector<float> vals;
      std::vector<std::int32_t> labels;
    } r;
    for (std::size_t i = 0; i < kSparseRows; ++i) {
      for (std::size_t k = 0; k < kPerRow; ++k) {
        // Zipf-like columns: a few frequent words, many rare ones.
        const double u = rng.uniform();
        r.cols.push_back(static_cast<std::uint32_t>(std::pow(u, 3.0) * (kSparseInputs - 1)));
        r.vals.push_back(0.3f);
      }
      std::sort(r.cols.end() - kPerRow, r.cols.end());
      r.offsets.push_back(r.cols.size());
      r.labels.push_back(static_cast<std::int32_t>(rng.below(kSparseClasses)));
    }
    return r;
  }();
  const auto batch = static_cast<std::size_t>(state.range(0));
  ThreadPool pool(static_cast<unsigned>(state.range(1)));
  SoftmaxRegression model(kSparseInputs, kSparseClasses);
  SparseSgd sgd(model, SgdOptions{.lr = 0.1f}, &pool);
  sgd.set_shared_entries(state.range(2) == 1 ? 0 : SIZE_MAX);
  Features x;
  x.inputs = kSparseInputs;
  x.offsets = rows.offsets.data();
  x.cols = rows.cols.data();
  x.vals = rows.vals.data();
  std::vector<std::uint32_t> order(batch);
  std::size_t next = 0;
  for (auto _ : state) {
    for (auto& r : order) r = static_cast<std::uint32_t>(next++ % kSparseRows);
    benchmark::DoNotOptimize(sgd.step(x, rows.labels, order));
  }
  state.counters["entries"] = static_cast<double>(batch * kPerRow * kSparseClasses);
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(state.iterations() * batch),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SparseStep)
    ->ArgsProduct({{32, 64, 128, 256, 512, 1024, 2048}, {1, 2}, {1}})
    ->Args({32, 2, 0})
    ->UseRealTime();

// Evaluation (forward, loss, accuracy) of 10000 rows.
void BM_Evaluate(benchmark::State& state) {
  const auto threads = static_cast<unsigned>(state.range(0));
  const std::size_t rows = 10000;
  const Features x = data().features();
  ThreadPool pool(threads);
  Rng rng(3);
  SoftmaxRegression model(kInputs, kClasses);
  model.init(rng);
  for (auto _ : state) {
    auto s = evaluate(model, x, data().labels, rows, pool);
    benchmark::DoNotOptimize(s);
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 2.0 * rows * kInputs * kClasses,
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Evaluate)->Arg(1)->Arg(2)->UseRealTime();

// The memory side of the floor: one epoch reads every training row once, in shuffled order
// (60000 rows of 784 bytes, 47 MB, more than the caches hold). This reads them as the step does,
// 128 rows per task with the next rows prefetched, and only adds the bytes up, reporting the
// bandwidth reached: the least time an epoch can take for its reads.
void BM_GatherRows(benchmark::State& state) {
  const auto threads = static_cast<unsigned>(state.range(0));
  const std::uint8_t* pixels = data().pixels.data();
  std::vector<std::uint32_t> order(kRows);
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(4);
  shuffle(order, rng);
  ThreadPool pool(threads);
  constexpr std::size_t kRowsPerTask = 128, kAhead = 4;
  std::vector<std::uint64_t> sums((kRows + kRowsPerTask - 1) / kRowsPerTask);
  for (auto _ : state) {
    pool.run(sums.size(), [&](std::size_t t) {
      const std::size_t begin = t * kRowsPerTask, end = std::min(kRows, begin + kRowsPerTask);
      std::uint32_t acc[64] = {};
      for (std::size_t r = begin; r < end; ++r) {
        if (r + kAhead < end)
          for (std::size_t a = 0; a < kInputs; a += 64)
            __builtin_prefetch(pixels + std::size_t{order[r + kAhead]} * kInputs + a);
        const std::uint8_t* row = pixels + std::size_t{order[r]} * kInputs;
        for (std::size_t j = 0; j + 64 <= kInputs; j += 64)
          for (std::size_t l = 0; l < 64; ++l) acc[l] += row[j + l];
      }
      sums[t] = std::accumulate(std::begin(acc), std::end(acc), std::uint64_t{0});
    });
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kRows * kInputs));
}
BENCHMARK(BM_GatherRows)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// What it costs two cores to work on one step together: data that one core wrote and the other
// reads. Each round, a second thread writes N KB (whole cache lines) and hands over with a flag;
// this thread then reads them and hands back. With N = 0 only the flag goes back and forth: the
// least a meeting of the two threads costs. Threaded steps pay this for every batch: the row
// split moves partial gradients and W between the cores (15.7 KB each way and each, for
// Fashion-MNIST), so docs/performance.md compares the step's time with 2 threads against these
// rounds. The second argument 1 writes with streaming stores, which send the lines to memory
// instead of the writer's cache (tried for the partial gradients: see docs/performance.md).
void BM_CoreHandoff(benchmark::State& state) {
  const auto lines = static_cast<std::size_t>(state.range(0)) * 1024 / 64;
  const bool streamed = state.range(1) != 0;
#if !defined(__SSE__)
  if (streamed) return state.SkipWithError("streaming stores: x86 only");
#endif
  AlignedFloats buffer(std::max<std::size_t>(lines, 1) * 16, 0.0f);
  alignas(64) std::atomic<std::uint64_t> turn{0};  // odd: the second thread's turn
  alignas(64) std::atomic<bool> stop{false};
  std::thread other([&] {
    for (std::uint64_t mine = 1;; mine += 2) {
      while (turn.load(std::memory_order_acquire) != mine)
        if (stop.load(std::memory_order_relaxed)) return;
      const auto value = static_cast<float>(mine);
#if defined(__SSE__)
      if (streamed) {
        for (std::size_t i = 0; i < lines * 16; i += 4)
          _mm_stream_ps(&buffer[i], _mm_set1_ps(value));
        _mm_sfence();
      }
#endif
      if (!streamed) std::fill(buffer.begin(), buffer.begin() + lines * 16, value);
      turn.store(mine + 1, std::memory_order_release);
    }
  });
  std::uint64_t round = 0;
  float sum = 0.0f;
  for (auto _ : state) {
    turn.store(round + 1, std::memory_order_release);
    while (turn.load(std::memory_order_acquire) != round + 2) {
    }
    for (std::size_t l = 0; l < lines; ++l) sum += buffer[l * 16];
    round += 2;
  }
  stop.store(true, std::memory_order_relaxed);
  other.join();
  benchmark::DoNotOptimize(sum);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * lines * 64));
}
BENCHMARK(BM_CoreHandoff)
    ->ArgNames({"KB", "streamed"})
    ->ArgsProduct({{0, 4, 16, 31, 62}, {0, 1}})
    ->UseRealTime();

// The machine's float32 FMA peak on one core: 14 independent chains of FMAs at the kernel's
// vector width, enough to hide the FMA latency, so the loop runs at the FMA units' throughput.
// Written in assembly so that the compiler can neither fold the loop nor keep the chains in
// memory. With threads:2 the same loop runs on two threads at once and GFLOP/s is their sum:
// twice the one-thread figure when the two threads have a core each, the same when they share
// one core's FMA units (as a VM's two virtual CPUs at times do, when the host puts them on the
// two hardware threads of one core).
void BM_FmaPeak(benchmark::State& state) {
#if defined(__AVX512F__)
#define SOFTREG_FMA(i) "vfmadd231ps %%zmm16, %%zmm17, %%zmm" #i "\n\t"
#define SOFTREG_SET(i, m) "vbroadcastss %" m ", %%zmm" #i "\n\t"
#define SOFTREG_AB SOFTREG_SET(16, "1") SOFTREG_SET(17, "2")
#define SOFTREG_AB_REGS "xmm16", "xmm17"
  constexpr int kLanes = 16;
#elif defined(__FMA__)
#define SOFTREG_FMA(i) "vfmadd231ps %%ymm14, %%ymm15, %%ymm" #i "\n\t"
#define SOFTREG_SET(i, m) "vbroadcastss %" m ", %%ymm" #i "\n\t"
#define SOFTREG_AB SOFTREG_SET(14, "1") SOFTREG_SET(15, "2")
#define SOFTREG_AB_REGS "xmm14", "xmm15"
  constexpr int kLanes = 8;
#endif
#if defined(SOFTREG_FMA)
  constexpr std::int64_t kInner = 1 << 16;
  constexpr int kChains = 14;
  for (auto _ : state) {
    std::int64_t n = kInner;
    const float one = 1.0f, tiny = 1e-7f;
    asm volatile(
        SOFTREG_AB SOFTREG_SET(0, "1") SOFTREG_SET(1, "1")
            SOFTREG_SET(2, "1") SOFTREG_SET(3, "1") SOFTREG_SET(4, "1") SOFTREG_SET(5, "1")
                SOFTREG_SET(6, "1") SOFTREG_SET(7, "1") SOFTREG_SET(8, "1") SOFTREG_SET(9, "1")
                    SOFTREG_SET(10, "1") SOFTREG_SET(11, "1") SOFTREG_SET(12, "1")
                        SOFTREG_SET(13, "1")
        "1:\n\t" SOFTREG_FMA(0) SOFTREG_FMA(1) SOFTREG_FMA(2) SOFTREG_FMA(3) SOFTREG_FMA(4)
            SOFTREG_FMA(5) SOFTREG_FMA(6) SOFTREG_FMA(7) SOFTREG_FMA(8) SOFTREG_FMA(9)
                SOFTREG_FMA(10) SOFTREG_FMA(11) SOFTREG_FMA(12) SOFTREG_FMA(13)
        "dec %0\n\t"
        "jnz 1b"
        : "+r"(n)
        : "m"(one), "m"(tiny)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
          "xmm11", "xmm12", "xmm13", SOFTREG_AB_REGS, "cc");
  }
#undef SOFTREG_FMA
#undef SOFTREG_SET
#undef SOFTREG_AB
#undef SOFTREG_AB_REGS
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kInner * kChains * kLanes * 2,
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
#else
  state.SkipWithError("no FMA instructions on this build's target");
#endif
}
BENCHMARK(BM_FmaPeak)->Threads(1)->Threads(2)->UseRealTime();

// Loading Fashion-MNIST from Debian's gzip'd files: part of every run.
void BM_LoadFashionMnist(benchmark::State& state) {
  const auto dir = default_fashion_mnist_dir();
  if (!std::filesystem::exists(dir / "train-images-idx3-ubyte.gz")) {
    state.SkipWithError("Fashion-MNIST is not installed");
    return;
  }
  for (auto _ : state) {
    TrainTest d = load_fashion_mnist(dir);
    benchmark::DoNotOptimize(d.train.pixels.data());
  }
}
BENCHMARK(BM_LoadFashionMnist)->Unit(benchmark::kMillisecond)->UseRealTime();

// Decompressing the training images (26 MB -> 47 MB) with libdeflate, as the loader does, and
// with zlib, the usual alternative.
std::vector<std::uint8_t> compressed_train_images() {
  std::ifstream in(default_fashion_mnist_dir() / "train-images-idx3-ubyte.gz", std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void BM_GunzipLibdeflate(benchmark::State& state) {
  const auto gz = compressed_train_images();
  if (gz.empty()) return state.SkipWithError("Fashion-MNIST is not installed");
  std::vector<std::uint8_t> out(47040016);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  for (auto _ : state) {
    std::size_t n = 0;
    if (libdeflate_gzip_decompress(d, gz.data(), gz.size(), out.data(), out.size(), &n) !=
        LIBDEFLATE_SUCCESS)
      state.SkipWithError("libdeflate failed");
    benchmark::DoNotOptimize(out.data());
  }
  libdeflate_free_decompressor(d);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_GunzipLibdeflate)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_GunzipZlib(benchmark::State& state) {
  const auto gz = compressed_train_images();
  if (gz.empty()) return state.SkipWithError("Fashion-MNIST is not installed");
  std::vector<std::uint8_t> out(47040016);
  for (auto _ : state) {
    z_stream z{};
    inflateInit2(&z, 16 + MAX_WBITS);  // 16: expect a gzip wrapper
    z.next_in = const_cast<Bytef*>(gz.data());
    z.avail_in = static_cast<uInt>(gz.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    if (inflate(&z, Z_FINISH) != Z_STREAM_END) state.SkipWithError("zlib failed");
    inflateEnd(&z);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_GunzipZlib)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
