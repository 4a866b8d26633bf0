// Softmax regression from scratch: the lesson in one page, with softreg's plain functions.
// Every step is the lesson's: flatten, X Wᵀ + b, softmax, cross-entropy, accuracy, minibatch SGD.
// (softreg train does the same with the fused, threaded kernel: see src/kernel.cpp.)
//
//   scratch [DATA_DIR] [EPOCHS] [LIMIT]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <string>
#include <vector>

#include "softreg/batch.hpp"
#include "softreg/data.hpp"
#include "softreg/model.hpp"
#include "softreg/ops.hpp"
#include "softreg/optim.hpp"
#include "softreg/random.hpp"

using namespace softreg;

// The test set's accuracy: the fraction of images whose largest logit is the true class.
double evaluate_accuracy(const SoftmaxRegression& net, const Dataset& data) {
  std::vector<std::uint32_t> all(data.rows);
  std::iota(all.begin(), all.end(), 0u);
  return accuracy(net.logits(gather_features(data, all)), data.labels);
}

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 && *argv[1] ? argv[1] : default_fashion_mnist_dir().string();
  const int num_epochs = argc > 2 ? std::atoi(argv[2]) : 10;
  const long limit = argc > 3 ? std::atol(argv[3]) : 0;

  // Data: 28x28 images flattened to 784 inputs, pixels scaled to [0, 1]; 10 classes.
  TrainTest data = load_fashion_mnist(dir);
  if (limit > 0) data.train.keep_first(static_cast<std::size_t>(limit));
  const std::size_t num_inputs = data.train.inputs, num_outputs = data.train.classes();

  // Parameters: W ~ N(0, 0.01²), b = 0.
  Rng rng(0);
  SoftmaxRegression net(num_inputs, num_outputs);
  net.init(rng, 0.01f);

  // Minibatch SGD with batch size 256 and learning rate 0.1.
  const std::size_t batch_size = 256;
  Sgd updater(SgdOptions{.lr = 0.1f});
  const std::size_t w = updater.add(net.weight()), b = updater.add(net.bias());
  BatchOrder order(data.train.rows, batch_size);

  for (int epoch = 1; epoch <= num_epochs; ++epoch) {
    order.shuffle(rng);
    double loss_sum = 0;
    std::size_t correct = 0;
    for (std::size_t i = 0; i < order.batches(); ++i) {
      const auto rows = order.batch(i);
      const Matrix<float> X = gather_features(data.train, rows);
      const std::vector<std::int32_t> y = gather_labels(data.train, rows);

      const Matrix<float> y_hat = net.logits(X);              // O = X Wᵀ + b
      for (float l : cross_entropy(y_hat, y)) loss_sum += l;  // -log softmax(O)[i, y_i]
      correct += count_correct(y_hat, y);

      // dL/dO = (softmax(O) - onehot(y)) / n; dL/dW = dOᵀ X; dL/db = Σ_i dO_i.
      const Matrix<float> dO = cross_entropy_backward(y_hat, y);
      std::vector<float> dW(num_outputs * num_inputs, 0.0f), db(num_outputs, 0.0f);
      for (std::size_t r = 0; r < X.rows; ++r)
        for (std::size_t k = 0; k < num_outputs; ++k) {
          db[k] += dO(r, k);
          for (std::size_t j = 0; j < num_inputs; ++j) dW[k * num_inputs + j] += dO(r, k) * X(r, j);
        }
      updater.step(w, dW);
      updater.step(b, db);
    }
    const double n = static_cast<double>(data.train.rows);
    std::printf("epoch %d  loss %.4f  train acc %.4f  test acc %.4f\n", epoch, loss_sum / n,
                static_cast<double>(correct) / n, evaluate_accuracy(net, data.test));
  }

  // Prediction: the probabilities softmax(X Wᵀ + b) of the first test images; argmax is the class.
  std::vector<std::uint32_t> first(std::min<std::size_t>(6, data.test.rows));
  std::iota(first.begin(), first.end(), 0u);
  const Matrix<float> P = softmax(net.logits(gather_features(data.test, first)));
  for (std::size_t i = 0; i < P.rows; ++i) {
    const std::size_t k = argmax<float>(P.row(i));
    std::printf("test image %zu: %s, predicted %s with probability %.3f\n", i,
                data.test.class_names[data.test.labels[i]].c_str(),
                data.test.class_names[k].c_str(), static_cast<double>(P(i, k)));
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "scratch: %s\n", e.what());
  return 2;
}
