// softreg show: pictures of a saved model. `show predictions` draws test images titled with their
// true and predicted classes, `show weights` the weight templates, `show confusion` the confusion
// matrix on the test set.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "pictures.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/io.hpp"
#include "softreg/metrics.hpp"
#include "softreg/plot.hpp"

namespace softreg::cli {

namespace {

namespace fs = std::filesystem;

struct ShowArgs {
  std::string model;
  std::string data;
  std::string out;
  unsigned threads = 0;
  std::size_t n = 18;
  bool wrong = false;
};

// The model, and the test set it is checked against.
struct ModelAndTest {
  SavedModel saved;
  Dataset test;
};

ModelAndTest load(const ShowArgs& a) {
  ModelAndTest m{load_model(a.model), {}};
  const fs::path dir = a.data.empty() ? default_fashion_mnist_dir() : fs::path(a.data);
  m.test = load_fashion_mnist_test(dir);
  check_model_fits(a.model, m.saved, m.test);
  return m;
}

void show_predictions(const ShowArgs& a) {
  check_picture_file(a.out, "--out", {".png"});
  const ModelAndTest m = load(a);
  const std::vector<std::int32_t> predicted = predict_all(m.saved, m.test, a.threads);
  const std::string name = fs::path(a.model).filename().string();
  const std::string title =
      a.wrong ? name + ": mistakes on the test set" : name + ": the first test images";
  write_png(a.out, predictions_picture(m.test, predicted, a.n, a.wrong, title));
  std::printf("wrote %s\n", a.out.c_str());
}

void show_weights(const ShowArgs& a) {
  check_picture_file(a.out, "--out", {".png"});
  const SavedModel saved = load_model(a.model);
  const std::string title = fs::path(a.model).filename().string() + ": weight templates";
  write_png(a.out, weights_picture(saved, a.model, title));
  std::printf("wrote %s\n", a.out.c_str());
}

void show_confusion(const ShowArgs& a) {
  check_picture_file(a.out, "--out", {".svg"});
  const ModelAndTest m = load(a);
  const std::vector<std::int32_t> predicted = predict_all(m.saved, m.test, a.threads);
  const ConfusionMatrix cm = confusion_matrix(m.test.labels, predicted, m.saved.model.classes());
  const std::string title = fs::path(a.model).filename().string() + ": confusion matrix";
  write_svg(a.out, confusion_svg(cm, m.saved.info.class_names, title));
  std::printf("wrote %s\n", a.out.c_str());
}

void add_common(CLI::App* cmd, ShowArgs& a, bool needs_data, const std::string& out_help) {
  cmd->add_option("--model", a.model, "The model file (safetensors, from softreg train --out)")
      ->required();
  cmd->add_option("--out", a.out, out_help)->required();
  if (needs_data) {
    cmd->add_option("--data", a.data,
                    "Folder of the Fashion-MNIST files (default: $SOFTREG_DATA, else "
                    "/usr/share/datasets/fashion-mnist)");
    cmd->add_option("--threads", a.threads,
                    "Threads (0: one per core); results do not depend on it")
        ->capture_default_str()
        ->check(CLI::Range(0u, 256u));
  }
}

}  // namespace

void add_show(CLI::App& app) {
  CLI::App* show = app.add_subcommand("show", "Draw pictures of a saved model");
  // At most one picture a run; none is a usage error that names the three.
  show->require_subcommand(0, 1);
  show->callback([show] {
    if (show->get_subcommands().empty())
      throw InputError(
          "show: expected what to draw: predictions, weights or confusion (see softreg show "
          "--help)");
  });

  auto p = std::make_shared<ShowArgs>();
  CLI::App* predictions = show->add_subcommand(
      "predictions",
      "Test images in a grid, each titled with its true and predicted class; mistakes in red");
  add_common(predictions, *p, true, "The picture to write (PNG)");
  predictions->add_option("--n", p->n, "How many images to show")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  predictions->add_flag("--wrong", p->wrong, "Show only mistakes");
  predictions->callback([p] { show_predictions(*p); });

  auto w = std::make_shared<ShowArgs>();
  CLI::App* weights = show->add_subcommand(
      "weights", "Each class's weights as an image on a diverging scale centred on zero");
  add_common(weights, *w, false, "The picture to write (PNG)");
  weights->callback([w] { show_weights(*w); });

  auto c = std::make_shared<ShowArgs>();
  CLI::App* confusion = show->add_subcommand(
      "confusion", "The confusion matrix on the test set as a heat map with counts");
  add_common(confusion, *c, true, "The picture to write (SVG)");
  confusion->callback([c] { show_confusion(*c); });
}

}  // namespace softreg::cli
