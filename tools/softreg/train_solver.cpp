// softreg train --solver lbfgs | newton: the regularised optimum (docs/objective.md), with example
// weights and --cv; and the options of the objective that SGD shares.
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "checks.hpp"
#include "softreg/classifier.hpp"
#include "softreg/error.hpp"
#include "softreg/kernel.hpp"
#include "softreg/objective.hpp"
#include "softreg/train.hpp"
#include "train_args.hpp"

namespace softreg::cli {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  if (!text.empty() && text.back() == ',') items.emplace_back();
  return items;
}

bool read_double(const std::string& s, double& v) {
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, v);
  return r.ec == std::errc() && r.ptr == end && !s.empty();
}

std::string accuracy_text(double a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.4f", a);
  return buf;
}

}  // namespace

Solver TrainArgs::solver_kind() const {
  if (solver == "lbfgs") return Solver::lbfgs;
  if (solver == "newton") return Solver::newton;
  if (solver == "sgd") return Solver::sgd;
  // Text: SGD, whose model is K x 2^B floats; L-BFGS would keep 2m + 6 vectors of as many doubles.
  if (!data.text.empty()) return Solver::sgd;
  return data.tabular() ? Solver::lbfgs : Solver::sgd;
}

std::string number_text(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::vector<Penalty> penalties_of(const TrainArgs& a, const Penalty& fallback) {
  const std::pair<const char*, const std::string*> given[] = {
      {"--l2", &a.l2}, {"--C", &a.c}, {"--weight-decay", &a.weight_decay}};
  const char* option = nullptr;
  const std::string* text = nullptr;
  for (const auto& [name, value] : given) {
    if (value->empty()) continue;
    if (option != nullptr)
      throw InputError(std::string(option) + " and " + name +
                       " both set the penalty: give one of --l2, --C and --weight-decay");
    option = name;
    text = value;
  }
  if (option == nullptr) return {fallback};
  const bool is_c = std::string(option) == "--C";
  std::vector<Penalty> list;
  for (const std::string& item : split_list(*text)) {
    double v = 0;
    if (!read_double(item, v) || !std::isfinite(v) || (is_c ? v <= 0 : v < 0))
      throw InputError(std::string(option) + ": expected " +
                       (is_c ? "a finite number > 0" : "a finite number >= 0") + " but found " +
                       (item.empty() ? "nothing" : item));
    list.push_back({is_c ? Penalty::c : Penalty::lambda, v});
  }
  if (list.size() > 1 && a.cv == 0)
    throw InputError(std::string(option) + " " + *text +
                     ": a list of values is for --cv K, which chooses among them");
  return list;
}

ClassWeights class_weights_of(const TrainArgs& a, const Dataset& train) {
  ClassWeights w;
  if (a.class_weight.empty()) return w;
  if (a.class_weight == "balanced") {
    w.balanced = true;
    return w;
  }
  w.given.assign(train.classes(), 1.0);
  for (const std::string& item : split_list(a.class_weight)) {
    const auto eq = item.rfind('=');
    double v = 0;
    if (eq == std::string::npos || !read_double(item.substr(eq + 1), v) || !std::isfinite(v) ||
        v < 0)
      throw InputError(
          "--class-weight: expected 'balanced' or NAME=WEIGHT,... (each weight a "
          "finite number >= 0) but found '" +
          item + "'");
    const std::string name = item.substr(0, eq);
    const auto it = std::find(train.class_names.begin(), train.class_names.end(), name);
    if (it == train.class_names.end()) {
      std::string known;
      for (const auto& c : train.class_names) known += (known.empty() ? "" : ", ") + c;
      throw InputError("--class-weight: no class '" + name + "' in " + train.source +
                       " (classes: " + known + ")");
    }
    w.given[static_cast<std::size_t>(it - train.class_names.begin())] = v;
  }
  return w;
}

SolverRun run_solver(const TrainArgs& a, const TrainTest& data, SoftmaxRegression& model, Rng& rng,
                     const std::function<bool()>& stop_requested, const Comm* comm) {
  using Clock = std::chrono::steady_clock;
  ThreadPool pool(a.threads);
  const std::vector<Penalty> penalties = penalties_of(a, Penalty{Penalty::c, 1.0});
  const ClassWeights class_weights = class_weights_of(a, data.train);
  FitOptions options;
  options.solver = a.solver_kind();
  options.tol = a.tol;
  options.max_iter = a.max_iter;
  options.lbfgs_memory = a.lbfgs_memory;
  options.penalty = penalties.front();
  SolverRun run;

  if (a.cv > 0) {
    const std::vector<CvPoint> points =
        cross_validate(data.train, class_weights, penalties, static_cast<std::size_t>(a.cv),
                       model.output(), options, rng, pool, stop_requested);
    const std::size_t best = best_point(points);
    const char* name = penalties.front().kind == Penalty::c ? "C" : "l2";
    // The table is --cv's answer: printed with --quiet too.
    std::printf("%-12s %-18s %s\n", name, "accuracy", "iterations");
    nlohmann::ordered_json table = nlohmann::ordered_json::array();
    for (std::size_t p = 0; p < points.size(); ++p) {
      const CvPoint& c = points[p];
      std::printf("%-12g %s ± %s    %.1f%s\n", c.penalty.value,
                  accuracy_text(c.mean_accuracy).c_str(), accuracy_text(c.std_accuracy).c_str(),
                  c.mean_iterations, p == best ? "   best" : "");
      table.push_back({{name, c.penalty.value},
                       {"mean_accuracy", c.mean_accuracy},
                       {"std_accuracy", c.std_accuracy},
                       {"mean_iterations", c.mean_iterations}});
    }
    options.penalty = points[best].penalty;
    run.notes["cv_folds"] = std::to_string(a.cv);
    run.notes["cv_results"] = table.dump();
  }

  const std::vector<double> weights = example_weights(data.train, class_weights, comm);
  const bool track = !a.plot.empty() || !a.report.empty();
  const Features train_x = Features::of(data.train), test_x = Features::of(data.test);
  auto last = Clock::now();
  const auto on_iteration = [&](const Iteration& it) {
    const double seconds = std::chrono::duration<double>(Clock::now() - last).count();
    if (!a.quiet)
      std::printf("iter %d  objective %.10f  grad %.1e  step %g  (%.2f s)\n", it.iteration,
                  it.objective, it.gradient, it.step, seconds);
    EpochMetrics m;
    m.epoch = it.iteration;
    m.loss = it.objective;
    m.seconds = seconds;
    if (track) {
      // The curves of --plot and --report: the accuracies at each iterate.
      SoftmaxRegression at = model;
      set_parameters(at, it.point);
      const PassStats tr = evaluate(at, train_x, data.train.labels, data.train.rows, pool);
      const PassStats te = evaluate(at, test_x, data.test.labels, data.test.rows, pool);
      m.train_accuracy = static_cast<double>(tr.correct) / static_cast<double>(tr.rows);
      m.test_accuracy =
          te.rows ? static_cast<double>(te.correct) / static_cast<double>(te.rows) : 0;
      m.test_loss = te.rows ? te.loss_sum / static_cast<double>(te.rows) : 0;
    }
    run.history.push_back(m);
    std::fflush(stdout);
    last = Clock::now();
  };
  // The library's API (classifier.hpp) on a view of the loaded rows; Interrupted on Ctrl-C.
  ClassifierOptions fit_options;
  fit_options.solver = options.solver;
  fit_options.penalty = options.penalty;
  fit_options.tol = options.tol;
  fit_options.max_iter = options.max_iter;
  fit_options.lbfgs_memory = options.lbfgs_memory;
  fit_options.threads = a.threads;
  fit_options.comm = comm;
  FitWatch watch;
  watch.on_iteration = on_iteration;
  watch.stop_requested = stop_requested;
  if (comm != nullptr && stop_requested)
    // Every process stops at the same iteration: when any was asked to.
    watch.stop_requested = [&] {
      double asked = 0;
      for (const double v : allgather_values(*comm, stop_requested() ? 1.0 : 0.0)) asked += v;
      return asked > 0;
    };
  const ClassifierFit r = fit_classifier(model, FeatureView::of(data.train), data.train.labels,
                                         weights, fit_options, watch);

  const PassStats tr =
      sum_across(comm, evaluate(model, train_x, data.train.labels, data.train.rows, pool));
  const PassStats te =
      sum_across(comm, evaluate(model, test_x, data.test.labels, data.test.rows, pool));
  const double train_acc = static_cast<double>(tr.correct) / static_cast<double>(tr.rows);
  const double test_acc =
      te.rows ? static_cast<double>(te.correct) / static_cast<double>(te.rows) : 0;
  const char* solver = solver_name(options.solver);
  std::printf(
      "trained %s on %zu %s in %.2f s: objective %.12g  iterations %d  %s  train acc "
      "%.4f  test acc %.4f\n",
      solver, tr.rows, a.data.tabular() ? "examples" : "images", r.seconds, r.objective,
      r.iterations, r.converged ? "converged" : "not converged", train_acc, test_acc);
  if (!r.converged && (comm == nullptr || comm->rank() == 0))
    std::fprintf(stderr,
                 "softreg: warning: %s did not converge: %s after %d iterations, grad %.2e > "
                 "--tol %g (raise --max-iter, or --tol)\n",
                 solver, cli_text(r.stopped).c_str(), r.iterations, r.gradient, a.tol);

  run.notes["solver"] = solver;
  run.notes["lambda"] = number_text(r.lambda);
  if (options.penalty.kind == Penalty::c) run.notes["C"] = number_text(options.penalty.value);
  run.notes["tol"] = number_text(a.tol);
  run.notes["max_iter"] = std::to_string(a.max_iter);
  run.notes["iterations"] = std::to_string(r.iterations);
  run.notes["objective"] = number_text(r.objective);
  run.notes["gradient"] = number_text(r.gradient);
  run.notes["converged"] = r.converged ? "true" : "false";
  if (!a.class_weight.empty()) run.notes["class_weight"] = a.class_weight;
  if (!a.data.sample_weight.empty()) run.notes["sample_weight_column"] = a.data.sample_weight;
  run.notes["train_accuracy"] = number_text(train_acc);
  run.notes["test_accuracy"] = number_text(test_acc);
  return run;
}

}  // namespace softreg::cli
