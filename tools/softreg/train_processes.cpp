// softreg train across processes (mpirun -np P softreg train ...; docs/cli.md, "Across
// processes"): what such a run takes, and the parts of the data each process reads.
#include "train_processes.hpp"

#include <array>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "softreg/error.hpp"

namespace softreg::cli {

void check_across_processes(const TrainArgs& a, const Comm& comm) {
  const std::string p = "across " + std::to_string(comm.size()) + " processes (mpirun), ";
  const std::pair<bool, const char*> refused[] = {
      {a.data.tabular() && a.data.test.empty(),
       "--test-split (give --test FILE: a split would need the whole file)"},
      {!a.data.validation.empty() || a.data.validation_split > 0, "--validation"},
      {a.cv > 0, "--cv"},
      {a.stream > 0, "--stream"},
      {a.limit > 0, "--limit"},
      {a.data.standardize, "--standardize"},
      {!a.plot.empty(), "--plot"},
      {!a.report.empty(), "--report"},
      {a.backend != "native", "--backend torch"},
      {a.data.text == "-", "--text - (standard input cannot be read in parts)"},
  };
  for (const auto& [given, what] : refused)
    if (given) throw InputError(p + "softreg train does not take " + what + " yet");
}

TrainTest load_training_parts(const TrainArgs& a, const Comm& comm, Output output) {
  TrainTest tt;
  if (!a.data.tabular()) {
    // Fashion-MNIST has ten classes: a logistic model is refused after loading, as in one process.
    tt = load_fashion_mnist_part(
        a.data.data.empty() ? default_fashion_mnist_dir() : std::filesystem::path(a.data.data),
        comm, output == Output::logistic ? 1 : 10);
    return tt;
  }
  if (!a.data.csv.empty()) {
    // The training rows moved to whole stripes of the objective; the test rows as they are cut.
    CsvOptions o;
    o.label = a.data.label;
    o.separator = separator(a.data.sep);
    o.weight_column = a.data.sample_weight;
    tt.train = load_csv_part(a.data.csv, o, comm, [&](std::size_t classes) {
      return output == Output::logistic ? std::size_t{1} : classes;
    });
    o.class_names = tt.train.class_names;
    o.require_weights = false;
    tt.test = load_csv_part(a.data.test, o, comm);
    if (tt.test.inputs != tt.train.inputs)
      throw InputError(a.data.test + ": " + std::to_string(tt.test.inputs) +
                       " features but the training table " + a.data.csv + " has " +
                       std::to_string(tt.train.inputs));
    return tt;
  }
  const SparseFormat format = a.data.text.empty() ? SparseFormat::libsvm : SparseFormat::text;
  const std::string& file = table_file(a.data);
  bool cached = false;
  if (!a.data.cache.empty()) {
    // Each process its rows of the cache; one that is missing (for any process) or stale is
    // not written across processes, where no process holds every row: the file is read in
    // parts instead.
    std::error_code ec;
    double missing = 0;
    for (const double v :
         allgather_values(comm, std::filesystem::exists(a.data.cache, ec) ? 0.0 : 1.0))
      missing += v;
    if (missing == 0)
      if (std::optional<Dataset> d =
              read_cache_part(a.data.cache, training_cache_key(a.data, file), comm)) {
        tt.train = std::move(*d);
        tt.train.source = file;
        cached = true;
      }
    if (!a.quiet)
      std::cout << (cached ? "read " + file + " from the cache " + a.data.cache +
                                 " (each process its rows)"
                           : "the cache " + a.data.cache + " is " +
                                 (missing != 0 ? "missing" : "stale") +
                                 ": across processes it is not written, and " + file +
                                 " is read in parts (write the cache with one process)")
                << "\n";
  }
  if (!cached) tt.train = load_sparse_part(file, format, a.data.text_options, comm);
  tt.test = load_sparse_part(a.data.test, format, a.data.text_options, comm, tt.train.class_names,
                             tt.train.inputs);
  return tt;
}

void on_first_process(const Comm* comm, const std::function<void()>& step) {
  if (comm == nullptr) return step();
  std::string error;
  if (comm->rank() == 0) try {
      step();
    } catch (const InputError& e) {
      error = e.what();
    }
  agree_on_errors(*comm, error);
}

std::size_t rows_of_all(const Comm* comm, std::size_t mine) {
  if (comm == nullptr) return mine;
  double all = 0;
  for (const double n : allgather_values(*comm, static_cast<double>(mine))) all += n;
  return static_cast<std::size_t>(all);
}

std::uint64_t rows_fingerprint_of_all(const Comm* comm, const Dataset& part) {
  if (comm == nullptr)
    return fingerprint_of_rows(part.rows, rows_fingerprint(part, 0), part.inputs, part.class_names);
  const std::vector<double> rows = allgather_values(*comm, static_cast<double>(part.rows));
  std::uint64_t first = 0, all = 0;
  for (std::size_t p = 0; p < rows.size(); ++p) {
    if (p == static_cast<std::size_t>(comm->rank())) first = all;
    all += static_cast<std::uint64_t>(rows[p]);
  }
  const std::uint64_t mine = rows_fingerprint(part, first);
  std::array<std::uint8_t, 8> bytes;
  std::memcpy(bytes.data(), &mine, 8);
  const std::vector<std::size_t> counts(rows.size(), 8);
  std::vector<std::uint8_t> sums(8 * rows.size());
  comm->allgather_bytes(bytes, counts, sums);
  std::uint64_t sum = 0;
  for (std::size_t p = 0; p < rows.size(); ++p) {
    std::uint64_t s;
    std::memcpy(&s, sums.data() + 8 * p, 8);
    sum += s;  // modulo 2^64: the same in any order
  }
  return fingerprint_of_rows(all, sum, part.inputs, part.class_names);
}

}  // namespace softreg::cli
