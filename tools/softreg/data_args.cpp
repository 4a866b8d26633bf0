#include "data_args.hpp"

#include "checks.hpp"
#include "softreg/error.hpp"

namespace softreg::cli {

void add_data_options(CLI::App* cmd, DataArgs& a, bool training) {
  auto* data = cmd->add_option("--data", a.data,
                               "Folder of the Fashion-MNIST files (default: $SOFTREG_DATA, else "
                               "/usr/share/datasets/fashion-mnist)");
  auto* csv = cmd->add_option("--csv", a.csv, "A table: CSV with a header row, numeric features");
  auto* libsvm = cmd->add_option("--libsvm", a.libsvm, "A table in LIBSVM format (label i:v ...)");
  data->excludes(csv)->excludes(libsvm);
  csv->excludes(libsvm);
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
  cmd->add_flag("--standardize", a.standardize,
                "Scale each feature of a table to mean 0, standard deviation 1 (fitted on the "
                "training set, stored in the model)");
}

char separator(const std::string& sep) {
  if (sep.empty()) return 0;
  if (sep == "tab") return '\t';
  return sep[0];
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
  return load_libsvm(file, inputs, classes);
}

}  // namespace

TrainTest load_training_data(const DataArgs& a, Rng& rng, Standardization& standardization) {
  if (!a.tabular()) {
    if (!a.test.empty())
      throw InputError("--test needs --csv or --libsvm (Fashion-MNIST has its own test set)");
    if (a.standardize) throw InputError("--standardize applies to tables (--csv or --libsvm)");
    return load_fashion_mnist(a.data.empty() ? default_fashion_mnist_dir()
                                             : std::filesystem::path(a.data));
  }
  const std::string& file = a.csv.empty() ? a.libsvm : a.csv;
  TrainTest tt;
  if (a.test.empty()) {
    tt = stratified_split(read_table(a, file, {}, 0, true, true), a.test_split, rng);
    tt.test.weights.clear();  // the test set's accuracy is not weighted
  } else {
    tt.train = read_table(a, file, {}, 0, true, true);
    tt.test = read_table(a, a.test, tt.train.class_names, tt.train.inputs, true);
    if (tt.test.inputs != tt.train.inputs)
      throw InputError(a.test + ": " + std::to_string(tt.test.inputs) +
                       " features but the training table " + file + " has " +
                       std::to_string(tt.train.inputs));
  }
  if (a.standardize) {
    standardization = fit_standardization(tt.train);
    standardize(tt.train, standardization);
    standardize(tt.test, standardization);
  }
  return tt;
}

Dataset load_table(const DataArgs& a, const std::vector<std::string>& class_names,
                   std::size_t inputs, bool require_label) {
  return read_table(a, a.csv.empty() ? a.libsvm : a.csv, class_names, inputs, require_label);
}

}  // namespace softreg::cli
