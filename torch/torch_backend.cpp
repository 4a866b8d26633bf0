#include "torch_backend.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "softreg/batch.hpp"
#include "softreg/kernel.hpp"

namespace softreg::torch_backend {

namespace {

// A batch of examples as the lesson feeds them to the network: (B, 1, H, W) for images, which
// Flatten turns into (B, H*W); (B, D) for tables.
torch::Tensor features(const Dataset& data, std::span<const std::uint32_t> rows) {
  const Matrix<float> x = gather_features(data, rows);
  std::vector<std::int64_t> shape = {static_cast<std::int64_t>(rows.size())};
  if (data.shape.size() == 2) {
    shape.push_back(1);
    for (std::size_t s : data.shape) shape.push_back(static_cast<std::int64_t>(s));
  } else {
    shape.push_back(static_cast<std::int64_t>(data.inputs));
  }
  return torch::from_blob(const_cast<float*>(x.data.data()), shape, torch::kFloat32).clone();
}

torch::Tensor labels(const Dataset& data, std::span<const std::uint32_t> rows) {
  std::vector<std::int64_t> y(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) y[i] = data.labels[rows[i]];
  return torch::tensor(y, torch::kInt64);
}

// Test-set loss and accuracy, a batch of 256 at a time, without building a graph.
PassStats evaluate(torch::nn::Sequential& net, const Dataset& data) {
  torch::NoGradGuard no_grad;
  BatchOrder order(data.rows, 256);
  PassStats s;
  for (std::size_t b = 0; b < order.batches(); ++b) {
    const auto rows = order.batch(b);
    const torch::Tensor y = labels(data, rows);
    const torch::Tensor y_hat = net->forward(features(data, rows));
    s.loss_sum +=
        torch::nn::functional::cross_entropy(
            y_hat, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
    s.correct += static_cast<std::size_t>((y_hat.argmax(1) == y).sum().item<std::int64_t>());
    s.rows += rows.size();
  }
  return s;
}

}  // namespace

std::vector<EpochMetrics> fit(SoftmaxRegression& model, const Dataset& train, const Dataset& test,
                              Rng& rng, const TrainOptions& options,
                              const TrainCallbacks& callbacks) {
  using Clock = std::chrono::steady_clock;
  const auto inputs = static_cast<std::int64_t>(model.inputs());
  const auto classes = static_cast<std::int64_t>(model.classes());
  torch::set_num_threads(static_cast<int>(
      options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency())));

  // The lesson's concise model: flatten each image, then one linear layer.
  torch::nn::Sequential net(torch::nn::Flatten(), torch::nn::Linear(inputs, classes));
  auto linear = net->ptr<torch::nn::LinearImpl>(1);
  {
    // Start from softreg's W ~ N(0, 0.01²) and b = 0, so both backends begin at the same point.
    torch::NoGradGuard no_grad;
    linear->weight.copy_(torch::from_blob(model.weight().data(), {classes, inputs}));
    linear->bias.copy_(torch::from_blob(model.bias().data(), {classes}));
  }
  torch::nn::CrossEntropyLoss loss;
  // Two groups: the weight decays, the bias does not (the objective penalises W only).
  const auto sgd = torch::optim::SGDOptions(options.sgd.lr).momentum(options.sgd.momentum);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{linear->weight},
                      std::make_unique<torch::optim::SGDOptions>(
                          torch::optim::SGDOptions(sgd).weight_decay(options.sgd.weight_decay)));
  groups.emplace_back(
      std::vector<torch::Tensor>{linear->bias},
      std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(sgd).weight_decay(0)));
  torch::optim::SGD trainer(std::move(groups), sgd);

  BatchOrder order(train.rows, options.batch_size);
  std::vector<EpochMetrics> history;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start = Clock::now();
    order.shuffle(rng);  // softreg's shuffler: the same batches as the native backend
    PassStats seen;
    const std::size_t batches = order.batches();
    for (std::size_t b = 0; b < batches; ++b) {
      const auto rows = order.batch(b);
      const torch::Tensor X = features(train, rows), y = labels(train, rows);
      const torch::Tensor y_hat = net->forward(X);
      const torch::Tensor l = loss(y_hat, y);
      const double batch_loss = l.item<double>() * static_cast<double>(rows.size());
      if (!std::isfinite(batch_loss))
        throw DivergenceError(epoch, b + 1, batches, batch_loss, options.sgd.lr);
      trainer.zero_grad();
      l.backward();
      trainer.step();
      seen.loss_sum += batch_loss;
      seen.correct += static_cast<std::size_t>((y_hat.argmax(1) == y).sum().item<std::int64_t>());
      seen.rows += rows.size();
      if (callbacks.on_batch) callbacks.on_batch(epoch, b + 1, batches);
      if (callbacks.stop_requested && callbacks.stop_requested())
        throw Interrupted(epoch, b + 1, batches);
    }
    const PassStats t = evaluate(net, test);
    if (t.rows != 0 && !std::isfinite(t.loss_sum))
      throw DivergenceError(epoch, batches, batches, t.loss_sum, options.sgd.lr);
    EpochMetrics m =
        epoch_metrics(epoch, seen, t, std::chrono::duration<double>(Clock::now() - start).count());
    m.lr = options.sgd.lr;
    history.push_back(m);
    if (callbacks.on_epoch) callbacks.on_epoch(m);
  }
  // Hand the trained parameters back to softreg's model.
  const torch::Tensor w = linear->weight.detach().contiguous(),
                      bias = linear->bias.detach().contiguous();
  std::copy(w.data_ptr<float>(), w.data_ptr<float>() + w.numel(), model.weight().begin());
  std::copy(bias.data_ptr<float>(), bias.data_ptr<float>() + bias.numel(), model.bias().begin());
  return history;
}

}  // namespace softreg::torch_backend
