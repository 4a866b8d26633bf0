// LIBSVM/liblinear's sparse text format, one example a line: `label index:value ...`.
//
// One pass over the text into compressed sparse rows (8 bytes per value), then densified: the
// dense table is refused when it would be more than 8 x the file + 64 MB (docs/security.md).
#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "load.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// The next whitespace-separated token of `line` from `i`; empty at the end.
std::string_view next_token(std::string_view line, std::size_t& i) {
  while (i < line.size() && is_space(line[i])) ++i;
  const std::size_t b = i;
  while (i < line.size() && !is_space(line[i])) ++i;
  return line.substr(b, i - b);
}

std::string mb_text(std::uint64_t bytes) {
  return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MB";
}

}  // namespace

std::uint64_t max_dense_table_bytes(std::uint64_t text_bytes) {
  return 8 * text_bytes + (std::uint64_t{64} << 20);
}

Dataset load_libsvm(const fs::path& file, std::size_t inputs,
                    const std::vector<std::string>& class_names, bool keep_labels) {
  const std::vector<std::uint8_t> bytes = read_file_maybe_gzip(file);
  return parse_libsvm(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                      file.string(), inputs, class_names, keep_labels);
}

Dataset parse_libsvm(std::string_view text, const std::string& name, std::size_t inputs,
                     const std::vector<std::string>& class_names, bool keep_labels) {
  // The rows as compressed sparse rows: row r's pairs are cols/vals[row_end[r-1], row_end[r]).
  // Room for as many as the text can hold, reserved untouched: a pair has a ':', a row a line end.
  std::vector<std::uint64_t> row_end;
  std::vector<std::uint32_t> cols;
  std::vector<float> vals;
  const auto pairs = static_cast<std::size_t>(std::count(text.begin(), text.end(), ':'));
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  cols.reserve(pairs);
  vals.reserve(pairs);
  row_end.reserve(lines);
  LabelReader labels(name, class_names, "label");
  if (keep_labels) labels.reserve(lines);

  std::size_t max_index = 0, line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    std::size_t i = 0;
    const std::string_view label = next_token(line, i);
    if (label.empty()) continue;  // a blank line, or only a comment
    const std::string where = "line " + std::to_string(line_no);
    if (label.find(':') != std::string_view::npos)
      fail(name, where + ": expected a label first but found '" + std::string(label) + "'");
    std::size_t previous = 0, t = 0;
    for (std::string_view pair = next_token(line, i); !pair.empty(); pair = next_token(line, i)) {
      ++t;
      auto at = [&] { return where + ", pair " + std::to_string(t); };
      const auto colon = pair.find(':');
      long long index = 0;
      float value = 0;
      if (colon == std::string_view::npos || !is_integer(pair.substr(0, colon), index) ||
          !parse_float(pair.substr(colon + 1), value))
        fail(name, at() + ": expected index:value but found '" + std::string(pair) + "'");
      if (index < 1) fail(name, at() + ": indices start at 1 but found " + std::to_string(index));
      const auto idx = static_cast<std::size_t>(index);
      if (idx == previous) fail(name, at() + ": index " + std::to_string(idx) + " is repeated");
      if (idx < previous)
        fail(name, at() + ": indices must increase but " + std::to_string(idx) + " follows " +
                       std::to_string(previous));
      if (!std::isfinite(value))
        fail(name, at() + ": expected a finite value but found '" +
                       std::string(pair.substr(colon + 1)) + "'");
      if (inputs != 0 && idx > inputs)
        fail(name, at() + ": index " + std::to_string(idx) + " but the model has " +
                       std::to_string(inputs) + " features");
      if (idx > kMaxLibsvmFeatures)
        fail(name, at() + ": index " + std::to_string(idx) + " is beyond " +
                       std::to_string(kMaxLibsvmFeatures) + " features");
      previous = idx;
      max_index = std::max(max_index, idx);
      cols.push_back(static_cast<std::uint32_t>(idx - 1));
      vals.push_back(value);
    }
    if (keep_labels) labels.add(label, line_no);
    row_end.push_back(cols.size());
  }
  if (row_end.empty()) fail(name, "empty file: expected lines of 'label index:value ...'");

  Dataset d;
  d.source = name;
  d.rows = row_end.size();
  d.inputs = inputs != 0 ? inputs : max_index;
  if (d.inputs == 0) fail(name, "no features: every line has only a label");
  d.shape = {d.inputs};
  const std::uint64_t dense = std::uint64_t{d.rows} * d.inputs * sizeof(float);
  if (dense > max_dense_table_bytes(text.size()))
    fail(name, std::to_string(d.rows) + " rows x " + std::to_string(d.inputs) +
                   " features would take " + mb_text(dense) +
                   " as a dense table, more than softreg allows for a file of " +
                   std::to_string(text.size()) +
                   " bytes (8 x its size + 64 MB): the data is "
                   "too sparse to read densely");
  d.values.assign(d.rows * d.inputs, 0.0f);
  for (std::size_t r = 0, k = 0; r < d.rows; ++r)
    for (; k < row_end[r]; ++k) d.values[r * d.inputs + cols[k]] = vals[k];
  // No feature names: LIBSVM's columns are numbered, and a name per column of a wide file would
  // cost 32 bytes each.
  d.class_names = class_names;
  if (keep_labels) d.labels = labels.finish(d.class_names);
  return d;
}

}  // namespace softreg
