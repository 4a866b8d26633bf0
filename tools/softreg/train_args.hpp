// What `softreg train` was asked, shared by its two paths: minibatch SGD (train.cpp, the lesson's
// loop) and the full-batch solvers with cross-validation (train_solver.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data_args.hpp"
#include "softreg/fit.hpp"
#include "softreg/io.hpp"
#include "softreg/train.hpp"

namespace softreg::cli {

struct TrainArgs {
  DataArgs data;
  std::string model = "softmax";
  int epochs = 10;
  long long batch_size = 256;
  double lr = 0.1;
  double momentum = 0.0;
  long long stream = 0;  // --stream ROWS: the shuffle buffer; 0: the file in memory
  int average = 0;       // --average E: average the weights from epoch E on; 0: not
  std::string
      schedule;        // constant, step, cosine or linear; empty: linear for --text, else constant
  int step_every = 0;  // --step-every N (epochs; 0: not given, 1 for --schedule step)
  double step_gamma = 0.0;        // --step-gamma G (0: not given, 0.1 for --schedule step)
  long long warmup = 0;           // --warmup N: steps of warm-up
  int early_stopping = 0;         // --early-stopping N: patience in epochs; 0: none
  std::string optimizer = "sgd";  // --optimizer sgd|adagrad
  std::string recipe;             // --recipe NAME
  std::string recipe_line;        // what the recipe set, printed at the start of the run
  std::uint64_t seed = 0;
  unsigned threads = 0;
  long long limit = 0;
  std::string metrics;
  bool quiet = false;
  std::string backend = "native";
  std::string out;
  std::string plot;    // training curves, .svg or .png
  std::string report;  // a folder for the report
  // The objective and its solver (docs/objective.md).
  std::string solver;  // sgd, lbfgs or newton; empty: sgd for Fashion-MNIST, lbfgs for tables
  std::string l2, c, weight_decay;  // as given: one value, or a list for --cv
  double tol = 1e-4;
  int max_iter = 100;
  int lbfgs_memory = 10;
  std::string class_weight;                   // "balanced" or NAME=W,...
  std::string init;                           // a model to start from
  int cv = 0;                                 // folds; 0: none
  std::string checkpoint;                     // --checkpoint FILE: the state after every epoch
  std::string resume;                         // --resume FILE: go on from a checkpoint
  std::shared_ptr<const Checkpoint> resumed;  // its content
  std::string given_options;                  // what the command gave (given_options), as JSON

  Solver solver_kind() const;
};

/// The options `cmd` was given (each with its values, as JSON), for a checkpoint to record.
std::string given_options(const CLI::App* cmd);

/// A resumed run's options: each option the checkpoint recorded applies where it is not given;
/// one given with another value is an InputError naming it, unless a resumed run may change it
/// (--epochs, --out, --metrics, --plot, --report, --checkpoint, --threads, --quiet); so is one
/// given that the checkpoint's run did not have (unless it gives the default).
void take_checkpoint_options(CLI::App* cmd, const Checkpoint& checkpoint, const std::string& file);

/// The penalties of --l2, --C or --weight-decay (at most one of the three may be given), each a
/// number or, with --cv, a comma-separated list; `fallback` when none is given. InputError for a
/// value that is not a finite number >= 0 (> 0 for C), for two of the options, or for a list
/// without --cv.
std::vector<Penalty> penalties_of(const TrainArgs& a, const Penalty& fallback);

/// --class-weight for the training set's classes: "balanced" or NAME=W,... (every NAME one of
/// the classes, each W a finite number >= 0; classes not named weigh 1).
ClassWeights class_weights_of(const TrainArgs& a, const Dataset& train);

/// What ends a full-batch run: the metrics for --plot and --report (one per iteration), the
/// notes the model file records, and the summary line.
struct SolverRun {
  std::vector<EpochMetrics> history;
  std::map<std::string, std::string> notes;
};

/// Trains `model` (zeros, or --init's weights) with --solver lbfgs or newton on data.train,
/// after choosing the penalty by --cv when asked; prints the iteration lines, the table and the
/// summary line.
/// With `comm`, every process runs it on its part of the rows (docs/cli.md, "Across
/// processes"): the same fit, and the accuracies of every process's rows.
SolverRun run_solver(const TrainArgs& a, const TrainTest& data, SoftmaxRegression& model, Rng& rng,
                     const std::function<bool()>& stop_requested, const Comm* comm = nullptr);

}  // namespace softreg::cli
