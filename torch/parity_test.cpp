// The scratch engine and the concise LibTorch model compute the same thing: started from the
// same W and b and fed the same batches, they end one epoch with the same weights, the same
// loss and the same predictions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "softreg/data.hpp"
#include "softreg/kernel.hpp"
#include "softreg/train.hpp"
#include "torch_backend.hpp"

namespace softreg {
namespace {

std::filesystem::path data_dir() {
  const auto dir = default_fashion_mnist_dir();
  return std::filesystem::exists(dir / "train-images-idx3-ubyte.gz") ? dir
                                                                     : std::filesystem::path{};
}

struct Trained {
  SoftmaxRegression model;
  std::vector<EpochMetrics> history;
};

TEST(TorchParityTest, OneEpochOf6000ImagesAgreesWithTheNativeEngine) {
  const auto dir = data_dir();
  if (dir.empty())
    GTEST_SKIP() << "Fashion-MNIST is not installed (Debian's dataset-fashion-mnist)";
  TrainTest data = load_fashion_mnist(dir);
  data.train.keep_first(6000);

  TrainOptions options;  // the lesson's: batch 256, lr 0.1
  options.epochs = 1;
  Rng rng_native(0);
  SoftmaxRegression start(data.train.inputs, data.train.classes());
  start.init(rng_native);
  Rng rng_torch = rng_native;  // the same generator state: the same shuffles

  Trained native{start, {}}, torch{start, {}};
  native.history = Trainer(options).fit(native.model, data.train, data.test, rng_native);
  torch.history = torch_backend::fit(torch.model, data.train, data.test, rng_torch, options);

  float max_diff = 0;
  for (std::size_t i = 0; i < start.weight().size(); ++i)
    max_diff = std::max(max_diff, std::abs(native.model.weight()[i] - torch.model.weight()[i]));
  for (std::size_t i = 0; i < start.bias().size(); ++i)
    max_diff = std::max(max_diff, std::abs(native.model.bias()[i] - torch.model.bias()[i]));
  EXPECT_LE(max_diff, 1e-5f);
  std::printf("max |W_native - W_torch| after one epoch: %g\n", static_cast<double>(max_diff));
  // The weights moved: the comparison is not of two untouched copies.
  EXPECT_GT(std::abs(native.model.weight()[400] - start.weight()[400]), 1e-4f);

  ASSERT_EQ(native.history.size(), torch.history.size());
  for (std::size_t e = 0; e < native.history.size(); ++e) {
    EXPECT_LE(std::abs(native.history[e].loss - torch.history[e].loss) / native.history[e].loss,
              1e-5)
        << "epoch " << e + 1;
  }

  ThreadPool pool(0);
  std::vector<std::int32_t> a(data.test.rows), b(data.test.rows);
  evaluate(native.model, Features::of(data.test), data.test.labels, data.test.rows, pool, a);
  evaluate(torch.model, Features::of(data.test), data.test.labels, data.test.rows, pool, b);
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  EXPECT_GE(static_cast<double>(same) / static_cast<double>(a.size()), 0.999);
}

TEST(TorchParityTest, MomentumAndWeightDecayMeanTheSameInBothBackends) {
  const auto dir = data_dir();
  if (dir.empty())
    GTEST_SKIP() << "Fashion-MNIST is not installed (Debian's dataset-fashion-mnist)";
  TrainTest data = load_fashion_mnist(dir);
  data.train.keep_first(2000);
  TrainOptions options;
  options.epochs = 1;
  options.sgd = {0.05f, 0.9f, 1e-3f};
  Rng rng_native(1);
  SoftmaxRegression start(data.train.inputs, data.train.classes());
  start.init(rng_native);
  Rng rng_torch = rng_native;
  SoftmaxRegression native = start, torch = start;
  Trainer(options).fit(native, data.train, data.test, rng_native);
  torch_backend::fit(torch, data.train, data.test, rng_torch, options);
  float max_diff = 0;
  for (std::size_t i = 0; i < start.weight().size(); ++i)
    max_diff = std::max(max_diff, std::abs(native.weight()[i] - torch.weight()[i]));
  EXPECT_LE(max_diff, 1e-5f);
}

}  // namespace
}  // namespace softreg
