// LIBSVM, text and CSV files read in parts (load_sparse_part, load_csv_part: --libsvm, --text and
// --csv across processes, each process reading the lines of its own byte range of the file), by
// 1 process (serial_comm(), as a run without mpirun) and by 2 and 3 (threads standing in for
// them). The first byte picks the format (its value mod 3) and, from the rest of it, the options
// (text: n-grams, 4 to 11 hash bits, weighting, norm; CSV: separator, label column); the rest of
// the input is the file.
// Properties: every process of a run gets the same outcome; the parts joined in rank order are
// the whole file's loader's data set (load_libsvm, load_text, load_csv with the same options:
// rows, inputs, shape, classes, feature names, labels, features), each part with the whole's
// classes and features, or the parts and the whole loader all refuse the file. Two exceptions,
// both documented (data.hpp): a gzip'd file, which the whole loaders decompress, is refused in
// parts; and a CSV file whose header holds a quoted line end, or whose cut falls in a quoted
// field, may be refused in parts, so a CSV file that holds a quote may be refused in parts. No
// reader leaves a file open.
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "fuzz.hpp"
#include "in_threads.hpp"
#include "rows.hpp"
#include "softreg/comm.hpp"
#include "softreg/data.hpp"

using namespace softreg;
namespace fs = std::filesystem;

namespace {

enum class Format { libsvm, text, csv };

struct Options {
  Format format = Format::libsvm;
  TextOptions text;
  CsvOptions csv;
};

Options options_of(std::uint8_t first) {
  Options o;
  o.format = static_cast<Format>(first % 3);
  const unsigned rest = first / 3u;  // 0 to 85
  o.text.ngrams = 1 + static_cast<int>(rest & 1u);
  o.text.hash_bits = 4 + static_cast<int>((rest >> 1) & 7u);
  o.text.weighting =
      (rest & 16u) != 0 ? TextOptions::Weighting::log_count : TextOptions::Weighting::binary;
  o.text.l2_normalize = (rest & 32u) != 0;
  const char separators[] = {0, ',', ';', '\t'};
  o.csv.separator = separators[rest & 3u];
  if ((rest & 4u) != 0) o.csv.label = "label";
  return o;
}

const char* format_name(Format f) {
  return f == Format::libsvm ? "LIBSVM" : f == Format::text ? "text" : "CSV";
}

Dataset load_whole(const fs::path& file, const Options& o) {
  switch (o.format) {
    case Format::libsvm:
      return load_libsvm(file);
    case Format::text:
      return load_text(file, o.text);
    case Format::csv:
      break;
  }
  return load_csv(file, o.csv);
}

Dataset load_part(const fs::path& file, const Options& o, const Comm& comm) {
  if (o.format == Format::csv) return load_csv_part(file, o.csv, comm);
  return load_sparse_part(
      file, o.format == Format::libsvm ? SparseFormat::libsvm : SparseFormat::text, o.text, comm);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const fuzz::FdGuard fds;
  const Options o = options_of(data[0]);
  static const fs::path file =
      fs::temp_directory_path() / ("softreg-fuzz-parts-" + std::to_string(::getpid()));
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  const bool gzip = size >= 3 && data[1] == 0x1f && data[2] == 0x8b;
  const bool quote = std::memchr(data + 1, '"', size - 1) != nullptr;

  std::optional<Dataset> whole;
  std::string whole_error;
  try {
    whole = load_whole(file, o);
  } catch (const InputError& e) {
    whole_error = e.what();
  }

  for (int procs = 1; procs <= 3; ++procs) {
    const std::string what =
        std::string(format_name(o.format)) + " in " + std::to_string(procs) + " parts";
    std::vector<Dataset> parts(static_cast<std::size_t>(procs));
    int refused = 0;
    std::string error;
    if (procs == 1) {
      try {
        parts[0] = load_part(file, o, serial_comm());
      } catch (const InputError& e) {
        refused = 1;
        error = e.what();
      }
    } else {
      const fuzz::Outcome out = fuzz::in_threads(procs, [&](const Comm& comm) {
        parts[static_cast<std::size_t>(comm.rank())] = load_part(file, o, comm);
      });
      refused = out.refused;
      error = out.error;
    }
    fuzz::check(refused == 0 || refused == procs,
                what + ": some processes refuse the file and others read it (" + error + ")");
    if (gzip) {
      fuzz::check(refused == procs, what + ": a gzip'd file is read in parts");
      continue;
    }
    if (!whole) {
      fuzz::check(refused == procs,
                  what + ": read, but the whole file's loader refuses it (" + whole_error + ")");
      continue;
    }
    if (refused != 0) {
      fuzz::check(o.format == Format::csv && quote,
                  what + ": refused, but the whole file's loader reads it (" + error + ")");
      continue;
    }
    const Dataset& d = *whole;
    Dataset joined = d.empty_like("parts");
    for (const Dataset& part : parts) {
      fuzz::check(part.inputs == d.inputs && part.shape == d.shape,
                  what + ": a part's inputs or shape are not the whole file's");
      fuzz::check(part.class_names == d.class_names,
                  what + ": a part's classes are not the whole's");
      fuzz::check(part.feature_names == d.feature_names,
                  what + ": a part's feature names are not the whole's");
      // Values are kept in every part once one part has a value that is not 1.
      fuzz::check(part.sparse.nnz() == 0 || part.sparse.binary() == d.sparse.binary(),
                  what + ": a part keeps values where the whole does not, or the reverse");
      fuzz::append_piece(joined, part, !d.sparse.binary(), what);
    }
    const std::string diff = fuzz::differs(joined, d);
    fuzz::check(diff.empty(), what + ": the parts joined are not the whole file's rows: " + diff);
  }
  return 0;
}
