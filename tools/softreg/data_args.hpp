// The options that say where a command's data comes from, shared by train, eval and predict:
// Fashion-MNIST's IDX files (--data DIR) or a table (--csv FILE / --libsvm FILE).
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "softreg/data.hpp"
#include "softreg/random.hpp"

namespace softreg::cli {

struct DataArgs {
  std::string data;           // --data DIR: Fashion-MNIST
  std::string csv;            // --csv FILE
  std::string libsvm;         // --libsvm FILE
  std::string text;           // --text FILE: fastText's format
  TextOptions text_options;   // --ngrams, --hash-bits, --weighting, --norm (training), or a model's
  std::string test;           // --test FILE: a separate test table
  std::string label;          // --label NAME (CSV)
  std::string sep;            // --sep , ; tab
  std::string sample_weight;  // --sample-weight COLUMN (CSV, training)
  std::string cache;          // --cache FILE: the training file's parsed rows (LIBSVM, text)
  bool quiet = false;         // no line saying what --cache did
  double test_split = 0.2;
  std::string validation;         // --validation FILE: a separate validation table
  double validation_split = 0.0;  // --validation-split F: held out of the training rows; 0: none
  bool standardize = false;

  bool tabular() const { return !csv.empty() || !libsvm.empty() || !text.empty(); }
};

/// Adds --data, --csv, --libsvm, --label, --sep; for training also --test, --test-split and
/// --standardize.
void add_data_options(CLI::App* cmd, DataArgs& a, bool training);

/// The training and test sets: Fashion-MNIST from --data (or $SOFTREG_DATA, or Debian's folder),
/// or a table split into train and test (stratified, drawn with `rng`) unless --test gives the test
/// table. With --standardize, the training set's mean and standard deviation are fitted, applied
/// to both sets and returned in `standardization`.
/// With `validation`, also the validation set of --validation-split (stratified, drawn with rng
/// after the test split, from the training rows) or --validation FILE, standardised with the
/// training rows' statistics; empty without either.
TrainTest load_training_data(const DataArgs& a, Rng& rng, Standardization& standardization,
                             Dataset* validation = nullptr);

/// A labelled file of held-out rows (--test, --validation) read as the training file is, with
/// its classes and features; `what` names the option in errors.
Dataset load_held_out(const DataArgs& a, const std::string& file,
                      const std::vector<std::string>& class_names, std::size_t inputs,
                      const std::string& what);

/// A labelled table for eval, with the model's classes and features: --csv or --libsvm.
Dataset load_table(const DataArgs& a, const std::vector<std::string>& class_names,
                   std::size_t inputs, bool require_label);

/// The shortest text that reads back as exactly v.
std::string number_text(double v);

/// The file of --csv, --libsvm or --text (empty for Fashion-MNIST).
const std::string& table_file(const DataArgs& a);

/// What --cache holds for the training file `file` as it is now (and, for text, the text
/// options); InputError for a CSV.
CacheKey training_cache_key(const DataArgs& a, const std::string& file);

/// The training file of --libsvm or --text read in blocks (--stream): from --cache when it is
/// given and holds this file as it is now, else from the file (and the cache written from it,
/// block by block, for next time).
std::unique_ptr<SparseStream> open_training_stream(const DataArgs& a);

/// Refuses data of another kind than the model's: text for a model of text, and the reverse.
void check_same_kind(const std::optional<TextOptions>& model_text, bool text_data,
                     const std::string& model_file, const std::string& data_file);

/// The separator named by --sep: "," ";" "tab" or "\t"; 0 (detect) when empty.
char separator(const std::string& sep);

}  // namespace softreg::cli
