// softreg train: the lesson's training loop on Fashion-MNIST.
#include "softreg/train.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "checks.hpp"
#include "commands.hpp"
#include "data_args.hpp"
#include "pictures.hpp"
#include "plugin.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/io.hpp"
#include "softreg/model.hpp"
#include "softreg/random.hpp"

namespace softreg::cli {

namespace {

struct TrainArgs {
  DataArgs data;
  std::string model = "softmax";
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
  std::string out;
  std::string plot;    // training curves, .svg or .png
  std::string report;  // a folder for the report
};

const CLI::Validator kFinitePositive(
    [](std::string& s) -> std::string {
      double v = 0;
      // The value becomes a float: beyond 3.4e38 it would be infinite.
      if (!CLI::detail::lexical_cast(s, v) || !std::isfinite(v) || v <= 0 || v > 3.4e38)
        return "expected a finite number > 0 (at most 3.4e38) but found " + s;
      return {};
    },
    "FINITE > 0");

const CLI::Validator kFiniteNonNegative(
    [](std::string& s) -> std::string {
      double v = 0;
      if (!CLI::detail::lexical_cast(s, v) || !std::isfinite(v) || v < 0 || v > 3.4e38)
        return "expected a finite number >= 0 (at most 3.4e38) but found " + s;
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

// Ctrl-C (SIGINT) or SIGTERM while training: the handler only notes the signal; the trainer
// stops after the batch it is in (well under a second), nothing is saved, and main() exits with
// 128 + the signal. A second one ends the process at once, as if no handler were there.
std::atomic<int> g_signal{0};

extern "C" void note_signal(int sig) {
  if (g_signal.exchange(sig) != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

// Installs note_signal for SIGINT and SIGTERM while it lives (training only: before it, loading
// a file is stopped by the signal's default action, which leaves nothing behind either).
class StopOnSignal {
 public:
  StopOnSignal() {
    struct sigaction sa {};
    sa.sa_handler = note_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopOnSignal() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

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

// The shortest text that reads back as exactly v.
std::string number_text(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// What the model file records besides W and b: the data's shape, scale and classes, and how the
// model was trained (docs/formats.md lists the keys).
ModelInfo model_info(const TrainArgs& a, const Dataset& train, const Standardization& s,
                     const EpochMetrics& last) {
  ModelInfo info;
  info.class_names = train.class_names;
  info.input_shape = train.shape;
  info.input_scale = train.scale;
  info.input_mean = s.mean;
  // The divisor the training data saw: a constant feature (stddev 0) was only centred.
  for (float sd : s.stddev) info.input_std.push_back(sd > 0.0f ? sd : 1.0f);
  if (!train.feature_names.empty())
    info.notes["feature_names"] = nlohmann::json(train.feature_names).dump();
  if (!a.data.csv.empty())
    info.notes["label_column"] = a.data.label.empty() ? "(last column)" : a.data.label;
  nlohmann::ordered_json options = {{"backend", a.backend},
                                    {"epochs", a.epochs},
                                    {"batch_size", a.batch_size},
                                    {"lr", a.lr},
                                    {"momentum", a.momentum},
                                    {"weight_decay", a.weight_decay},
                                    {"seed", a.seed},
                                    {"limit", nullptr},
                                    {"model", a.model},
                                    {"standardize", a.data.standardize}};
  if (a.limit > 0) options["limit"] = a.limit;
  info.notes["training_options"] = options.dump();
  info.notes["training_data"] = train.source;
  info.notes["training_examples"] = std::to_string(train.rows);
  info.notes["epochs"] = std::to_string(last.epoch);
  info.notes["train_loss"] = number_text(last.loss);
  info.notes["train_accuracy"] = number_text(last.train_accuracy);
  info.notes["test_loss"] = number_text(last.test_loss);
  info.notes["test_accuracy"] = number_text(last.test_accuracy);
  return info;
}

void run(const TrainArgs& a) {
  // Before any work: a model that cannot be saved should not cost a training run.
  if (!a.out.empty()) check_writable(a.out, "--out");
  if (!a.plot.empty()) check_picture_file(a.plot, "--plot", {".svg", ".png"});
  if (!a.report.empty()) prepare_report_folder(a.report);
  const torch_backend::FitFunction torch_fit =
      a.backend == "torch" ? load_torch_backend() : nullptr;
  Rng rng(a.seed);  // decides the split of a table, the initial weights and every shuffle
  Standardization standardization;
  TrainTest data = load_training_data(a.data, rng, standardization);
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

  const Output output = a.model == "logistic" ? Output::logistic : Output::softmax;
  if (output == Output::logistic && data.train.classes() != 2)
    throw InputError("--model logistic: logistic regression has two classes but " +
                     data.train.source + " has " + std::to_string(data.train.classes()) +
                     " (use --model softmax)");
  if (output == Output::logistic && torch_fit != nullptr)
    throw InputError("--model logistic: the torch backend trains softmax regression only");
  SoftmaxRegression model(data.train.inputs, data.train.classes(), output);
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

  callbacks.stop_requested = [] { return g_signal.load(std::memory_order_relaxed) != 0; };

  std::vector<EpochMetrics> history;
  {
    const StopOnSignal stop_on_signal;
    if (torch_fit != nullptr) {
      torch_fit(model, data.train, data.test, rng, options, callbacks, history);
    } else {
      history = Trainer(options).fit(model, data.train, data.test, rng, callbacks);
    }
    // A signal after the trainer's last look: still nothing is saved.
    if (g_signal.load() != 0) throw Interrupted(history.empty() ? 0 : history.back().epoch);
  }
  double seconds = 0;
  for (const auto& m : history) seconds += m.seconds;
  const EpochMetrics& last = history.back();
  std::printf("trained %d epoch%s on %zu %s in %.2f s: loss %.4f  train acc %.4f  test acc %.4f\n",
              last.epoch, last.epoch == 1 ? "" : "s", data.train.rows,
              data.train.is_bytes() ? "images" : "examples", seconds, last.loss,
              last.train_accuracy, last.test_accuracy);
  // Only a finished run gets here: a diverged one has thrown, so nothing NaN is saved.
  if (!a.out.empty()) {
    save_model(a.out, model, model_info(a, data.train, standardization, last));
    if (!a.quiet) std::printf("saved the model to %s\n", a.out.c_str());
  }
  if (!a.plot.empty()) {
    write_training_plot(a.plot, history,
                        std::filesystem::path(data.train.source).filename().string() + ", lr " +
                            number_text(a.lr) + ", batch " + std::to_string(a.batch_size) + ", " +
                            std::to_string(last.epoch) + " epochs");
    if (!a.quiet) std::printf("wrote the training curves to %s\n", a.plot.c_str());
  }
  if (!a.report.empty()) {
    const auto page =
        write_report(a.report, {model, model_info(a, data.train, standardization, last)}, data.test,
                     history, a.threads);
    if (!a.quiet) std::printf("wrote the report to %s\n", page.c_str());
  }
}

}  // namespace

int interrupting_signal() {
  return g_signal.load();
}

void add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train softmax (or logistic) regression with minibatch SGD, the lesson's loop: on "
      "Fashion-MNIST, or on a table (--csv / --libsvm)");
  add_data_options(cmd, a->data, /*training=*/true);
  cmd->add_option("--model", a->model,
                  "softmax: softmax regression; logistic: logistic regression (two classes: one "
                  "weight vector, the sigmoid and binary cross-entropy)")
      ->capture_default_str()
      ->check(CLI::IsMember({"softmax", "logistic"}));
  cmd->add_option("--epochs", a->epochs, "Passes over the training set (tables: 100)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--batch-size", a->batch_size, "Examples per minibatch (tables: 32)")
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
      ->capture_default_str()
      ->check(kUnsigned64);
  cmd->add_option("--threads", a->threads, "Threads (0: one per core); results do not depend on it")
      ->capture_default_str()
      ->check(CLI::Range(0u, 256u));
  cmd->add_option("--limit", a->limit, "Use only the first N training images (quick runs)")
      ->check(CLI::Range(1LL, 1LL << 40));
  cmd->add_option("--out", a->out,
                  "Save the trained model to FILE (safetensors; replaced atomically)");
  cmd->add_option("--metrics", a->metrics, "Write one CSV row per epoch to FILE");
  cmd->add_option("--plot", a->plot,
                  "Draw loss, training and test accuracy against epoch into FILE (.svg or .png)");
  cmd->add_option("--report", a->report,
                  "Write a report into folder DIR: report.html with the curves, predictions, "
                  "weight templates and confusion matrix, and the model (model.safetensors)");
  cmd->add_flag("--quiet,-q", a->quiet, "No progress bar, no epoch lines: only the summary");
  cmd->add_option("--backend", a->backend,
                  "native: softreg's own engine; torch: the lesson's concise model on LibTorch")
      ->capture_default_str()
      ->check(CLI::IsMember({"native", "torch"}));
  cmd->callback([a, cmd] {
    // Tables are small: the lesson's 10 epochs of batches of 256 are a few dozen steps there.
    // Unless told otherwise, a table trains for 100 epochs in batches of 32 (docs/cli.md).
    if (a->data.tabular()) {
      if (cmd->count("--epochs") == 0) a->epochs = 100;
      if (cmd->count("--batch-size") == 0) a->batch_size = 32;
    }
    run(*a);
  });
}

}  // namespace softreg::cli
