// LIBSVM/liblinear's sparse text format, one example a line: `label index:value ...`.
//
// One pass over the text into compressed sparse rows: 8 bytes per stored value (4 when every value
// is 1), never densified. Room is reserved from counts of ':' and line ends in the text, so the
// arrays never outgrow what the file holds (docs/security.md).
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

// An index as written: decimal digits, or '-' and digits (refused later as below 1); false when
// it is not a number. Values beyond 2⁶⁴ saturate (they are beyond the most features anyway).
bool is_index(std::string_view t, std::int64_t& v) {
  const bool negative = !t.empty() && t[0] == '-';
  if (negative) t.remove_prefix(1);
  if (t.empty() || t.size() > 40) return false;
  std::uint64_t u = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return false;
    u = u > (UINT64_MAX - 9) / 10 ? UINT64_MAX : u * 10 + static_cast<unsigned>(c - '0');
  }
  const std::uint64_t cap = std::uint64_t{INT64_MAX};
  v = static_cast<std::int64_t>(std::min(u, cap));
  if (negative) v = -v;
  return true;
}

}  // namespace

Dataset load_libsvm(const fs::path& file, std::size_t inputs,
                    const std::vector<std::string>& class_names, bool keep_labels) {
  const std::vector<std::uint8_t> bytes = read_file_maybe_gzip(file);
  return parse_libsvm(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                      file.string(), inputs, class_names, keep_labels);
}

Dataset parse_libsvm(std::string_view text, const std::string& name, std::size_t inputs,
                     const std::vector<std::string>& class_names, bool keep_labels,
                     std::size_t first_line) {
  const bool part = first_line != 0;
  // The rows as compressed sparse rows: row r's pairs are cols/vals[row_end[r-1], row_end[r]).
  // Room for as many as the text can hold, reserved untouched: a pair has a ':', a row a line end.
  std::vector<std::uint64_t> row_end{0};
  std::vector<std::uint32_t> cols;
  std::vector<float> vals;
  bool binary = true;
  const auto pairs = static_cast<std::size_t>(std::count(text.begin(), text.end(), ':'));
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  cols.reserve(pairs);
  row_end.reserve(lines + 1);
  LabelReader labels(name, class_names, "label");
  if (keep_labels) labels.reserve(lines);

  std::uint64_t max_index = 0;
  std::size_t line_no = part ? first_line - 1 : 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.size() > kMaxLineBytes) fail(name, line_too_long(line_no));
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    std::size_t i = 0;
    const std::string_view label = next_token(line, i);
    if (label.empty()) continue;  // a blank line, or only a comment
    const std::string where = "line " + std::to_string(line_no);
    if (label.find(':') != std::string_view::npos)
      fail(name, where + ": expected a label first but found '" + std::string(label) + "'");
    std::uint64_t previous = 0;
    std::size_t t = 0;
    for (std::string_view pair = next_token(line, i); !pair.empty(); pair = next_token(line, i)) {
      ++t;
      auto at = [&] { return where + ", pair " + std::to_string(t); };
      const auto colon = pair.find(':');
      std::int64_t index = 0;
      float value = 0;
      if (colon == std::string_view::npos || !is_index(pair.substr(0, colon), index) ||
          !parse_float(pair.substr(colon + 1), value))
        fail(name, at() + ": expected index:value but found '" + std::string(pair) + "'");
      if (index < 1) fail(name, at() + ": indices start at 1 but found " + std::to_string(index));
      const auto idx = static_cast<std::uint64_t>(index);
      if (idx == previous) fail(name, at() + ": index " + std::to_string(idx) + " is repeated");
      if (idx < previous)
        fail(name, at() + ": indices must increase but " + std::to_string(idx) + " follows " +
                       std::to_string(previous));
      if (!std::isfinite(value))
        fail(name, at() + ": expected a finite value but found '" +
                       std::string(pair.substr(colon + 1)) + "'");
      if (idx > kMaxSparseFeatures)
        fail(name, at() + ": index " + std::to_string(idx) + " is beyond " +
                       std::to_string(kMaxSparseFeatures) +
                       ", the most features softreg reads (32-bit columns)");
      previous = idx;
      // A feature beyond a model's (`inputs`) is one it never saw in training: its weight is 0,
      // so it is skipped, as liblinear does.
      if (inputs != 0 && idx > inputs) continue;
      max_index = std::max(max_index, idx);
      cols.push_back(static_cast<std::uint32_t>(idx - 1));
      // Values are kept once one is not 1: a binary file costs 4 bytes a pair, not 8.
      if (binary && value != 1.0f) {
        binary = false;
        vals.reserve(pairs);
        vals.assign(cols.size() - 1, 1.0f);
      }
      if (!binary) vals.push_back(value);
    }
    if (keep_labels) labels.add(label, line_no);
    row_end.push_back(cols.size());
  }
  if (row_end.size() == 1 && !part)
    fail(name, "empty file: expected lines of 'label index:value ...'");

  Dataset d;
  d.source = name;
  d.rows = row_end.size() - 1;
  d.inputs = inputs != 0 ? inputs : max_index;
  if (d.inputs == 0 && !part) fail(name, "no features: every line has only a label");
  d.shape = {d.inputs};
  d.sparse.offsets = std::move(row_end);
  d.sparse.cols = std::move(cols);
  d.sparse.vals = std::move(vals);
  d.sparse.offsets.shrink_to_fit();
  d.sparse.cols.shrink_to_fit();
  d.sparse.vals.shrink_to_fit();
  // No feature names: LIBSVM's columns are numbered, and a name per column of a wide file would
  // cost 32 bytes each.
  d.class_names = class_names;
  if (keep_labels)
    d.labels = part ? labels.finish_part(d.class_names) : labels.finish(d.class_names);
  return d;
}

}  // namespace softreg
