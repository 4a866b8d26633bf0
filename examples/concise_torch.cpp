// Softmax regression, concisely: the lesson's second half in LibTorch, PyTorch's C++ frontend.
// The framework supplies the layers, the loss and the optimizer; softreg only loads the data.
//
//   concise_torch [DATA_DIR] [EPOCHS] [LIMIT]
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "softreg/batch.hpp"
#include "softreg/data.hpp"
#include "softreg/random.hpp"

using softreg::BatchOrder;

// A minibatch as tensors: images (B, 1, 28, 28) in [0, 1] and labels (B).
std::pair<torch::Tensor, torch::Tensor> minibatch(const softreg::Dataset& data,
                                                  std::span<const std::uint32_t> rows) {
  const auto n = static_cast<std::int64_t>(rows.size());
  auto X = torch::empty({n, 1, 28, 28});
  auto y = torch::empty({n}, torch::kInt64);
  const softreg::Matrix<float> x = softreg::gather_features(data, rows);
  std::copy(x.data.begin(), x.data.end(), X.data_ptr<float>());
  for (std::int64_t i = 0; i < n; ++i) y[i] = data.labels[rows[i]];
  return {X, y};
}

int main(int argc, char** argv) try {
  const std::string dir =
      argc > 1 && *argv[1] ? argv[1] : softreg::default_fashion_mnist_dir().string();
  const int num_epochs = argc > 2 ? std::atoi(argv[2]) : 10;
  const long limit = argc > 3 ? std::atol(argv[3]) : 0;
  softreg::TrainTest data = softreg::load_fashion_mnist(dir);
  if (limit > 0) data.train.keep_first(static_cast<std::size_t>(limit));
  torch::manual_seed(0);

  // The model: Flatten turns each 1x28x28 image into 784 inputs; one Linear layer gives 10
  // outputs. Weights from N(0, 0.01²), bias 0.
  torch::nn::Sequential net(torch::nn::Flatten(), torch::nn::Linear(784, 10));
  auto linear = net->ptr<torch::nn::LinearImpl>(1);
  torch::nn::init::normal_(linear->weight, 0, 0.01);
  torch::nn::init::zeros_(linear->bias);

  // The loss: cross-entropy on the logits (the framework applies log-softmax itself, stably).
  torch::nn::CrossEntropyLoss loss;
  // The optimizer: minibatch SGD with learning rate 0.1.
  torch::optim::SGD trainer(net->parameters(), torch::optim::SGDOptions(0.1));

  softreg::Rng rng(0);
  BatchOrder order(data.train.rows, 256), test_order(data.test.rows, 256);
  for (int epoch = 1; epoch <= num_epochs; ++epoch) {
    order.shuffle(rng);
    double loss_sum = 0, correct = 0;
    for (std::size_t b = 0; b < order.batches(); ++b) {
      auto [X, y] = minibatch(data.train, order.batch(b));
      const auto y_hat = net->forward(X);
      const auto l = loss(y_hat, y);
      trainer.zero_grad();
      l.backward();
      trainer.step();
      loss_sum += l.item<double>() * static_cast<double>(y.size(0));
      correct += (y_hat.argmax(1) == y).sum().item<double>();
    }
    torch::NoGradGuard no_grad;
    double test_correct = 0;
    for (std::size_t b = 0; b < test_order.batches(); ++b) {
      auto [X, y] = minibatch(data.test, test_order.batch(b));
      test_correct += (net->forward(X).argmax(1) == y).sum().item<double>();
    }
    const double n = static_cast<double>(data.train.rows);
    std::printf("epoch %d  loss %.4f  train acc %.4f  test acc %.4f\n", epoch, loss_sum / n,
                correct / n, test_correct / static_cast<double>(data.test.rows));
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "concise_torch: %s\n", e.what());
  return 2;
}
