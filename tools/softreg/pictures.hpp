// What `softreg show` and `softreg train --plot/--report` share: checking picture file names
// before any work, picking the test images to show, and writing a run's report folder. The
// drawing itself is the library's (softreg/plot.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "softreg/data.hpp"
#include "softreg/io.hpp"
#include "softreg/metrics.hpp"
#include "softreg/plot.hpp"
#include "softreg/train.hpp"

namespace softreg::cli {

/// Throws InputError naming `option` unless `file` ends in one of `extensions` (".svg", ...,
/// case-insensitive) and its folder can take a new file.
void check_picture_file(const std::filesystem::path& file, std::string_view option,
                        std::initializer_list<std::string_view> extensions);

/// The training curves as SVG or PNG, chosen by the file's extension.
void write_training_plot(const std::filesystem::path& file, std::span<const EpochMetrics> history,
                         std::string_view title);

/// A model's predicted classes on every row of `data` (the forward code of training).
std::vector<std::int32_t> predict_all(const SavedModel& saved, const Dataset& data,
                                      unsigned threads);

/// The grid of the first `n` test images (or of the first `n` mistakes when wrong_only).
/// Throws InputError when the data are not images, Error when wrong_only finds no mistake.
Canvas predictions_picture(const Dataset& test, std::span<const std::int32_t> predicted,
                           std::size_t n, bool wrong_only, std::string_view title);

/// The model's weight templates; InputError when its input shape is not an image (rows x cols).
Canvas weights_picture(const SavedModel& saved, const std::filesystem::path& model_name,
                       std::string_view title);

/// Creates `dir` when missing and checks it can take files: call before training (--report).
void prepare_report_folder(const std::filesystem::path& dir);

/// Writes a run's report into `dir`: model.safetensors, curves.svg, predictions.png,
/// mistakes.png, weights.png, confusion.svg and report.html, which shows them with the run's
/// options (from info.notes) and final figures. Returns the report page's path.
std::filesystem::path write_report(const std::filesystem::path& dir, const SavedModel& saved,
                                   const Dataset& test, std::span<const EpochMetrics> history,
                                   unsigned threads);

}  // namespace softreg::cli
