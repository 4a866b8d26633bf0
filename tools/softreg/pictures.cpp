#include "pictures.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "softreg/error.hpp"
#include "softreg/kernel.hpp"

namespace softreg::cli {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

void write_text(const fs::path& file, std::string_view text) {
  write_file_atomic(file,
                    std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

// The run's options as rows, from the JSON object train records in the model's notes.
std::vector<std::pair<std::string, std::string>> option_rows(const ModelInfo& info) {
  std::vector<std::pair<std::string, std::string>> rows;
  if (const auto it = info.notes.find("training_data"); it != info.notes.end())
    rows.emplace_back("data", it->second);
  if (const auto it = info.notes.find("training_options"); it != info.notes.end()) {
    const auto j = nlohmann::ordered_json::parse(it->second, nullptr, false);
    if (j.is_object()) {
      for (const auto& [key, value] : j.items())
        rows.emplace_back(key, value.is_null()     ? "-"
                               : value.is_string() ? value.get<std::string>()
                                                   : value.dump());
    } else {
      rows.emplace_back("training options", it->second);
    }
  }
  return rows;
}

}  // namespace

void check_picture_file(const fs::path& file, std::string_view option,
                        std::initializer_list<std::string_view> extensions) {
  const std::string ext = lower(file.extension().string());
  std::string wanted;
  bool ok = false;
  for (const std::string_view e : extensions) {
    ok = ok || ext == e;
    wanted += (wanted.empty() ? "" : " or ") + std::string(e);
  }
  if (!ok)
    throw InputError(std::string(option) + " " + file.string() +
                     ": expected a file name ending in " + wanted + " but found " +
                     (ext.empty() ? "no extension" : "\"" + ext + "\""));
  check_writable(file, option);
}

void write_training_plot(const fs::path& file, std::span<const EpochMetrics> history,
                         std::string_view title) {
  if (lower(file.extension().string()) == ".png")
    write_png(file, training_curves_image(history, title));
  else
    write_svg(file, training_curves_svg(history, title));
}

std::vector<std::int32_t> predict_all(const SavedModel& saved, const Dataset& data,
                                      unsigned threads) {
  std::vector<float> buffer;
  const Features x = model_features(saved.info, data, buffer);
  ThreadPool pool(threads);
  std::vector<std::int32_t> predicted(data.rows);
  evaluate(saved.model, x, data.labels, data.rows, pool, predicted);
  return predicted;
}

Canvas predictions_picture(const Dataset& test, std::span<const std::int32_t> predicted,
                           std::size_t n, bool wrong_only, std::string_view title) {
  if (test.shape.size() != 2 || test.pixels.empty())
    throw InputError(test.source + ": can show only images (rows x cols of bytes) but found " +
                     shape_text(test.shape) + (test.pixels.empty() ? " numbers" : " bytes"));
  std::vector<std::size_t> chosen;
  for (std::size_t i = 0; i < test.rows && chosen.size() < n; ++i)
    if (!wrong_only || predicted[i] != test.labels[i]) chosen.push_back(i);
  if (chosen.empty())
    throw Error(wrong_only ? "--wrong: the model classifies all " + std::to_string(test.rows) +
                                 " test images of " + test.source + " correctly: no mistake to show"
                           : test.source + ": no test images");
  const std::size_t d = test.inputs;
  std::vector<std::uint8_t> pixels;
  std::vector<std::int32_t> truth, guess;
  for (const std::size_t i : chosen) {
    pixels.insert(pixels.end(), test.pixels.begin() + static_cast<std::ptrdiff_t>(i * d),
                  test.pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
    truth.push_back(test.labels[i]);
    guess.push_back(predicted[i]);
  }
  return prediction_grid(pixels, test.shape[0], test.shape[1], truth, guess, test.class_names,
                         title);
}

Canvas weights_picture(const SavedModel& saved, const fs::path& model_name,
                       std::string_view title) {
  const auto& shape = saved.info.input_shape;
  if (shape.size() != 2)
    throw InputError(model_name.string() +
                     ": weight templates need a model of images (input shape rows x cols) but "
                     "its input shape is " +
                     shape_text(shape));
  return weight_templates(saved.model.weight(), saved.model.classes(), shape[0], shape[1],
                          saved.info.class_names, title);
}

namespace {

// The folder a report is written into before it is complete: beside the report's, hidden.
fs::path staging_of(const fs::path& dir) {
  const fs::path d = dir.has_filename() ? dir : dir.parent_path();
  return d.parent_path() / ("." + d.filename().string() + ".tmp-" + std::to_string(::getpid()));
}

}  // namespace

void prepare_report_folder(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw InputError("--report " + dir.string() + ": expected a folder but found a file");
  // Written beside it first and put in place when complete: its parent (made when missing) must
  // take new entries.
  const fs::path parent = staging_of(dir).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  check_writable(staging_of(dir), "--report");
}

namespace {
fs::path write_report_files(const fs::path& dir, const SavedModel& saved, const Dataset& test,
                            std::span<const EpochMetrics> history, unsigned threads);
}

// The whole report, or nothing: its files are written into a staging folder beside `dir`, which
// then replaces `dir` (an earlier report is moved aside first and removed after; a report with no
// mistakes holds no mistakes.png of an earlier run). A failure leaves `dir` as it was.
fs::path write_report(const fs::path& dir, const SavedModel& saved, const Dataset& test,
                      std::span<const EpochMetrics> history, unsigned threads) {
  const fs::path staging = staging_of(dir);
  const fs::path old = staging.string() + "-old";
  std::error_code ec;
  fs::remove_all(staging, ec);
  try {
    fs::create_directories(staging);
    const fs::path page = write_report_files(staging, saved, test, history, threads);
    const bool had = fs::exists(dir, ec);
    if (had) fs::rename(dir, old);
    try {
      fs::rename(staging, dir);
    } catch (...) {
      if (had) fs::rename(old, dir, ec);
      throw;
    }
    fs::remove_all(old, ec);
    return dir / page.filename();
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ec);
    throw Error(dir.string() + ": writing the report failed (" + e.code().message() +
                "); the folder was not changed");
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
}

namespace {
fs::path write_report_files(const fs::path& dir, const SavedModel& saved, const Dataset& test,
                            std::span<const EpochMetrics> history, unsigned threads) {
  const ModelInfo& info = saved.info;
  save_model(dir / "model.safetensors", saved.model, info);
  const std::vector<std::int32_t> predicted = predict_all(saved, test, threads);
  const ConfusionMatrix cm = confusion_matrix(test.labels, predicted, saved.model.classes());
  const std::size_t n = test.rows;
  const double accuracy = cm.accuracy();

  ReportPage page;
  page.title = "softreg training report";
  page.history.assign(history.begin(), history.end());
  const EpochMetrics& last = history.back();
  double seconds = 0;
  for (const EpochMetrics& m : history) seconds += m.seconds;
  page.figures = {
      {"test accuracy", fixed(accuracy, 4) + " ± " + fixed(accuracy_stderr(accuracy, n), 4) +
                            " (standard error, " + std::to_string(n) + " test images)"},
      {"test loss", fixed(last.test_loss, 4)},
      {"training loss (last epoch)", fixed(last.loss, 4)},
      {"training accuracy (last epoch)", fixed(last.train_accuracy, 4)},
      {"epochs", std::to_string(last.epoch)},
      {"training time", fixed(seconds, 2) + " s"},
      {"model", "model.safetensors (" + std::to_string(saved.model.classes()) + " classes x " +
                    std::to_string(saved.model.inputs()) + " inputs)"}};
  page.options = option_rows(info);

  const std::string run = std::to_string(last.epoch) + " epochs";
  write_svg(dir / "curves.svg", training_curves_svg(history, "Training curves, " + run));
  page.images.push_back({"curves.svg", "Training curves",
                         "Mean training loss, training accuracy and test accuracy after each "
                         "epoch."});
  const bool images = test.shape.size() == 2 && !test.pixels.empty();
  if (images) {
    write_png(dir / "predictions.png",
              predictions_picture(test, predicted, 18, false, "The first 18 test images"));
    page.images.push_back({"predictions.png", "Predictions",
                           "Each test image is titled with its true class (first line) and the "
                           "predicted class (second line); mistakes are red."});
    if (cm.correct() < cm.total()) {
      write_png(dir / "mistakes.png",
                predictions_picture(test, predicted, 18, true, "The first 18 mistakes"));
      page.images.push_back({"mistakes.png", "Mistakes",
                             "The first test images the model got wrong: true class, then the "
                             "predicted one."});
    }
    write_png(dir / "weights.png",
              weights_picture(saved, dir / "model.safetensors", "Weight templates"));
    page.images.push_back({"weights.png", "Weight templates",
                           "Each class's row of W as an image: red pixels raise the class's "
                           "score, blue ones lower it; white is zero."});
  }
  write_svg(dir / "confusion.svg",
            confusion_svg(cm, info.class_names, "Confusion matrix on the test set"));
  page.images.push_back({"confusion.svg", "Confusion matrix",
                         "Rows: true class; columns: predicted class; each cell counts test "
                         "images, coloured by its share of the row."});
  const fs::path html = dir / "report.html";
  write_text(html, report_html(page));
  return html;
}
}  // namespace

}  // namespace softreg::cli
