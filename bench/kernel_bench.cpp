// Microbenchmarks of the hot loop: the fused training step and evaluation, on Fashion-MNIST's
// shapes (batch 256, 784 inputs, 10 classes) with random bytes, reported in GFLOP/s.
// Also the machine's float32 FMA peak on one core, the yardstick of docs/performance.md.
//
//   build/release/bench/softreg_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <libdeflate.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <vector>

#include "softreg/data.hpp"
#include "softreg/kernel.hpp"
#include "softreg/model.hpp"
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

// One fused step (forward, softmax-cross-entropy, gradient) on a batch of 256 random rows.
void BM_Step(benchmark::State& state) {
  const auto threads = static_cast<unsigned>(state.range(0));
  const std::size_t batch = 256;
  const Features x = data().features();
  ThreadPool pool(threads);
  Rng rng(2);
  SoftmaxRegression model(kInputs, kClasses);
  model.init(rng);
  SoftmaxKernel kernel(kInputs, kClasses, batch);
  Gradients grad;
  std::vector<std::uint32_t> rows(batch);
  for (auto& r : rows) r = static_cast<std::uint32_t>(rng.below(kRows));
  for (auto _ : state) {
    auto s = kernel.step(model, x, data().labels, rows, grad, pool);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(grad.weight.data());
  }
  // 2 multiply-adds per weight per row: one forward, one for the gradient.
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 4.0 * batch * kInputs * kClasses,
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Step)->Arg(1)->Arg(2)->UseRealTime();

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

// The machine's float32 FMA peak on one core: 12 independent chains of vector FMAs, enough to
// hide the FMA latency, so the loop runs at the FMA units' throughput.
void BM_FmaPeak(benchmark::State& state) {
  typedef float v __attribute__((vector_size(64)));
  constexpr int kChains = 12;
  v acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = v{} + static_cast<float>(i);
  v a = v{} + 1.0000001f, b = v{} + 1e-7f;
  const std::int64_t inner = 1 << 16;
  for (auto _ : state) {
    for (std::int64_t n = 0; n < inner; ++n) {
      for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * a + b;
      benchmark::ClobberMemory();
      asm volatile("" : "+x"(a));
    }
  }
  for (int i = 0; i < kChains; ++i) benchmark::DoNotOptimize(acc[i]);
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * inner * kChains * 16 * 2,
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_FmaPeak)->UseRealTime();

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
