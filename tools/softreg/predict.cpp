// softreg predict: a saved model's class probabilities for IDX images, PNG images, CSV rows or
// LIBSVM rows.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "data_args.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/io.hpp"
#include "softreg/kernel.hpp"
#include "softreg/ops.hpp"

namespace softreg::cli {

namespace {

namespace fs = std::filesystem;

struct PredictArgs {
  std::string model;
  std::vector<std::string> inputs;  // INPUT...: told apart by name and content
  std::vector<std::string> csv;     // --csv FILE (repeatable)
  std::vector<std::string> libsvm;  // --libsvm FILE (repeatable)
  std::vector<std::string> text;    // --text FILE (repeatable; - for stdin)
  std::optional<long long> index;
  std::size_t top = 1;
  std::string format = "text";
  std::string invert = "auto";
  unsigned threads = 0;
};

// The examples to predict, in the units of the model's training data (before input_scale).
struct Examples {
  std::vector<std::string> names;  // one per example, for the output
  std::vector<float> values;       // dense examples x D
  SparseRows sparse;               // sparse examples (LIBSVM), never densified
  std::vector<int> inverted;       // per example: 1 inverted PNG, 0 PNG as is, -1 not a PNG
};

enum class Kind { png, idx, csv, libsvm, text };

// A file to predict and how to read it: given by --csv or --libsvm, or found by kind_of.
struct Source {
  std::string file;
  std::optional<Kind> kind;
};

// LIBSVM files go by their name: .svm, .libsvm or .libsvm.txt (any case).
bool libsvm_name(const fs::path& file) {
  std::string name = file.filename().string();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const std::string_view ext : {".svm", ".libsvm", ".libsvm.txt"})
    if (name.size() > ext.size() && name.ends_with(ext)) return true;
  return false;
}

Kind kind_of(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec))
    throw InputError(file.string() +
                     ": expected a file (IDX, PNG, CSV or LIBSVM) but found a folder");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw InputError(file.string() + ": cannot open file (" +
                     (fs::exists(file, ec) ? "permission denied" : "no such file") + ")");
  if (libsvm_name(file)) return Kind::libsvm;
  unsigned char head[4] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto got = in.gcount();
  if (got >= 4 && head[0] == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G')
    return Kind::png;
  if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b) return Kind::idx;  // gzip'd IDX
  if (got >= 3 && head[0] == 0 && head[1] == 0) return Kind::idx;
  return Kind::csv;
}

void add_png(const fs::path& file, const ModelInfo& info, Invert invert, Examples& ex) {
  if (info.input_shape.size() != 2)
    throw InputError(file.string() +
                     ": a PNG needs a model of images (input shape rows x cols) "
                     "but the model's input shape is " +
                     shape_text(info.input_shape));
  bool inverted = false;
  const GrayImage image = image_for_model(read_png_gray(file), info.input_shape[0],
                                          info.input_shape[1], invert, &inverted);
  ex.names.push_back(file.string());
  ex.values.insert(ex.values.end(), image.pixels.begin(), image.pixels.end());
  ex.inverted.push_back(inverted ? 1 : 0);
}

void add_idx(const fs::path& file, const ModelInfo& info, std::optional<long long> index,
             Examples& ex) {
  IdxArray a = load_idx(file);
  const auto& shape = info.input_shape;
  std::size_t count = 0;
  bool many = false;
  if (a.dims == shape) {
    count = 1;
  } else if (a.dims.size() == shape.size() + 1 &&
             std::equal(shape.begin(), shape.end(), a.dims.begin() + 1)) {
    count = a.dims[0];
    many = true;
  } else {
    throw InputError(file.string() + ": holds an array of " + shape_text(a.dims) +
                     " but the model expects examples of " + shape_text(shape) + " (or N x " +
                     shape_text(shape) + ")");
  }
  const std::size_t d = a.data.size() / std::max<std::size_t>(count, 1);
  std::size_t first = 0, last = count;
  if (index) {
    if (*index < 0 || static_cast<std::size_t>(*index) >= count)
      throw InputError("--index " + std::to_string(*index) + ": " + file.string() + " holds " +
                       std::to_string(count) + " examples (0 to " +
                       std::to_string(count == 0 ? 0 : count - 1) + ")");
    first = static_cast<std::size_t>(*index);
    last = first + 1;
  }
  for (std::size_t i = first; i < last; ++i) {
    ex.names.push_back(many ? file.string() + "[" + std::to_string(i) + "]" : file.string());
    ex.values.insert(ex.values.end(), a.data.begin() + static_cast<std::ptrdiff_t>(i * d),
                     a.data.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
    ex.inverted.push_back(-1);
  }
}

// Once a LIBSVM file is among the inputs, every example is kept as a sparse row: the dense rows
// added so far (images, CSV rows) become sparse rows of their non-zero values, in their order.
void make_sparse(Examples& ex, std::size_t d) {
  SparseRows& s = ex.sparse;
  if (s.offsets.empty()) s.offsets = {0};
  if (ex.values.empty()) return;
  if (s.vals.empty()) s.vals.assign(s.cols.size(), 1.0f);
  for (std::size_t i = 0; i < ex.values.size() / d; ++i) {
    for (std::size_t j = 0; j < d; ++j)
      if (const float v = ex.values[i * d + j]; v != 0.0f) {
        s.cols.push_back(static_cast<std::uint32_t>(j));
        s.vals.push_back(v);
      }
    s.offsets.push_back(s.cols.size());
  }
  ex.values.clear();
}

// Rows of the model's d inputs (every loader keeps a row's columns below its inputs).
void add_rows(const std::string& file, const Dataset& t, std::size_t d, Examples& ex) {
  if (t.inputs != d)
    throw InputError(file + ": rows of " + std::to_string(t.inputs) +
                     " features but the model expects " + std::to_string(d));
  for (std::size_t i = 0; i < t.rows; ++i) {
    ex.names.push_back(file + "[" + std::to_string(i) + "]");
    ex.inverted.push_back(-1);
  }
  if (!t.is_sparse()) {
    ex.values.insert(ex.values.end(), t.values.begin(), t.values.end());
    return;
  }
  make_sparse(ex, t.inputs);
  SparseRows& s = ex.sparse;
  // Values are kept when either part has them (a binary part's are all 1).
  const bool values = !s.vals.empty() || !t.sparse.binary();
  if (values) s.vals.resize(s.cols.size(), 1.0f);
  const std::uint64_t base = s.cols.size();
  s.cols.insert(s.cols.end(), t.sparse.cols.begin(), t.sparse.cols.end());
  if (values) {
    if (t.sparse.binary())
      s.vals.resize(s.cols.size(), 1.0f);
    else
      s.vals.insert(s.vals.end(), t.sparse.vals.begin(), t.sparse.vals.end());
  }
  for (std::size_t i = 1; i < t.sparse.offsets.size(); ++i)
    s.offsets.push_back(base + t.sparse.offsets[i]);
}

// Rows of a table (CSV, read by the data module's loader: header, quoting, separators). The
// model's label column is dropped when the file has it; without it every column is a feature.
// A model trained with the label in the last column (train's default) knows no label name: a
// header of D + 1 fields is then the training file's layout, D features and the label last.
void add_csv(const fs::path& file, const SavedModel& saved, Examples& ex) {
  const std::size_t d = saved.model.inputs();
  CsvOptions o;
  o.require_label = false;
  o.class_names = saved.info.class_names;
  const auto label = saved.info.notes.find("label_column");
  if (label != saved.info.notes.end() && label->second != "(last column)") o.label = label->second;
  o.features = d;
  // The training table's sample weights are dropped when the file has them.
  if (const auto w = saved.info.notes.find("sample_weight_column"); w != saved.info.notes.end()) {
    o.weight_column = w->second;
    o.require_weights = false;
  }
  add_rows(file.string(), load_csv(file, o), d, ex);
}

// Rows of a LIBSVM file (label index:value ..., read by the data module's loader): sparse rows of
// the model's D features; an index beyond D is a feature training never saw (weight 0), skipped
// as liblinear does. The label
// each line starts with is required by the format but not used: liblinear's files to predict often
// carry a placeholder, so any label is accepted, whether or not it is one of the model's classes.
void add_libsvm(const fs::path& file, const SavedModel& saved, Examples& ex) {
  add_rows(file.string(),
           load_libsvm(file, saved.model.inputs(), saved.info.class_names, /*keep_labels=*/false),
           saved.model.inputs(), ex);
}

// Documents in fastText's format (- for standard input), as train --text read them: the model's
// text_features rebuild the same features. `__label__` tokens are not used.
void add_text(const std::string& file, const SavedModel& saved, const TextOptions& options,
              Examples& ex) {
  const Dataset t = load_text(file, options, saved.info.class_names, /*require_label=*/false);
  add_rows(file == "-" ? std::string("stdin") : file, t, saved.model.inputs(), ex);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string float_text(float v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void run(const PredictArgs& a, const std::vector<Source>& sources) {
  if (sources.empty())
    throw InputError(
        "nothing to predict: expected inputs (INPUT files, --csv FILE or --libsvm FILE, --text "
        "FILE) but found none");
  const SavedModel saved = load_model(a.model);
  const ModelInfo& info = saved.info;
  const std::size_t k = saved.model.classes(), d = saved.model.inputs();  // k classes
  if (a.top > k)
    throw InputError("--top " + std::to_string(a.top) + ": the model has only " +
                     std::to_string(k) + " classes");
  const Invert invert = a.invert == "yes"  ? Invert::yes
                        : a.invert == "no" ? Invert::no
                                           : Invert::automatic;

  const std::optional<TextOptions> text = model_text_options(info.notes, a.model);
  Examples ex;
  for (const Source& s : sources) {
    const Kind kind = s.kind ? *s.kind : kind_of(s.file);
    check_same_kind(text, kind == Kind::text, a.model, s.file);
    switch (kind) {
      case Kind::png:
        add_png(s.file, info, invert, ex);
        break;
      case Kind::idx:
        add_idx(s.file, info, a.index, ex);
        break;
      case Kind::csv:
        add_csv(s.file, saved, ex);
        break;
      case Kind::libsvm:
        add_libsvm(s.file, saved, ex);
        break;
      case Kind::text:
        add_text(s.file, saved, *text, ex);
        break;
    }
    if (!ex.sparse.offsets.empty()) make_sparse(ex, d);
  }

  // The forward code of training, then the stable softmax (ops.hpp).
  Dataset data;
  data.rows = ex.names.size();
  data.inputs = d;
  if (!ex.sparse.offsets.empty()) data.sparse = std::move(ex.sparse);
  data.values = std::move(ex.values);
  data.shape = info.input_shape;
  std::vector<float> buffer;
  const Features x = model_features(info, data, buffer);
  ThreadPool pool(a.threads);
  const Matrix<float> logit = logits(saved.model, x, data.rows, pool);
  // Softmax: the stable softmax of the K logits. Logistic: one logit z, P(class 1) = σ(z).
  Matrix<float> proba;
  if (saved.model.output() == Output::logistic) {
    proba = Matrix<float>(data.rows, 2);
    for (std::size_t i = 0; i < data.rows; ++i) {
      proba(i, 1) = sigmoid(logit(i, 0));
      proba(i, 0) = sigmoid(-logit(i, 0));
    }
  } else {
    proba = softmax(logit);
  }

  if (a.format == "csv") {
    std::string header = "input";
    for (std::size_t r = 1; r <= a.top; ++r)
      header += ",class_" + std::to_string(r) + ",probability_" + std::to_string(r);
    std::cout << header << '\n';
  }
  std::vector<std::size_t> order(k);
  for (std::size_t i = 0; i < data.rows; ++i) {
    const auto p = proba.row(i);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t l, std::size_t r) { return p[l] > p[r]; });
    if (a.format == "json") {
      nlohmann::ordered_json j;
      j["input"] = ex.names[i];
      j["class"] = info.class_names[order[0]];
      j["index"] = order[0];
      j["probability"] = p[order[0]];
      j["top"] = nlohmann::ordered_json::array();
      for (std::size_t r = 0; r < a.top; ++r)
        j["top"].push_back({{"class", info.class_names[order[r]]},
                            {"index", order[r]},
                            {"probability", p[order[r]]}});
      j["logits"] = std::vector<float>(logit.row(i).begin(), logit.row(i).end());
      if (ex.inverted[i] >= 0) j["inverted"] = ex.inverted[i] == 1;
      std::cout << j.dump() << '\n';
    } else if (a.format == "csv") {
      std::string line = csv_field(ex.names[i]);
      for (std::size_t r = 0; r < a.top; ++r)
        line += "," + csv_field(info.class_names[order[r]]) + "," + float_text(p[order[r]]);
      std::cout << line << '\n';
    } else {
      std::string line = ex.names[i];
      for (std::size_t r = 0; r < a.top; ++r) {
        char prob[32];
        std::snprintf(prob, sizeof prob, "%.4f", static_cast<double>(p[order[r]]));
        line += "  " + info.class_names[order[r]] + " " + prob;
      }
      std::cout << line << '\n';
    }
  }
}

}  // namespace

void add_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand(
      "predict",
      "Predict the class of images or rows with a saved model: one line per input, the most "
      "probable class and its probability");
  cmd->add_option("--model", a->model, "The model file (safetensors, from softreg train --out)")
      ->required();
  CLI::Option* inputs = cmd->add_option(
      "inputs", a->inputs,
      "IDX files (every image, or --index I), PNG images (any size and colour; made grayscale and "
      "resized to the model's input), LIBSVM files (named .svm, .libsvm or .libsvm.txt), CSV "
      "tables (header row, D features, the label column optional)");
  CLI::Option* csv =
      cmd->add_option("--csv", a->csv,
                      "Rows of a CSV table to predict (header row, D features, the model's label "
                      "column optional); repeatable")
          ->allow_extra_args(false);
  CLI::Option* libsvm = cmd->add_option("--libsvm", a->libsvm,
                                        "Rows of a LIBSVM file to predict (label index:value ..., "
                                        "the label not used); repeatable")
                            ->allow_extra_args(false);
  CLI::Option* text =
      cmd->add_option("--text", a->text,
                      "Documents to predict, one a line (fastText's format, labels not used; - "
                      "for standard input), with a model from train --text; repeatable")
          ->allow_extra_args(false);
  cmd->add_option("--index", a->index, "Only example I (from 0) of each IDX file");
  cmd->add_option("--top", a->top, "List the K most probable classes")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  cmd->add_option("--format", a->format, "text, csv (with a header line) or json (one per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "csv", "json"}));
  cmd->add_option("--invert", a->invert,
                  "PNG images: replace each pixel v by 255 - v (Fashion-MNIST shows light garments "
                  "on black); auto: when the image's border is light")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "yes", "no"}));
  cmd->add_option("--threads", a->threads, "Threads (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 256u));
  cmd->callback([a, cmd, inputs, csv, libsvm, text] {
    // The files in the order of the command line, whatever option gave each: CLI11 records
    // every value of an option and every positional value in parse_order().
    std::vector<Source> sources;
    std::size_t next_input = 0, next_csv = 0, next_libsvm = 0, next_text = 0;
    for (const CLI::Option* o : cmd->parse_order()) {
      if (o == inputs && next_input < a->inputs.size())
        sources.push_back({a->inputs[next_input++], std::nullopt});
      else if (o == csv && next_csv < a->csv.size())
        sources.push_back({a->csv[next_csv++], Kind::csv});
      else if (o == libsvm && next_libsvm < a->libsvm.size())
        sources.push_back({a->libsvm[next_libsvm++], Kind::libsvm});
      else if (o == text && next_text < a->text.size())
        sources.push_back({a->text[next_text++], Kind::text});
    }
    run(*a, sources);
  });
}

}  // namespace softreg::cli
