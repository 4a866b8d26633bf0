// Files a model lives in and images it is asked about: safetensors model files (docs/formats.md),
// atomic file replacement, and PNG images made ready for a model (grayscale, resized, inverted).
//
// Every file read here is untrusted: lengths, offsets, shapes and values are checked before any
// data is touched, and a failure is one softreg::InputError that names the file and the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "softreg/data.hpp"
#include "softreg/kernel.hpp"
#include "softreg/model.hpp"
#include "softreg/safetensors.hpp"
#include "softreg/train.hpp"

namespace softreg {

// ------------------------------------------------------------------------------ model files

/// The version of the softreg model format this library writes (metadata key "format_version").
/// It reads this version and no other: a file from a newer softreg is refused, not guessed at.
inline constexpr int kModelFormatVersion = 1;

/// What a model file records besides W and b.
struct ModelInfo {
  std::vector<std::string> class_names;  // K names, in label order
  std::vector<std::size_t> input_shape;  // the shape of one example, e.g. {28, 28}; product D
  float input_scale = 1.0f;              // feature = stored value * input_scale (1/255 for bytes)
  /// Standardisation applied after scaling, feature = (value * scale - mean) / std, one entry per
  /// input; both empty when the model was trained without it.
  std::vector<float> input_mean;
  std::vector<float> input_std;
  /// Further metadata, e.g. how the model was trained ("training_options", "epochs",
  /// "test_accuracy", ...). Keys must not be one of the reserved keys above; values are text.
  std::map<std::string, std::string> notes;
};

struct SavedModel {
  SoftmaxRegression model;
  ModelInfo info;
};

/// The bytes of a safetensors file holding `model` and `info`. Throws std::invalid_argument when
/// info does not fit the model (class or input counts) or the model holds a non-finite number.
std::vector<std::uint8_t> model_file_bytes(const SoftmaxRegression& model, const ModelInfo& info);

/// Parses and validates the bytes of a model file; `name` names it in errors (InputError).
SavedModel parse_model_file(std::span<const std::uint8_t> bytes, const std::string& name);

/// Writes `model` to `file` atomically (write_file_atomic).
void save_model(const std::filesystem::path& file, const SoftmaxRegression& model,
                const ModelInfo& info);

/// Reads and validates a model file.
SavedModel load_model(const std::filesystem::path& file);

/// The input shape as text, "28x28".
std::string shape_text(std::span<const std::size_t> shape);

/// Throws InputError naming `file` when `data` does not have the shape and classes the model
/// was made for.
void check_model_fits(const std::filesystem::path& file, const SavedModel& saved,
                      const Dataset& data);

/// The features the model reads from a data set's rows, as it was trained: the stored values times
/// the model's input scale, standardised when the model says so (then written into `buffer`).
Features model_features(const ModelInfo& info, const Dataset& data, std::vector<float>& buffer);

// ------------------------------------------------------------------------------ checkpoints

/// The version of the checkpoint layout this library writes and reads (docs/formats.md).
inline constexpr int kCheckpointVersion = 1;

/// A checkpoint: the state to go on from and the caller's notes (softreg train's: the options
/// and the data's fingerprint).
struct Checkpoint {
  TrainState state;
  std::map<std::string, std::string> notes;
};

/// The bytes of a checkpoint of `state` with `notes` (text; not one of the layout's own keys),
/// and a checksum over all of it. std::invalid_argument when the state's parts differ in shape.
std::vector<std::uint8_t> checkpoint_bytes(const TrainState& state,
                                           const std::map<std::string, std::string>& notes);

/// Parses and checks a checkpoint; `name` names it in errors (InputError): the checksum, every
/// tensor's dtype and shape, finite weights, the generator's state, the history's epochs.
Checkpoint parse_checkpoint(std::span<const std::uint8_t> bytes, const std::string& name);

/// The checksum (hex XXH3-64) that a checkpoint's metadata "checksum" must hold for this parsed
/// file: over every tensor and every other metadata entry.
std::string checkpoint_checksum(const SafetensorsFile& file);

/// Writes a checkpoint atomically (write_file_atomic), and reads one.
void save_checkpoint(const std::filesystem::path& file, const TrainState& state,
                     const std::map<std::string, std::string>& notes);
Checkpoint load_checkpoint(const std::filesystem::path& file);

// ------------------------------------------------------------------------------ atomic files

/// Replaces `file` with `bytes` so that a reader sees the old file or the new one, never a mix:
/// writes a temporary file ".NAME.tmp-PID-N" in the same folder, flushes it to disk (fsync),
/// then renames it over `file`. On any failure the temporary file is removed, `file` is left as it
/// was, and softreg::Error is thrown (a failure at run time, status 1: disk full, folder removed
/// or read-only, ...); check_writable is the check before the work, whose failures are the
/// user's (InputError, status 2).
void write_file_atomic(const std::filesystem::path& file, std::span<const std::uint8_t> bytes);
/// The same for a file written as consecutive pieces (no copy of them is made).
void write_file_atomic(const std::filesystem::path& file,
                       std::span<const std::span<const std::uint8_t>> pieces);
/// The same for a file written by `fill`, given the temporary file's descriptor (empty, open for
/// reading and writing): it may write anywhere (write_at) and read back what it wrote. When fill
/// throws, the temporary file is removed and the exception goes on.
void write_file_atomic(const std::filesystem::path& file, const std::function<void(int fd)>& fill);
/// pwrite of all of `bytes` at `offset` of fd; softreg::Error naming `file` when it fails.
void write_at(int fd, std::span<const std::uint8_t> bytes, std::uint64_t offset,
              const std::filesystem::path& file);

/// Checks, without touching `file`, that write_file_atomic(file, ...) can create its temporary
/// file: call it before long work whose result goes to `file`. Throws InputError naming `file`
/// and `what` (e.g. "--out") otherwise.
void check_writable(const std::filesystem::path& file, std::string_view what);

// ------------------------------------------------------------------------------ images

/// A grayscale image, row-major, with pixel values in [0, 255] as floats so that resizing
/// loses nothing.
struct GrayImage {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> pixels;  // rows x cols
};

/// Reads a PNG of any colour type and bit depth (gray, gray+alpha, RGB, RGBA, palette; 1 to 16
/// bits) as grayscale: luma 0.299 R + 0.587 G + 0.114 B of the 8-bit sRGB values, with transparent
/// pixels composited over white. Refuses images of more than 64 megapixels.
GrayImage read_png_gray(const std::filesystem::path& file);

/// Decodes PNG bytes the same way; `name` names them in errors.
GrayImage decode_png_gray(std::span<const std::uint8_t> bytes, const std::string& name);

/// Encodes 8- or 16-bit samples (channels 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; 16-bit samples
/// big-endian, as PNG stores them) as a PNG file's bytes.
std::vector<std::uint8_t> encode_png(std::size_t rows, std::size_t cols, int channels,
                                     int bit_depth, std::span<const std::uint8_t> samples);

/// Resizes by area averaging (a box filter): each output pixel is the mean of the input area it
/// covers, with partly covered input pixels weighted by the covered fraction. Shrinking by an
/// integer factor averages whole blocks; the mean brightness is kept in every case.
GrayImage resize_area(const GrayImage& image, std::size_t rows, std::size_t cols);

/// Mean of the pixels on the image's outer edge (first and last row and column), in [0, 255].
double border_mean(const GrayImage& image);

/// When to replace each pixel v by 255 - v before predicting. Fashion-MNIST shows a light garment
/// on a dark background; photos and drawings usually show a dark object on a light one.
enum class Invert { automatic, yes, no };

/// The image as a model of input shape rows x cols sees it: inverted when `invert` says so
/// (automatic: when the border is light, border_mean > 127.5), then resized. Values in [0, 255].
GrayImage image_for_model(const GrayImage& image, std::size_t rows, std::size_t cols, Invert invert,
                          bool* inverted = nullptr);

}  // namespace softreg
