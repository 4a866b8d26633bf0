#include "data_args.hpp"

#include <iostream>
#include <nlohmann/json.hpp>

#include "checks.hpp"
#include "softreg/error.hpp"

namespace softreg::cli {

void add_data_options(CLI::App* cmd, DataArgs& a, bool training) {
  auto* data = cmd->add_option("--data", a.data,
                               "Folder of the Fashion-MNIST files (default: $SOFTREG_DATA, else "
                               "/usr/share/datasets/fashion-mnist)");
  auto* csv = cmd->add_option("--csv", a.csv, "A table: CSV with a header row, numeric features");
  auto* libsvm = cmd->add_option("--libsvm", a.libsvm, "A table in LIBSVM format (label i:v ...)");
  auto* text = cmd->add_option(
      "--text", a.text,
      "Documents in fastText's format, one a line: __label__NAME then the text (- for standard "
      "input); features are hashed word n-grams");
  data->excludes(csv)->excludes(libsvm)->excludes(text);
  csv->excludes(libsvm)->excludes(text);
  libsvm->excludes(text);
  cmd->add_option("--label", a.label, "The CSV's label column (default: the last column)");
  cmd->add_option("--sep", a.sep, "The CSV's separator: , ; or tab (default: detected)")
      ->check(CLI::IsMember({",", ";", "tab", "\t"}));
  if (!training) return;
  auto* test = cmd->add_option("--test", a.test, "A separate test table (same format)");
  auto* split = cmd->add_option("--test-split", a.test_split,
                                "Fraction of a table kept for testing, stratified, drawn with "
                                "--seed (when no --test is given)")
                    ->capture_default_str()
                    ->check(kOpenFraction);
  test->excludes(split);
  auto* validation = cmd->add_option(
      "--validation", a.validation,
      "SGD: a validation table (same format): its loss and accuracy in each epoch line, and the "
      "epoch --early-stopping keeps");
  auto* validation_split =
      cmd->add_option("--validation-split", a.validation_split,
                      "SGD: a fraction of the training rows held out for validation, stratified, "
                      "drawn with --seed")
          ->check(kOpenFraction);
  validation->excludes(validation_split);
  cmd->add_option("--ngrams", a.text_options.ngrams,
                  "--text: word n-grams of 1 to N words are the features")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxNgrams));
  cmd->add_option("--hash-bits", a.text_options.hash_bits,
                  "--text: features are hashed (XXH3) into 2^B columns")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxHashBits));
  cmd->add_option_function<std::string>(
         "--weighting",
         [&a](const std::string& v) {
           a.text_options.weighting =
               v == "log" ? TextOptions::Weighting::log_count : TextOptions::Weighting::binary;
         },
         "--text: a feature's value: binary (1 when present; the default) or log (log(1 + its "
         "count))")
      ->check(CLI::IsMember({"binary", "log"}));
  cmd->add_option_function<std::string>(
         "--norm", [&a](const std::string& v) { a.text_options.l2_normalize = v == "l2"; },
         "--text: l2 scales each document's row to length 1; none (the default) leaves it")
      ->check(CLI::IsMember({"l2", "none"}));
  cmd->add_option("--cache", a.cache,
                  "--libsvm, --text: keep the training file's parsed rows in FILE (written on the "
                  "first run, read instead of parsing on the next; rebuilt when the file or the "
                  "text options change)");
  cmd->add_flag("--standardize", a.standardize,
                "Scale each feature of a table to mean 0, standard deviation 1 (fitted on the "
                "training set, stored in the model)");
}

char separator(const std::string& sep) {
  if (sep.empty()) return 0;
  if (sep == "tab") return '\t';
  return sep[0];
}

CacheKey training_cache_key(const DataArgs& a, const std::string& file) {
  if (!a.csv.empty())
    throw InputError("--cache keeps sparse rows: it applies to --libsvm and --text");
  return cache_key_of(file, a.text.empty() ? "libsvm" : "text",
                      a.text.empty() ? "" : text_options_note(a.text_options));
}

namespace {

// `weights`: the training table, whose --sample-weight column is required (elsewhere it is
// dropped when present).
Dataset read_table(const DataArgs& a, const std::string& file,
                   const std::vector<std::string>& classes, std::size_t inputs, bool require_label,
                   bool weights = false) {
  if (!a.csv.empty()) {
    CsvOptions o;
    o.label = a.label;
    o.separator = separator(a.sep);
    o.class_names = classes;
    o.require_label = require_label;
    o.weight_column = a.sample_weight;
    o.require_weights = weights;
    return load_csv(file, o);
  }
  if (!a.text.empty()) return load_text(file, a.text_options, classes, require_label);
  return load_libsvm(file, inputs, classes);
}

// The line saying that --cache was written.
void say_cache_written(const DataArgs& a, bool existed) {
  if (!a.quiet)
    std::cout << (existed ? "rebuilt the cache " : "wrote the cache ") << a.cache
              << (existed ? " (it was made from another file, or from this one before it changed)"
                          : "")
              << "\n";
}

// The training file, through --cache when it is given: the cache's rows when it holds this file
// as it is now (and, for text, with these options); otherwise the file parsed, and the cache
// written for next time.
Dataset read_training_table(const DataArgs& a, const std::string& file) {
  if (a.cache.empty()) return read_table(a, file, {}, 0, true, true);
  const CacheKey key = training_cache_key(a, file);
  std::error_code ec;
  const bool existed = std::filesystem::exists(a.cache, ec);
  if (existed) {
    if (std::optional<Dataset> d = read_cache(a.cache, key)) {
      d->source = file;
      if (!a.quiet) std::cout << "read " << file << " from the cache " << a.cache << "\n";
      return std::move(*d);
    }
  }
  Dataset d = read_table(a, file, {}, 0, true, true);
  write_cache(a.cache, d, key);
  say_cache_written(a, existed);
  return d;
}

}  // namespace

Dataset load_held_out(const DataArgs& a, const std::string& file,
                      const std::vector<std::string>& class_names, std::size_t inputs,
                      const std::string& what) {
  if (!a.tabular())
    throw InputError(what + " needs --csv, --libsvm or --text (Fashion-MNIST has its own " +
                     (what == "--test" ? "test set)" : "files: use --validation-split)"));
  Dataset d = read_table(a, file, class_names, inputs, true);
  if (d.inputs != inputs)
    throw InputError(file + ": " + std::to_string(d.inputs) + " features but the training table " +
                     table_file(a) + " has " + std::to_string(inputs));
  return d;
}

namespace {

// The training rows' part for validation, stratified: every class keeps a training row.
Dataset split_validation(const DataArgs& a, Dataset& train, Rng& rng) {
  const std::string source = train.source;
  TrainTest vt = stratified_split(std::move(train), a.validation_split, rng, "--validation-split");
  std::vector<std::size_t> count(vt.train.classes(), 0);
  for (std::int32_t y : vt.train.labels) ++count[static_cast<std::size_t>(y)];
  for (std::size_t c = 0; c < count.size(); ++c)
    if (count[c] == 0)
      throw InputError("--validation-split " + number_text(a.validation_split) + " leaves class '" +
                       vt.train.class_names[c] + "' of " + source + " without a training row");
  train = std::move(vt.train);
  train.source = source;
  vt.test.source = source + " (validation split)";
  vt.test.weights.clear();  // the validation loss is not weighted
  return std::move(vt.test);
}

}  // namespace

TrainTest load_training_data(const DataArgs& a, Rng& rng, Standardization& standardization,
                             Dataset* validation) {
  TrainTest tt;
  if (!a.tabular()) {
    if (!a.test.empty())
      throw InputError(
          "--test needs --csv, --libsvm or --text (Fashion-MNIST has its own test set)");
    if (a.standardize) throw InputError("--standardize applies to tables (--csv or --libsvm)");
    if (!a.validation.empty())
      throw InputError(
          "--validation needs --csv, --libsvm or --text (Fashion-MNIST: use --validation-split)");
    tt = load_fashion_mnist(a.data.empty() ? default_fashion_mnist_dir()
                                           : std::filesystem::path(a.data));
  } else {
    const std::string& file = table_file(a);
    if (a.test.empty()) {
      tt = stratified_split(read_training_table(a, file), a.test_split, rng);
      tt.test.weights.clear();  // the test set's accuracy is not weighted
    } else {
      tt.train = read_training_table(a, file);
      tt.test = load_held_out(a, a.test, tt.train.class_names, tt.train.inputs, "--test");
    }
  }
  if (validation != nullptr) {
    if (a.validation_split > 0)
      *validation = split_validation(a, tt.train, rng);
    else if (!a.validation.empty())
      *validation =
          load_held_out(a, a.validation, tt.train.class_names, tt.train.inputs, "--validation");
  }
  if (a.standardize) {
    standardization = fit_standardization(tt.train);
    standardize(tt.train, standardization);
    standardize(tt.test, standardization);
    if (validation != nullptr && validation->rows != 0) standardize(*validation, standardization);
  }
  return tt;
}

Dataset load_table(const DataArgs& a, const std::vector<std::string>& class_names,
                   std::size_t inputs, bool require_label) {
  return read_table(a, table_file(a), class_names, inputs, require_label);
}

const std::string& table_file(const DataArgs& a) {
  return !a.csv.empty() ? a.csv : !a.libsvm.empty() ? a.libsvm : a.text;
}

std::unique_ptr<SparseStream> open_training_stream(const DataArgs& a) {
  const bool text = !a.text.empty();
  const std::string& file = table_file(a);
  auto from_file = [&] {
    return std::make_unique<SparseFileStream>(
        file, text ? SparseFileStream::Kind::text : SparseFileStream::Kind::libsvm, a.text_options);
  };
  if (a.cache.empty()) return from_file();
  const CacheKey key = training_cache_key(a, file);
  std::error_code ec;
  const bool existed = std::filesystem::exists(a.cache, ec);
  if (existed)
    if (std::unique_ptr<SparseCacheStream> s = SparseCacheStream::open(a.cache, key)) {
      if (!a.quiet) std::cout << "streaming " << file << " from the cache " << a.cache << "\n";
      return s;
    }
  std::unique_ptr<SparseFileStream> s = from_file();
  write_cache(a.cache, *s, key);
  say_cache_written(a, existed);
  return s;
}

void check_same_kind(const std::optional<TextOptions>& model_text, bool text_data,
                     const std::string& model_file, const std::string& data_file) {
  if (model_text && !text_data)
    throw InputError(model_file + ": a model of text (hashed word n-grams) cannot read " +
                     data_file + ": give documents with --text");
  if (!model_text && text_data)
    throw InputError(model_file +
                     ": the model was not trained on text, so it cannot read the "
                     "documents of " +
                     data_file + " (--text needs a model from train --text)");
}

}  // namespace softreg::cli
