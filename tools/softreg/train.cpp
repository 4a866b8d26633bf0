// softreg train: the lesson's training loop on Fashion-MNIST.
#include "softreg/train.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "plugin.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/model.hpp"
#include "softreg/random.hpp"

namespace softreg::cli {

namespace {

struct TrainArgs {
  std::string data;
  int epochs = 10;
  long long batch_size = 256;
  double lr = 0.1;
  double momentum = 0.0;
  double weight_decay = 0.0;
  std::uint64_t seed = 0;
  unsigned threads = 0;
  long long limit = 0;
  std::string metrics;
  bool quiet = false;
  std::string backend = "native";
};

const CLI::Validator kFinitePositive(
    [](std::string& s) -> std::string {
      double v = 0;
      if (!CLI::detail::lexical_cast(s, v) || !std::isfinite(v) || v <= 0)
        return "expected a finite number > 0 but found " + s;
      return {};
    },
    "FINITE > 0");

const CLI::Validator kFiniteNonNegative(
    [](std::string& s) -> std::string {
      double v = 0;
      if (!CLI::detail::lexical_cast(s, v) || !std::isfinite(v) || v < 0)
        return "expected a finite number >= 0 but found " + s;
      return {};
    },
    "FINITE >= 0");

std::string epoch_line(const EpochMetrics& m) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "epoch %d  loss %.4f  train acc %.4f  test acc %.4f  (%.2f s)",
                m.epoch, m.loss, m.train_accuracy, m.test_accuracy, m.seconds);
  return buf;
}

// A progress bar on stderr, redrawn in place; only when stderr is a terminal.
void draw_progress(int epoch, std::size_t done, std::size_t total) {
  constexpr std::size_t kWidth = 30;
  const std::size_t filled = done * kWidth / total;
  std::string bar(filled, '=');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\repoch %d [%s] %zu/%zu", epoch, bar.c_str(), done, total);
  if (done == total) std::fprintf(stderr, "\r%*s\r", static_cast<int>(kWidth + 32), "");
  std::fflush(stderr);
}

// Loads the LibTorch backend plugin: $SOFTREG_TORCH_PLUGIN, else the one built with this softreg.
torch_backend::FitFunction load_torch_backend() {
#if defined(SOFTREG_TORCH_PLUGIN)
  std::string path = SOFTREG_TORCH_PLUGIN;
#else
  std::string path;
#endif
  if (const char* env = std::getenv("SOFTREG_TORCH_PLUGIN"); env != nullptr && *env != '\0')
    path = env;
  if (path.empty())
    throw InputError(
        "--backend torch: this softreg was built without LibTorch (install Debian's libtorch-dev "
        "and rebuild)");
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    throw InputError("--backend torch: cannot load the LibTorch backend " + path + ": " +
                     dlerror());
  void* symbol = dlsym(handle, SOFTREG_TORCH_FIT_SYMBOL);
  if (symbol == nullptr)
    throw InputError("--backend torch: " + path + " has no " SOFTREG_TORCH_FIT_SYMBOL);
  return reinterpret_cast<torch_backend::FitFunction>(symbol);
}

void run(const TrainArgs& a) {
  const torch_backend::FitFunction torch_fit =
      a.backend == "torch" ? load_torch_backend() : nullptr;
  const std::filesystem::path dir =
      a.data.empty() ? default_fashion_mnist_dir() : std::filesystem::path(a.data);
  TrainTest data = load_fashion_mnist(dir);
  if (a.limit > 0) {
    if (static_cast<std::size_t>(a.limit) > data.train.rows)
      throw InputError("--limit " + std::to_string(a.limit) + ": the training set " +
                       data.train.source + " has only " + std::to_string(data.train.rows) +
                       " images");
    data.train.keep_first(static_cast<std::size_t>(a.limit));
  }

  std::unique_ptr<std::ofstream> metrics;
  if (!a.metrics.empty()) {
    metrics = std::make_unique<std::ofstream>(a.metrics);
    if (!*metrics) throw InputError(a.metrics + ": cannot open for writing (--metrics)");
    *metrics << "epoch,loss,train_acc,test_acc,test_loss,seconds\n";
  }

  Rng rng(a.seed);
  SoftmaxRegression model(data.train.inputs, data.train.classes());
  model.init(rng);

  TrainOptions options;
  options.epochs = a.epochs;
  options.batch_size = static_cast<std::size_t>(a.batch_size);
  options.sgd = {static_cast<float>(a.lr), static_cast<float>(a.momentum),
                 static_cast<float>(a.weight_decay)};
  options.threads = a.threads;

  TrainCallbacks callbacks;
  callbacks.on_epoch = [&](const EpochMetrics& m) {
    if (!a.quiet) std::cout << epoch_line(m) << std::endl;
    if (metrics) {
      char row[200];
      std::snprintf(row, sizeof row, "%d,%.6f,%.6f,%.6f,%.6f,%.4f\n", m.epoch, m.loss,
                    m.train_accuracy, m.test_accuracy, m.test_loss, m.seconds);
      *metrics << row << std::flush;
    }
  };
  if (!a.quiet && isatty(STDERR_FILENO)) callbacks.on_batch = draw_progress;

  std::vector<EpochMetrics> history;
  if (torch_fit != nullptr) {
    torch_fit(model, data.train, data.test, rng, options, callbacks, history);
  } else {
    history = Trainer(options).fit(model, data.train, data.test, rng, callbacks);
  }
  double seconds = 0;
  for (const auto& m : history) seconds += m.seconds;
  const EpochMetrics& last = history.back();
  std::printf(
      "trained %d epochs on %zu images in %.2f s: loss %.4f  train acc %.4f  test acc %.4f\n",
      last.epoch, data.train.rows, seconds, last.loss, last.train_accuracy, last.test_accuracy);
}

}  // namespace

void add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train softmax regression on Fashion-MNIST with minibatch SGD (the lesson's loop)");
  cmd->add_option("--data", a->data,
                  "Folder of the Fashion-MNIST files (default: $SOFTREG_DATA, else "
                  "/usr/share/datasets/fashion-mnist)");
  cmd->add_option("--epochs", a->epochs, "Passes over the training set")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--batch-size", a->batch_size, "Examples per minibatch")
      ->capture_default_str()
      ->check(CLI::Range(1LL, 1LL << 31));
  cmd->add_option("--lr", a->lr, "Learning rate")->capture_default_str()->check(kFinitePositive);
  cmd->add_option("--momentum", a->momentum, "SGD momentum (PyTorch's meaning)")
      ->capture_default_str()
      ->check(kFiniteNonNegative);
  cmd->add_option("--weight-decay", a->weight_decay, "L2 penalty added to the gradient")
      ->capture_default_str()
      ->check(kFiniteNonNegative);
  cmd->add_option("--seed", a->seed, "Seed of the initial weights and of every shuffle")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Threads (0: one per core); results do not depend on it")
      ->capture_default_str()
      ->check(CLI::Range(0u, 256u));
  cmd->add_option("--limit", a->limit, "Use only the first N training images (quick runs)")
      ->check(CLI::Range(1LL, 1LL << 40));
  cmd->add_option("--metrics", a->metrics, "Write one CSV row per epoch to FILE");
  cmd->add_flag("--quiet,-q", a->quiet, "No progress bar, no epoch lines: only the summary");
  cmd->add_option("--backend", a->backend,
                  "native: softreg's own engine; torch: the lesson's concise model on LibTorch")
      ->capture_default_str()
      ->check(CLI::IsMember({"native", "torch"}));
  cmd->callback([a] { run(*a); });
}

}  // namespace softreg::cli
