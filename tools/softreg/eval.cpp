// softreg eval: a saved model's accuracy on the Fashion-MNIST test set, with its standard error,
// per class, and the confusion matrix.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "data_args.hpp"
#include "softreg/data.hpp"
#include "softreg/io.hpp"
#include "softreg/kernel.hpp"
#include "softreg/metrics.hpp"

namespace softreg::cli {

namespace {

struct EvalArgs {
  std::string model;
  DataArgs data;
  unsigned threads = 0;
  bool json = false;
};

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// The confusion matrix as a text table: one row per true class (its index and name), one
// column per predicted class (its index), every column as wide as its widest entry.
std::string confusion_table(const ConfusionMatrix& cm, const std::vector<std::string>& names) {
  const std::size_t k = cm.classes;
  std::vector<std::string> row_labels(k);
  std::size_t label_width = 0;
  for (std::size_t t = 0; t < k; ++t) {
    row_labels[t] = std::to_string(t) + " " + names[t];
    label_width = std::max(label_width, row_labels[t].size());
  }
  std::vector<std::size_t> width(k);
  for (std::size_t p = 0; p < k; ++p) {
    width[p] = std::to_string(p).size();
    for (std::size_t t = 0; t < k; ++t)
      width[p] = std::max(width[p], std::to_string(cm(t, p)).size());
  }
  auto pad_left = [](const std::string& s, std::size_t w) {
    return std::string(w > s.size() ? w - s.size() : 0, ' ') + s;
  };
  std::string out = std::string(label_width, ' ');
  for (std::size_t p = 0; p < k; ++p) out += "  " + pad_left(std::to_string(p), width[p]);
  out += '\n';
  for (std::size_t t = 0; t < k; ++t) {
    out += row_labels[t] + std::string(label_width - row_labels[t].size(), ' ');
    for (std::size_t p = 0; p < k; ++p) out += "  " + pad_left(std::to_string(cm(t, p)), width[p]);
    out += '\n';
  }
  return out;
}

void run(const EvalArgs& a) {
  const SavedModel saved = load_model(a.model);
  const std::optional<TextOptions> text = model_text_options(saved.info.notes, a.model);
  check_same_kind(
      text, !a.data.text.empty(), a.model,
      a.data.tabular() ? table_file(a.data) : std::string("the Fashion-MNIST test set"));
  Dataset test;
  if (a.data.tabular()) {
    // A table given whole: every row is a test example, labelled with the model's classes.
    // The training table's sample weights are dropped when the file has them.
    DataArgs data = a.data;
    if (text) data.text_options = *text;
    if (const auto w = saved.info.notes.find("sample_weight_column"); w != saved.info.notes.end())
      data.sample_weight = w->second;
    test = load_table(data, saved.info.class_names, saved.model.inputs(), true);
  } else {
    test = load_fashion_mnist_test(a.data.data.empty() ? default_fashion_mnist_dir()
                                                       : std::filesystem::path(a.data.data));
  }
  check_model_fits(a.model, saved, test);

  std::vector<float> buffer;
  const Features x = model_features(saved.info, test, buffer);
  ThreadPool pool(a.threads);
  std::vector<std::int32_t> predicted(test.rows);
  // The forward code of training: the same numbers train printed as "test acc".
  const PassStats stats = evaluate(saved.model, x, test.labels, test.rows, pool, predicted);
  const ConfusionMatrix cm = confusion_matrix(test.labels, predicted, saved.model.classes());
  const std::size_t n = test.rows;
  const double accuracy = static_cast<double>(stats.correct) / static_cast<double>(n);
  const double stderr_ = accuracy_stderr(accuracy, n);
  const double loss = stats.loss_sum / static_cast<double>(n);
  const auto& names = saved.info.class_names;

  if (a.json) {
    nlohmann::ordered_json j;
    j["model"] = a.model;
    j["data"] = test.source;
    j["examples"] = n;
    j["accuracy"] = accuracy;
    j["stderr"] = stderr_;
    j["loss"] = loss;
    j["classes"] = nlohmann::ordered_json::array();
    for (std::size_t t = 0; t < cm.classes; ++t) {
      std::size_t count = 0;
      for (std::size_t p = 0; p < cm.classes; ++p) count += cm(t, p);
      const double acc = cm.class_accuracy(t);
      j["classes"].push_back({{"name", names[t]},
                              {"examples", count},
                              {"accuracy", std::isnan(acc) ? nlohmann::ordered_json(nullptr)
                                                           : nlohmann::ordered_json(acc)}});
    }
    j["confusion"] = nlohmann::ordered_json::array();
    for (std::size_t t = 0; t < cm.classes; ++t) {
      auto row = nlohmann::ordered_json::array();
      for (std::size_t p = 0; p < cm.classes; ++p) row.push_back(cm(t, p));
      j["confusion"].push_back(row);
    }
    std::cout << j.dump() << '\n';
    return;
  }

  const char* what = test.is_bytes() ? "images" : "examples";
  std::cout << "model " << a.model << " on " << test.source << " (" << n << " " << what << ")\n";
  std::cout << "accuracy " << fixed(accuracy, 4) << " ± " << fixed(stderr_, 4)
            << "  (standard error sqrt(p(1-p)/n))\n";
  std::cout << "loss " << fixed(loss, 4) << "\n\n";

  std::size_t name_width = 5;  // "class"
  for (const auto& name : names) name_width = std::max(name_width, name.size());
  std::cout << "class" << std::string(name_width - 5, ' ') << "  accuracy  "
            << (test.is_bytes() ? "images" : " count") << "\n";
  for (std::size_t t = 0; t < cm.classes; ++t) {
    std::size_t count = 0;
    for (std::size_t p = 0; p < cm.classes; ++p) count += cm(t, p);
    const double acc = cm.class_accuracy(t);
    std::string cell = std::isnan(acc) ? "-" : fixed(acc, 4);
    std::string images = std::to_string(count);
    std::cout << names[t] << std::string(name_width - names[t].size(), ' ') << "  "
              << std::string(8 - std::min<std::size_t>(8, cell.size()), ' ') << cell << "  "
              << std::string(6 - std::min<std::size_t>(6, images.size()), ' ') << images << '\n';
  }
  std::cout << "\nconfusion matrix (rows: true class, columns: predicted class)\n"
            << confusion_table(cm, names);
}

}  // namespace

void add_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd =
      app.add_subcommand("eval",
                         "Evaluate a saved model on the Fashion-MNIST test set or a table (--csv / "
                         "--libsvm) or documents (--text): "
                         "accuracy ± standard error, per-class accuracy, confusion matrix");
  cmd->add_option("--model", a->model, "The model file (safetensors, from softreg train --out)")
      ->required();
  add_data_options(cmd, a->data, /*training=*/false);
  cmd->add_option("--threads", a->threads, "Threads (0: one per core); results do not depend on it")
      ->capture_default_str()
      ->check(CLI::Range(0u, 256u));
  cmd->add_flag("--json", a->json, "Print one JSON object instead of the tables");
  cmd->callback([a] { run(*a); });
}

}  // namespace softreg::cli
