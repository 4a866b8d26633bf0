// LIBSVM/liblinear's sparse text format, densified.
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

Dataset load_libsvm(const fs::path& file, std::size_t inputs,
                    const std::vector<std::string>& class_names, bool keep_labels) {
  return parse_libsvm(text_of(file), file.string(), inputs, class_names, keep_labels);
}

Dataset parse_libsvm(std::string_view text, const std::string& name, std::size_t inputs,
                     const std::vector<std::string>& class_names, bool keep_labels) {
  const fs::path file(name);
  Dataset d;
  d.source = file.string();
  struct Row {
    std::size_t line;
    std::vector<std::pair<std::size_t, float>> pairs;
  };
  std::vector<Row> rows;
  std::vector<std::string> labels;
  std::vector<std::size_t> lines;
  std::size_t max_index = 0, line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    std::vector<std::string_view> tokens;
    for (std::size_t i = 0; i < line.size();) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      const std::size_t b = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > b) tokens.push_back(line.substr(b, i - b));
    }
    if (tokens.empty()) continue;
    const std::string where = "line " + std::to_string(line_no);
    if (tokens[0].find(':') != std::string_view::npos)
      fail(file, where + ": expected a label first but found '" + std::string(tokens[0]) + "'");
    Row row{line_no, {}};
    std::size_t previous = 0;
    for (std::size_t t = 1; t < tokens.size(); ++t) {
      const std::string pair(tokens[t]);
      const std::string at = where + ", pair " + std::to_string(t);
      const auto colon = pair.find(':');
      long long index = 0;
      double value = 0;
      if (colon == std::string::npos || !is_integer(pair.substr(0, colon), index) ||
          !parse_number(std::string_view(pair).substr(colon + 1), value))
        fail(file, at + ": expected index:value but found '" + pair + "'");
      if (index < 1) fail(file, at + ": indices start at 1 but found " + std::to_string(index));
      const auto idx = static_cast<std::size_t>(index);
      if (idx == previous) fail(file, at + ": index " + std::to_string(idx) + " is repeated");
      if (idx < previous)
        fail(file, at + ": indices must increase but " + std::to_string(idx) + " follows " +
                       std::to_string(previous));
      if (!std::isfinite(value) || std::abs(value) > 3.0e38)
        fail(file, at + ": expected a finite value but found '" + pair.substr(colon + 1) + "'");
      if (inputs != 0 && idx > inputs)
        fail(file, at + ": index " + std::to_string(idx) + " but the model has " +
                       std::to_string(inputs) + " features");
      if (idx > (std::size_t{1} << 24))
        fail(file, at + ": index " + std::to_string(idx) + " is beyond 16777216 features");
      previous = idx;
      max_index = std::max(max_index, idx);
      row.pairs.emplace_back(idx - 1, static_cast<float>(value));
    }
    labels.emplace_back(tokens[0]);
    lines.push_back(line_no);
    rows.push_back(std::move(row));
  }
  if (rows.empty()) fail(file, "empty file: expected lines of 'label index:value ...'");
  d.rows = rows.size();
  d.inputs = inputs != 0 ? inputs : max_index;
  if (d.inputs == 0) fail(file, "no features: every line has only a label");
  d.shape = {d.inputs};
  d.values.assign(d.rows * d.inputs, 0.0f);
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (const auto& [j, v] : rows[r].pairs) d.values[r * d.inputs + j] = v;
  for (std::size_t j = 1; j <= d.inputs; ++j) d.feature_names.push_back(std::to_string(j));
  d.class_names = class_names;
  if (keep_labels) d.labels = map_labels(file, labels, lines, d.class_names, "label");
  return d;
}

}  // namespace softreg
