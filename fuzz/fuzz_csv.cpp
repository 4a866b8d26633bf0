// CSV tables, as --csv reads them. The first byte picks the options (separator, label column
// required or not); the rest is the file. Property: the table written back as CSV (every field
// quoted, numbers as the shortest text of their double value) parses to the same table.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz.hpp"
#include "softreg/data.hpp"

using namespace softreg;

namespace {

std::string csv_field(std::string_view s) {
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string number(float v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<double>(v));
  return std::string(buf, r.ptr);
}

// The table as CSV with the label (when there is one) in the last column, named "label".
std::string csv_text(const Dataset& d) {
  std::string s;
  for (std::size_t j = 0; j < d.inputs; ++j) s += (j ? "," : "") + csv_field(d.feature_names[j]);
  if (!d.labels.empty()) s += (d.inputs ? "," : "") + csv_field("label");
  s += "\n";
  for (std::size_t i = 0; i < d.rows; ++i) {
    for (std::size_t j = 0; j < d.inputs; ++j)
      s += (j ? "," : "") + number(d.values[i * d.inputs + j]);
    if (!d.labels.empty())
      s += (d.inputs ? "," : "") + csv_field(d.class_names[static_cast<std::size_t>(d.labels[i])]);
    s += "\n";
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  CsvOptions options;
  const char separators[] = {0, ',', ';', '\t'};
  options.separator = separators[data[0] & 3];
  options.require_label = (data[0] & 4) == 0;
  if (data[0] & 8) options.label = "label";
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Dataset d;
  try {
    d = parse_csv(text, "input", options);
  } catch (const InputError&) {
    return 0;
  }
  fuzz::check(d.values.size() == d.rows * d.inputs, "CSV: values are not rows x inputs");
  fuzz::check(d.feature_names.size() == d.inputs, "CSV: a name per feature");
  fuzz::check(d.labels.empty() || d.labels.size() == d.rows, "CSV: a label per row");
  for (std::int32_t y : d.labels)
    fuzz::check(y >= 0 && static_cast<std::size_t>(y) < d.classes(), "CSV: label out of range");
  CsvOptions again;
  again.separator = ',';
  again.require_label = !d.labels.empty();
  if (!d.labels.empty()) again.label = "label";
  // The classes come back in the same order only when they are given.
  again.class_names = d.class_names;
  const Dataset e = parse_csv(csv_text(d), "round trip", again);
  fuzz::check(e.rows == d.rows && e.inputs == d.inputs && e.values == d.values &&
                  e.labels == d.labels && e.feature_names == d.feature_names,
              "CSV: round trip differs");
  return 0;
}
