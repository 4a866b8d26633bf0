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
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "checks.hpp"
#include "commands.hpp"
#include "data_args.hpp"
#include "pictures.hpp"
#include "plugin.hpp"
#include "softreg/classifier.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/fit.hpp"
#include "softreg/io.hpp"
#include "softreg/model.hpp"
#include "softreg/random.hpp"
#include "train_args.hpp"
#include "train_processes.hpp"

namespace softreg::cli {

namespace {

// SGD's defaults for --text (docs/cli.md).
constexpr int kTextEpochs = 10;
constexpr long long kTextBatch = 32;
constexpr double kTextLr = 10.0;

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

// `with_lr`: the rate of the epoch's last step too (a schedule or warm-up changes it); with a
// validation set, its loss and accuracy before the test accuracy.
std::string epoch_line(const EpochMetrics& m, bool with_lr) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "epoch %d  loss %.4f  train acc %.4f  test acc %.4f  (%.2f s)",
                m.epoch, m.loss, m.train_accuracy, m.test_accuracy, m.seconds);
  std::string line = buf;
  if (m.validated) {
    std::snprintf(buf, sizeof buf, "val loss %.4f  val acc %.4f  ", m.validation_loss,
                  m.validation_accuracy);
    line.insert(line.find("test acc"), buf);
  }
  if (with_lr) {
    std::snprintf(buf, sizeof buf, "  lr %.4g", m.lr);
    line.insert(line.rfind("  ("), buf);
  }
  return line;
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

// One line on sparse data as loaded: rows, features, stored values, density and memory.
std::string sparse_summary(const Dataset& d, const Comm* comm) {
  // Across processes: the whole's figures, every process's part summed.
  std::size_t rows = d.rows, nnz = d.sparse.nnz();
  bool binary = d.sparse.binary();
  if (comm != nullptr) {
    rows = rows_of_all(comm, rows);
    nnz = rows_of_all(comm, nnz);
    binary = rows_of_all(comm, binary ? 0 : 1) == 0;
  }
  const double bytes =
      static_cast<double>((rows + 1) * sizeof(std::uint64_t) + nnz * sizeof(std::uint32_t) +
                          (binary ? 0 : nnz * sizeof(float)));
  const double cells = static_cast<double>(rows) * static_cast<double>(d.inputs);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s: %zu rows x %zu features, %zu stored values (density %.3g%%, %.1f a row), "
                "%.1f MB%s",
                d.source.c_str(), rows, d.inputs, nnz,
                cells > 0 ? 100.0 * static_cast<double>(nnz) / cells : 0.0,
                rows ? static_cast<double>(nnz) / static_cast<double>(rows) : 0.0, bytes / 1e6,
                binary ? " (binary: no values stored)" : "");
  return buf;
}

// What the model file records besides W and b: the data's shape, scale and classes, and how the
// model was trained (docs/formats.md lists the keys).
ModelInfo model_info(const TrainArgs& a, const Dataset& train, const Standardization& s) {
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
  if (!a.data.text.empty()) info.notes["text_features"] = text_options_note(a.data.text_options);
  const bool sgd = a.solver_kind() == Solver::sgd;
  nlohmann::ordered_json options = {{"backend", a.backend},
                                    {"solver", solver_name(a.solver_kind())}};
  if (sgd) {
    options["epochs"] = a.epochs;
    options["batch_size"] = a.batch_size;
    options["lr"] = a.lr;
    options["momentum"] = a.momentum;
    options["schedule"] = a.schedule.empty() ? "constant" : a.schedule;
    if (a.schedule == "step") {
      options["step_every"] = a.step_every;
      options["step_gamma"] = a.step_gamma;
    }
    if (a.warmup > 0) options["warmup"] = a.warmup;
    if (a.data.validation_split > 0) options["validation_split"] = a.data.validation_split;
    if (!a.data.validation.empty()) options["validation"] = a.data.validation;
    if (a.early_stopping > 0) options["early_stopping"] = a.early_stopping;
    options["optimizer"] = a.optimizer;
    if (!a.recipe.empty()) options["recipe"] = a.recipe;
    options["average"] = a.average;
    if (a.stream > 0) options["stream"] = a.stream;
  } else {
    options["tol"] = a.tol;
    options["max_iter"] = a.max_iter;
    if (a.solver_kind() == Solver::lbfgs) options["lbfgs_memory"] = a.lbfgs_memory;
  }
  // The penalty as given: a number, or a list of them for --cv (penalties_of checked them).
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"l2", &a.l2},
                                    {"C", &a.c},
                                    {"weight_decay", &a.weight_decay}}) {
    if (value->empty()) continue;
    nlohmann::ordered_json values = nlohmann::ordered_json::array();
    for (const Penalty& p : penalties_of(a, {})) values.push_back(p.value);
    options[name] = values.size() == 1 ? values[0] : values;
  }
  if (sgd && a.weight_decay.empty() && a.l2.empty() && a.c.empty()) options["weight_decay"] = 0.0;
  if (!a.class_weight.empty()) options["class_weight"] = a.class_weight;
  if (!a.data.sample_weight.empty()) options["sample_weight"] = a.data.sample_weight;
  if (!a.init.empty()) options["init"] = a.init;
  if (a.cv > 0) options["cv"] = a.cv;
  options["seed"] = a.seed;
  options["limit"] = nullptr;
  if (a.limit > 0) options["limit"] = a.limit;
  options["model"] = a.model;
  options["standardize"] = a.data.standardize;
  info.notes["training_options"] =
      options.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  info.notes["training_data"] = escaped_utf8(train.source);
  info.notes["training_examples"] = std::to_string(train.rows);
  return info;
}

// The epochs' figures for the model file.
void add_epoch_notes(std::map<std::string, std::string>& notes, const EpochMetrics& last) {
  notes["epochs"] = std::to_string(last.epoch);
  notes["train_loss"] = number_text(last.loss);
  notes["train_accuracy"] = number_text(last.train_accuracy);
  notes["test_loss"] = number_text(last.test_loss);
  notes["test_accuracy"] = number_text(last.test_accuracy);
}

// --init: a saved model of the data's shape, to start from.
SoftmaxRegression initial_model(const TrainArgs& a, const Dataset& train, Output output) {
  const SavedModel saved = load_model(a.init);
  const SoftmaxRegression& m = saved.model;
  if (m.inputs() != train.inputs || m.classes() != train.classes() || m.output() != output)
    throw InputError("--init " + a.init + ": a model of " + std::to_string(m.inputs()) +
                     " inputs, " + std::to_string(m.classes()) + " classes (" +
                     (m.output() == Output::logistic ? "logistic" : "softmax") + ") but " +
                     train.source + " needs " + std::to_string(train.inputs) + " inputs, " +
                     std::to_string(train.classes()) + " classes (" + a.model + ")");
  if (saved.info.class_names != train.class_names)
    throw InputError("--init " + a.init + ": the model's classes are not the data's (" +
                     train.source + ")");
  return m;
}

void run(const TrainArgs& a) {
  if (!a.quiet && !a.recipe_line.empty()) std::printf("%s\n", a.recipe_line.c_str());
  // Across processes (mpirun): each reads its part of the data; process 0 writes the files.
  const Comm* comm = processes();
  if (comm != nullptr) check_across_processes(a, *comm);
  // Before any work: a model that cannot be saved should not cost a training run.
  if (!a.out.empty()) on_first_process(comm, [&] { check_writable(a.out, "--out"); });
  if (!a.metrics.empty()) on_first_process(comm, [&] { check_writable(a.metrics, "--metrics"); });
  if (!a.data.cache.empty()) check_writable(a.data.cache, "--cache");
  if (!a.plot.empty()) check_picture_file(a.plot, "--plot", {".svg", ".png"});
  if (!a.report.empty()) prepare_report_folder(a.report);
  const Solver solver = a.solver_kind();
  if (solver != Solver::sgd && a.backend == "torch")
    throw InputError("--backend torch trains with SGD only: --solver " +
                     std::string(solver_name(solver)) + " is softreg's");
  if (a.backend == "torch" && ((!a.schedule.empty() && a.schedule != "constant") || a.warmup > 0))
    throw InputError("--backend torch trains at a constant rate: " +
                     std::string(a.warmup > 0 ? "--warmup" : "--schedule " + a.schedule) +
                     " is softreg's");
  if (a.optimizer == "adagrad" && a.momentum != 0.0)
    throw InputError("--optimizer adagrad takes no --momentum (AdaGrad has none)");
  if (a.optimizer == "adagrad" && (!a.data.libsvm.empty() || !a.data.text.empty()) &&
      (!a.l2.empty() || !a.c.empty() || !a.weight_decay.empty()))
    throw InputError(
        "--optimizer adagrad on sparse data takes no --momentum and no penalty (--l2, --C, "
        "--weight-decay): AdaGrad's decay could not be applied lazily, only to every weight at "
        "every step");
  if (a.backend == "torch" && a.optimizer != "sgd")
    throw InputError("--backend torch trains with plain SGD: --optimizer " + a.optimizer +
                     " is softreg's");
  if (a.backend == "torch" &&
      (a.data.validation_split > 0 || !a.data.validation.empty() || a.early_stopping > 0))
    throw InputError(
        "--backend torch does not validate: --validation-split, --validation and "
        "--early-stopping are softreg's");
  if (a.backend == "torch" && a.average > 0)
    throw InputError("--backend torch does not average the weights: --average is softreg's");
  const bool checkpointing = !a.checkpoint.empty() || a.resumed != nullptr;
  if (checkpointing && (solver != Solver::sgd || a.backend == "torch"))
    throw InputError(std::string(a.resumed ? "--resume" : "--checkpoint") +
                     " saves and continues the epochs of --solver sgd on softreg's engine, not " +
                     (a.backend == "torch" ? "--backend torch"
                                           : "--solver " + std::string(solver_name(solver))));
  if (!a.checkpoint.empty()) check_writable(a.checkpoint, "--checkpoint");
  if (a.resumed && a.epochs <= a.resumed->state.epoch)
    throw InputError("--epochs " + std::to_string(a.epochs) + ": the checkpoint " + a.resume +
                     " has done " + std::to_string(a.resumed->state.epoch) +
                     " epochs already; ask for more to resume");
  if (a.cv > 0 && solver == Solver::sgd)
    throw InputError("--cv chooses the penalty of --solver lbfgs or newton, not of sgd");
  if (!a.data.sample_weight.empty() && a.data.csv.empty())
    throw InputError("--sample-weight names a column of --csv");
  const torch_backend::FitFunction torch_fit =
      a.backend == "torch" ? load_torch_backend() : nullptr;
  // Checked before the data is read: a bad value should not cost the loading.
  penalties_of(a, Penalty{Penalty::lambda, 0.0});
  Rng rng(a.seed);  // decides the split of a table, the initial weights and every shuffle
  Standardization standardization;
  // --stream: the training file is read in blocks every epoch, never whole; `data.train` then
  // holds only its description (rows, features, classes) and the test file is read whole.
  std::unique_ptr<SparseStream> stream;
  TrainTest data;
  Dataset validation;  // --validation-split, --validation: empty without
  if (a.stream > 0) {
    if (a.data.libsvm.empty() && a.data.text.empty())
      throw InputError("--stream reads a --libsvm or --text file in blocks");
    if (a.data.test.empty())
      throw InputError("--stream needs --test FILE (a split would need the whole file)");
    if (solver != Solver::sgd) throw InputError("--stream trains with --solver sgd");
    if (a.data.standardize || a.limit > 0 || a.data.validation_split > 0)
      throw InputError(
          "--stream does not go with --standardize, --limit or --validation-split (give "
          "--validation FILE)");
    const std::string& file = table_file(a.data);
    stream = open_training_stream(a.data);
    data.train.rows = stream->rows();
    data.train.inputs = stream->inputs();
    data.train.shape = {stream->inputs()};
    data.train.class_names = stream->classes();
    data.train.source = file;
    data.train.sparse.offsets = {0};
    data.test = load_held_out(a.data, a.data.test, stream->classes(), stream->inputs(), "--test");
    if (!a.data.validation.empty())
      validation = load_held_out(a.data, a.data.validation, stream->classes(), stream->inputs(),
                                 "--validation");
    if (!a.quiet)
      std::printf(
          "streaming %s: %zu rows x %zu features in blocks of 1 MB, a shuffle buffer "
          "of %lld rows\n",
          file.c_str(), stream->rows(), stream->inputs(), a.stream);
  } else if (comm != nullptr) {
    data =
        load_training_parts(a, *comm, a.model == "logistic" ? Output::logistic : Output::softmax);
  } else {
    data = load_training_data(a.data, rng, standardization, &validation);
  }
  if (a.limit > 0) {
    if (static_cast<std::size_t>(a.limit) > data.train.rows)
      throw InputError("--limit " + std::to_string(a.limit) + ": the training set " +
                       data.train.source + " has only " + std::to_string(data.train.rows) +
                       " images");
    data.train.keep_first(static_cast<std::size_t>(a.limit));
  }

  // What a checkpoint records of the run besides its state: the options, and fingerprints of the
  // data that a resumed run must find again.
  std::map<std::string, std::string> checkpoint_notes;
  if (checkpointing) {
    checkpoint_notes["options"] = a.given_options;
    checkpoint_notes["training_data"] = escaped_utf8(data.train.source);
    const auto hex = [](std::uint64_t v) {
      char buf[17];
      std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
      return std::string(buf);
    };
    // "rows:" and the hex of rows_fingerprint_of_all, the same for every number of processes;
    // checkpoints before it hold the hex of fingerprint(), of the whole set, and are checked by
    // it (in one process: it needs the whole set). A streamed file: the hex of its bytes' hash.
    const auto of = [&](const Dataset& d, const std::string& part) {
      bool earlier = false;
      if (a.resumed) {
        const auto saved = a.resumed->notes.find("fingerprint." + part);
        earlier = saved != a.resumed->notes.end() && !saved->second.starts_with("rows:");
      }
      if (earlier && comm != nullptr)
        throw InputError("--resume " + a.resume +
                         ": the checkpoint was written by an earlier softreg, whose fingerprint "
                         "of the data needs the whole set: resume it in one process");
      return earlier ? hex(fingerprint(d)) : "rows:" + hex(rows_fingerprint_of_all(comm, d));
    };
    checkpoint_notes["fingerprint.train"] =
        stream ? hex(file_fingerprint(data.train.source)) : of(data.train, "train");
    checkpoint_notes["fingerprint.test"] = of(data.test, "test");
    if (validation.rows != 0)
      checkpoint_notes["fingerprint.validation"] = of(validation, "validation");
    if (a.resumed)
      for (const auto& [part, source] :
           {std::pair<std::string, std::string>{"train", data.train.source},
            {"test", data.test.source},
            {"validation", validation.rows != 0 ? validation.source : "the validation set"}}) {
        const std::string key = "fingerprint." + part;
        const auto saved = a.resumed->notes.find(key);
        const auto now = checkpoint_notes.find(key);
        if ((saved == a.resumed->notes.end()) != (now == checkpoint_notes.end()) ||
            (now != checkpoint_notes.end() && saved->second != now->second))
          throw InputError("--resume " + a.resume + ": the checkpoint was trained on other " +
                           (part == "train" ? "training" : part) + " data than " + source +
                           " (its fingerprint " +
                           (saved == a.resumed->notes.end() ? "none" : saved->second) + ", now " +
                           (now == checkpoint_notes.end() ? "none" : now->second) + ")");
      }
  }

  if (!a.quiet)
    for (const Dataset* d : {&data.train, &data.test})
      if (d->is_sparse() && !(stream && d == &data.train))
        std::cout << sparse_summary(*d, comm) << "\n";
  if (!a.quiet && validation.rows != 0)
    std::printf("validation: %zu rows of %s\n", validation.rows, validation.source.c_str());

  // The metrics file's text, written (atomically) only when the run has succeeded.
  std::optional<std::string> metrics;
  if (!a.metrics.empty() && (comm == nullptr || comm->rank() == 0))
    metrics = solver == Solver::sgd
                  ? (validation.rows != 0
                         ? "epoch,loss,train_acc,test_acc,test_loss,seconds,lr,val_loss,val_acc\n"
                         : "epoch,loss,train_acc,test_acc,test_loss,seconds,lr\n")
                  : "iteration,objective,train_acc,test_acc,test_loss,seconds\n";

  const Output output = a.model == "logistic" ? Output::logistic : Output::softmax;
  if (output == Output::logistic && data.train.classes() != 2)
    throw InputError("--model logistic: logistic regression has two classes but " +
                     data.train.source + " has " + std::to_string(data.train.classes()) +
                     " (use --model softmax)");
  if (output == Output::logistic && torch_fit != nullptr)
    throw InputError("--model logistic: the torch backend trains softmax regression only");
  // SGD starts from the lesson's random weights, the solvers from zeros (as scikit-learn does),
  // and SGD on sparse data from zeros too (a column no row stores then stays 0); --init from a
  // saved model.
  SoftmaxRegression model(data.train.inputs, data.train.classes(), output);
  if (!a.init.empty())
    model = initial_model(a, data.train, output);
  else if (solver == Solver::sgd && !data.train.is_sparse())
    model.init(rng);

  const auto stop_requested = [] { return g_signal.load(std::memory_order_relaxed) != 0; };
  // The run's figures for the model file; the rest of its metadata is made only when it is
  // written (the feature names of a wide table are a long list).
  std::map<std::string, std::string> notes;
  std::vector<EpochMetrics> history;
  if (solver != Solver::sgd) {
    SolverRun run;
    {
      const StopOnSignal stop_on_signal;
      run = run_solver(a, data, model, rng, stop_requested, comm);
      if (g_signal.load() != 0)
        throw Interrupted("interrupted after training: nothing was saved", 0);
    }
    history = std::move(run.history);
    notes = std::move(run.notes);
    if (metrics)
      for (const EpochMetrics& m : history) {
        char row[200];
        std::snprintf(row, sizeof row, "%d,%.12g,%.6f,%.6f,%.6f,%.6f\n", m.epoch, m.loss,
                      m.train_accuracy, m.test_accuracy, m.test_loss, m.seconds);
        *metrics += row;
      }
  } else {
    // SGD on F: the penalty is λ of --l2 / --weight-decay, or 1 / (C n) for --C; none by default.
    // n counts every process's rows.
    const std::size_t trained_rows = rows_of_all(comm, data.train.rows);
    const double lambda = penalties_of(a, Penalty{Penalty::lambda, 0.0})
                              .front()
                              .lambda_for(static_cast<double>(trained_rows));
    if (!a.class_weight.empty() || !a.data.sample_weight.empty())
      throw InputError(
          "--class-weight and --sample-weight weigh the objective of --solver "
          "lbfgs or newton; --solver sgd does not take them");
    TrainOptions options;
    options.epochs = a.epochs;
    options.batch_size = static_cast<std::size_t>(a.batch_size);
    options.sgd = {static_cast<float>(a.lr), static_cast<float>(a.momentum),
                   static_cast<float>(lambda)};
    options.threads = a.threads;
    options.comm = comm;
    options.average_from = a.average;
    using Schedule = TrainOptions::Schedule;
    options.schedule = a.schedule == "linear"   ? Schedule::linear
                       : a.schedule == "step"   ? Schedule::step
                       : a.schedule == "cosine" ? Schedule::cosine
                                                : Schedule::constant;
    options.step_every = a.step_every;
    options.step_gamma = static_cast<float>(a.step_gamma);
    options.warmup = static_cast<std::uint64_t>(a.warmup);
    options.early_stopping = a.early_stopping;
    options.sgd.adagrad = a.optimizer == "adagrad";

    const auto metrics_row = [&](const EpochMetrics& m) {
      if (metrics) {
        char row[240];
        const int n =
            std::snprintf(row, sizeof row, "%d,%.6f,%.6f,%.6f,%.6f,%.4f,%.6g", m.epoch, m.loss,
                          m.train_accuracy, m.test_accuracy, m.test_loss, m.seconds, m.lr);
        if (m.validated)
          std::snprintf(row + n, sizeof row - static_cast<std::size_t>(n), ",%.6f,%.6f",
                        m.validation_loss, m.validation_accuracy);
        std::strcat(row, "\n");
        *metrics += row;
      }
    };
    TrainCallbacks callbacks;
    callbacks.on_epoch = [&](const EpochMetrics& m) {
      const bool scheduled = options.schedule != Schedule::constant || options.warmup != 0;
      if (!a.quiet) std::cout << epoch_line(m, scheduled) << std::endl;
      metrics_row(m);
    };
    int checkpointed = 0;  // the epoch the checkpoint file holds
    if (!a.checkpoint.empty())
      callbacks.on_checkpoint = [&](const TrainState& state) {
        // Across processes every process holds the same state: process 0 writes it (and an
        // error writing it ends every process).
        on_first_process(comm, [&] { save_checkpoint(a.checkpoint, state, checkpoint_notes); });
        checkpointed = state.epoch;
      };
    if (a.resumed) {
      const TrainState& state = a.resumed->state;
      for (const EpochMetrics& m : state.history) metrics_row(m);
      checkpointed = a.checkpoint == a.resume ? state.epoch : 0;
      if (!a.quiet)
        std::printf("resuming %s after epoch %d of %d\n", a.resume.c_str(), state.epoch,
                    options.epochs);
    }
    if (!a.quiet && isatty(STDERR_FILENO)) callbacks.on_batch = draw_progress;
    callbacks.stop_requested = stop_requested;
    {
      const StopOnSignal stop_on_signal;
      if (torch_fit != nullptr) {
        torch_fit(model, data.train, data.test, rng, options, callbacks, history);
      } else {
        try {
          if (stream) {
            Trainer trainer(options);
            if (validation.rows != 0) trainer.validate_on(validation);
            if (a.resumed) trainer.resume_from(a.resumed->state);
            history = trainer.fit_stream(model, *stream, data.test,
                                         static_cast<std::size_t>(a.stream), rng, callbacks);
          } else {
            // In memory: the library's API (classifier.hpp) on views of the loaded data.
            ClassifierOptions fit_options;
            fit_options.solver = Solver::sgd;
            fit_options.penalty = Penalty{Penalty::lambda, lambda};
            fit_options.sgd = options;
            fit_options.threads = a.threads;
            fit_options.comm = comm;
            const FeatureView train_x = FeatureView::of(data.train);
            std::optional<FeatureView> test_x, validation_x;
            FitWatch watch;
            watch.epochs = callbacks;
            watch.stop_requested = stop_requested;
            if (data.test.rows != 0)
              watch.test = {&test_x.emplace(FeatureView::of(data.test)), data.test.labels};
            if (validation.rows != 0)
              watch.validation = {&validation_x.emplace(FeatureView::of(validation)),
                                  validation.labels};
            if (a.resumed) watch.resume = &a.resumed->state;
            watch.rng = &rng;
            history =
                fit_classifier(model, train_x, data.train.labels, {}, fit_options, watch).history;
          }
        } catch (const Interrupted& e) {
          if (checkpointed == 0) throw;
          throw Interrupted(std::string(e.what()) + "; the checkpoint " + a.checkpoint +
                                " holds epoch " + std::to_string(checkpointed) + " (--resume " +
                                a.checkpoint + " goes on from there)",
                            e.epoch);
        }
      }
      // A signal after the trainer's last look: still nothing is saved.
      if (g_signal.load() != 0) throw Interrupted(history.empty() ? 0 : history.back().epoch);
    }
    double seconds = 0;
    for (const auto& m : history) seconds += m.seconds;
    // With early stopping the model is the weights of the epoch of the lowest validation loss:
    // the summary gives that epoch's figures.
    const int kept = a.early_stopping > 0 ? best_validation_epoch(history) : 0;
    const EpochMetrics& last =
        kept > 0 ? history[static_cast<std::size_t>(kept - 1)] : history.back();
    if (kept > 0 && !a.quiet)
      std::printf("%s after epoch %d: kept the weights of epoch %d (validation loss %.4f)\n",
                  history.back().epoch < options.epochs ? "stopped early" : "stopped",
                  history.back().epoch, kept, last.validation_loss);
    std::printf(
        "trained %d epoch%s on %zu %s in %.2f s: loss %.4f  train acc %.4f  test acc %.4f\n",
        history.back().epoch, history.back().epoch == 1 ? "" : "s", trained_rows,
        !a.data.tabular()      ? "images"  // (not the part's storage: a part may be empty)
        : !a.data.text.empty() ? "documents"
                               : "examples",
        seconds, last.loss, last.train_accuracy, last.test_accuracy);
    add_epoch_notes(notes, last);
    notes["solver"] = "sgd";
    notes["lambda"] = number_text(lambda);
  }
  ModelInfo info;
  if (!a.out.empty() || !a.report.empty()) {
    info = model_info(a, data.train, standardization);
    if (comm != nullptr)
      info.notes["training_examples"] = std::to_string(rows_of_all(comm, data.train.rows));
    for (auto& [key, value] : notes) info.notes[key] = value;
  }
  // Only a finished run gets here: a diverged one has thrown, so nothing NaN is saved.
  if (!a.out.empty() && (comm == nullptr || comm->rank() == 0)) {
    save_model(a.out, model, info);
    if (!a.quiet) std::printf("saved the model to %s\n", a.out.c_str());
  }
  if (metrics)
    write_file_atomic(a.metrics, std::span(reinterpret_cast<const std::uint8_t*>(metrics->data()),
                                           metrics->size()));
  if (!a.plot.empty() && !history.empty()) {
    const std::string what = solver == Solver::sgd
                                 ? "lr " + number_text(a.lr) + ", batch " +
                                       std::to_string(a.batch_size) + ", " +
                                       std::to_string(history.back().epoch) + " epochs"
                                 : std::string(solver_name(solver)) + ", " +
                                       std::to_string(history.back().epoch) + " iterations";
    write_training_plot(
        a.plot, history,
        escaped_utf8(std::filesystem::path(data.train.source).filename().string()) + ", " + what);
    if (!a.quiet) std::printf("wrote the training curves to %s\n", a.plot.c_str());
  }
  if (!a.report.empty()) {
    const auto page = write_report(a.report, {model, info}, data.test, history, a.threads);
    if (!a.quiet) std::printf("wrote the report to %s\n", page.c_str());
  }
}

}  // namespace

bool torch_built() {
#if defined(SOFTREG_TORCH_PLUGIN)
  return true;
#else
  return false;
#endif
}

int interrupting_signal() {
  return g_signal.load();
}

// Named sets of option values (--recipe NAME): each value applies where its option is not given.
struct Recipe {
  std::string name;
  std::string about;
  std::vector<std::pair<std::string, std::string>> options;
};

const std::vector<Recipe>& recipes() {
  static const std::vector<Recipe> all = {
      {"lesson", "the notebook's run: the defaults, unchanged", {}},
      {"fast",
       "the best validation accuracy on Fashion-MNIST within 1.5 s of wall time, chosen on "
       "validation splits of the training images (docs/cli.md, \"Recipes\")",
       {{"--epochs", "20"},
        {"--batch-size", "64"},
        {"--lr", "0.2"},
        {"--optimizer", "adagrad"},
        {"--average", "6"}}},
  };
  return all;
}

std::string recipes_help() {
  std::string h = "A named set of option values, each overridden by the option given:";
  for (const Recipe& r : recipes()) {
    h += " " + r.name + " (" + r.about;
    for (const auto& [o, v] : r.options) h += "; " + o + " " + v;
    h += ")";
  }
  return h;
}

// Applies recipe `name` to the options not given, and says what it did in a.recipe_line.
void apply_recipe(CLI::App* cmd, TrainArgs& a) {
  for (const Recipe& r : recipes()) {
    if (r.name != a.recipe) continue;
    std::string line = "recipe " + r.name + ":";
    if (r.options.empty()) line += " " + r.about;
    for (const auto& [option, value] : r.options) {
      if (cmd->count(option) != 0) {
        line += " (" + option + " given)";
        continue;
      }
      CLI::Option* o = cmd->get_option(option);
      o->add_result(value);
      o->run_callback();
      line += " " + option + " " + value;
    }
    a.recipe_line = line;
  }
}

void add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train softmax (or logistic) regression with minibatch SGD, the lesson's loop: on "
      "Fashion-MNIST, or on a table (--csv / --libsvm) or documents (--text)");
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
  cmd->add_option("--schedule", a->schedule,
                  "SGD's learning rate, step by step: constant; step (times --step-gamma every "
                  "--step-every epochs); cosine (from --lr down to 0 over the run); linear (from "
                  "--lr in the first epoch down by equal steps to --lr / epochs in the last; the "
                  "default for --text)")
      ->check(CLI::IsMember({"constant", "step", "cosine", "linear"}));
  cmd->add_option("--step-every", a->step_every,
                  "--schedule step: epochs between two decays of the rate (default 1)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--step-gamma", a->step_gamma,
                  "--schedule step: each decay multiplies the rate by G, 0 < G <= 1 (default 0.1)")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(s, v) || !std::isfinite(v) || v <= 0 || v > 1)
              return "expected a number in (0, 1] but found " + s;
            return {};
          },
          "(0, 1]"));
  cmd->add_option("--warmup", a->warmup,
                  "SGD: the first N steps (batches) scale the rate by (t + 1) / N, from 1/N of "
                  "it at the first step to all of it (0: none)")
      ->check(CLI::Range(0LL, 1LL << 40));
  cmd->add_option("--stream", a->stream,
                  "--libsvm, --text with --test: read the training file in blocks every epoch, "
                  "never whole, shuffling within a buffer of ROWS rows (memory: the buffer, one "
                  "1 MB block and the model)")
      ->check(CLI::Range(1LL, 1LL << 32));
  std::vector<std::string> recipe_names;
  for (const Recipe& r : recipes()) recipe_names.push_back(r.name);
  cmd->add_option("--recipe", a->recipe, recipes_help())->check(CLI::IsMember(recipe_names));
  cmd->add_option("--optimizer", a->optimizer,
                  "SGD's update: sgd (with --momentum, PyTorch's) or adagrad (per-coordinate "
                  "AdaGrad, PyTorch's Adagrad: lr / (sqrt(sum of squared gradients) + 1e-10); "
                  "exactly lazy on sparse rows, where it takes no penalty)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adagrad"}));
  cmd->add_option("--early-stopping", a->early_stopping,
                  "SGD with a validation set: stop when its loss has not improved for N epochs, "
                  "and keep the weights of the epoch of the lowest (0: train every epoch)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--average", a->average,
                  "SGD: the model is the average of the weights after every step from the start "
                  "of epoch E on, and each epoch evaluates it (0: no averaging; on sparse data "
                  "without --momentum)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--momentum", a->momentum, "SGD momentum (PyTorch's meaning)")
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
  cmd->add_option("--checkpoint", a->checkpoint,
                  "SGD: after every epoch, write everything needed to go on (weights, optimizer "
                  "state, average, order, random state, options, history) into FILE, replaced "
                  "atomically");
  cmd->add_option("--resume", a->resume,
                  "Go on from a checkpoint with its options, bit for bit as if the run had not "
                  "stopped; --epochs (the total), --out, --metrics, --plot, --report, "
                  "--checkpoint and --threads may change");
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
  // The objective and the full-batch solvers (docs/objective.md).
  cmd->add_option("--solver", a->solver,
                  "sgd: minibatch SGD (the lesson's loop; the default for Fashion-MNIST); lbfgs, "
                  "newton: the regularised optimum to --tol (the default for tables: lbfgs)")
      ->check(CLI::IsMember({"sgd", "lbfgs", "newton"}));
  cmd->add_option("--l2", a->l2,
                  "λ of the objective's penalty (λ/2)‖W‖² (a list with --cv); the intercept is "
                  "not penalised");
  cmd->add_option("--C", a->c,
                  "scikit-learn's C: λ = 1 / (C n) (a list with --cv; default 1 for lbfgs and "
                  "newton, no penalty for sgd)");
  cmd->add_option("--weight-decay", a->weight_decay,
                  "another name for --l2 (PyTorch's weight decay on a mean loss is λ)");
  cmd->add_option("--tol", a->tol,
                  "lbfgs, newton: stop when n max|∂F/∂θ| <= TOL (scikit-learn's test)")
      ->capture_default_str()
      ->check(kFinitePositive);
  cmd->add_option("--max-iter", a->max_iter, "lbfgs, newton: at most this many iterations")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000000));
  cmd->add_option("--lbfgs-memory", a->lbfgs_memory,
                  "lbfgs: the number of past steps its Hessian estimate remembers")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--class-weight", a->class_weight,
                  "balanced (n / (K n_k), scikit-learn's) or NAME=W,...: each example's weight "
                  "in the objective is its class's");
  cmd->add_option("--sample-weight", a->data.sample_weight,
                  "a CSV column of weights (finite, >= 0, not all 0): each example's weight in "
                  "the objective");
  cmd->add_option("--init", a->init, "start from this saved model (of the data's shape)");
  cmd->add_option("--cv", a->cv,
                  "choose --C (or --l2) among a list by K-fold stratified cross-validation, then "
                  "train on all training rows with the best")
      ->check(CLI::Range(1, 1000));
  cmd->callback([a, cmd] {
    if (!a->resume.empty()) {
      // The checkpoint's options, recipe included, apply where none is given.
      try {
        a->resumed = std::make_shared<const Checkpoint>(load_checkpoint(a->resume));
      } catch (const InputError& e) {
        throw InputError(std::string("--resume ") + e.what());
      }
      take_checkpoint_options(cmd, *a->resumed, a->resume);
    } else if (!a->recipe.empty()) {
      apply_recipe(cmd, *a);
    }
    a->given_options = given_options(cmd);
    if (a->cv == 1) throw InputError("--cv 1: expected at least 2 folds");
    // Tables are small: the lesson's 10 epochs of batches of 256 are a few dozen steps there.
    // Unless told otherwise, a table trains for 100 epochs in batches of 32 (docs/cli.md).
    if (!a->data.text.empty()) {
      // Text: the recipe measured on the Debian task (docs/cli.md, "Text").
      if (cmd->count("--epochs") == 0) a->epochs = kTextEpochs;
      if (cmd->count("--batch-size") == 0) a->batch_size = kTextBatch;
      if (cmd->count("--lr") == 0) a->lr = kTextLr;
      if (cmd->count("--schedule") == 0) a->schedule = "linear";
    } else if (a->data.tabular()) {
      if (cmd->count("--epochs") == 0) a->epochs = 100;
      if (cmd->count("--batch-size") == 0) a->batch_size = 32;
    }
    for (const char* o : {"--ngrams", "--hash-bits", "--weighting", "--norm"})
      if (cmd->count(o) != 0 && a->data.text.empty())
        throw InputError(std::string(o) + " applies to --text");
    if (a->early_stopping > 0 && a->data.validation.empty() && a->data.validation_split == 0)
      throw InputError(
          "--early-stopping needs a validation set: --validation-split F or --validation FILE");
    if ((a->data.validation_split > 0 || !a->data.validation.empty()) &&
        a->solver_kind() != Solver::sgd)
      throw InputError(
          std::string(a->data.validation_split > 0 ? "--validation-split" : "--validation") +
          " validates SGD's epochs; --solver lbfgs and newton stop at the optimum");
    for (const char* o : {"--step-every", "--step-gamma"})
      if (cmd->count(o) != 0 && a->schedule != "step")
        throw InputError(std::string(o) + " applies to --schedule step");
    if (a->schedule == "step") {
      if (a->step_every == 0) a->step_every = 1;
      if (a->step_gamma == 0.0) a->step_gamma = 0.1;
    }
    a->data.quiet = a->quiet;
    run(*a);
  });
}

}  // namespace softreg::cli
