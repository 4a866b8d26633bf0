// CSV tables (RFC 4180) of numeric features and one label column.
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

// One CSV record: its fields and the line it starts on.
struct Record {
  std::size_t line = 0;
  std::vector<std::string> fields;
};

// RFC 4180 records from `text`: fields separated by `sep`, records by LF or CRLF, a quoted field
// may hold separators, newlines and "" for a quote.
std::vector<Record> records_of(const fs::path& file, std::string_view text, char sep) {
  std::vector<Record> records;
  std::size_t i = 0, line = 1;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // a UTF-8 byte-order mark
  while (i < text.size()) {
    Record r;
    r.line = line;
    std::string field;
    bool in_record = true;
    while (in_record) {
      field.clear();
      if (i < text.size() && text[i] == '"') {
        const std::size_t opened = line;
        ++i;
        for (;;) {
          if (i >= text.size())
            fail(file, "line " + std::to_string(opened) + ": a quoted field is never closed");
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (i < text.size() && text[i] != sep && text[i] != '\n' && text[i] != '\r')
          fail(file, "line " + std::to_string(line) + ", column " +
                         std::to_string(r.fields.size() + 1) +
                         ": expected a separator after the closing quote but found '" +
                         std::string(1, text[i]) + "'");
      } else {
        while (i < text.size() && text[i] != sep && text[i] != '\n' && text[i] != '\r')
          field += text[i++];
      }
      r.fields.push_back(field);
      if (i < text.size() && text[i] == sep) {
        ++i;
        continue;
      }
      if (i < text.size() && text[i] == '\r') ++i;
      if (i < text.size() && text[i] == '\n') ++i;
      ++line;
      in_record = false;
    }
    // Blank lines carry no record.
    if (!(r.fields.size() == 1 && r.fields[0].empty())) records.push_back(std::move(r));
  }
  return records;
}

char detect_separator(std::string_view text) {
  std::size_t counts[3] = {0, 0, 0};
  const char seps[3] = {',', ';', '\t'};
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (!quoted && c == '\n') break;
    if (quoted) continue;
    for (int k = 0; k < 3; ++k) counts[k] += c == seps[k];
  }
  int best = 0;
  for (int k = 1; k < 3; ++k)
    if (counts[k] > counts[best]) best = k;
  return seps[best];
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

Dataset load_csv(const fs::path& file, const CsvOptions& options) {
  return parse_csv(text_of(file), file.string(), options);
}

Dataset parse_csv(std::string_view text, const std::string& name, const CsvOptions& options) {
  const fs::path file(name);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    fail(file, "empty file: expected a header row and rows of numbers");
  const char sep = options.separator != 0 ? options.separator : detect_separator(text);
  std::vector<Record> records = records_of(file, text, sep);
  const std::vector<std::string> header = records[0].fields;
  if (records.size() == 1) fail(file, "no data rows after the header");

  std::size_t label_col = header.size();  // none
  if (options.label.empty()) {
    if (options.require_label || (options.features != 0 && header.size() == options.features + 1))
      label_col = header.size() - 1;
  } else {
    for (std::size_t c = 0; c < header.size(); ++c)
      if (trim(header[c]) == options.label) label_col = c;
    if (label_col == header.size() && options.require_label) {
      std::string names;
      for (const auto& h : header) names += (names.empty() ? "" : ", ") + trim(h);
      fail(file, "no column '" + options.label + "' in the header (columns: " + names + ")");
    }
  }
  if (options.require_label && header.size() < 2)
    fail(file,
         "line 1: expected a label column and at least one feature column but the header "
         "has 1 column (separator '" +
             std::string(sep == '\t' ? "\\t" : std::string(1, sep)) + "'; --sep chooses another)");

  Dataset d;
  d.source = file.string();
  for (std::size_t c = 0; c < header.size(); ++c)
    if (c != label_col) d.feature_names.push_back(trim(header[c]));
  d.inputs = d.feature_names.size();
  d.shape = {d.inputs};
  d.rows = records.size() - 1;
  d.values.reserve(d.rows * d.inputs);
  std::vector<std::string> labels;
  std::vector<std::size_t> lines;
  for (std::size_t r = 1; r < records.size(); ++r) {
    const Record& rec = records[r];
    if (rec.fields.size() != header.size())
      fail(file, "line " + std::to_string(rec.line) + ": expected " +
                     std::to_string(header.size()) + " fields (as in the header) but found " +
                     std::to_string(rec.fields.size()));
    for (std::size_t c = 0; c < rec.fields.size(); ++c) {
      const std::string where = "line " + std::to_string(rec.line) + ", column " +
                                std::to_string(c + 1) + " (" + trim(header[c]) + ")";
      const std::string field = trim(rec.fields[c]);
      if (c == label_col) {
        if (field.empty()) fail(file, where + ": empty label");
        labels.push_back(field);
        lines.push_back(rec.line);
        continue;
      }
      if (field.empty()) fail(file, where + ": empty feature: expected a number");
      double v = 0;
      if (!parse_number(field, v))
        fail(file, where + ": expected a number but found '" + field + "'");
      if (!std::isfinite(v) || std::abs(v) > 3.0e38)
        fail(file, where + ": expected a finite number but found '" + field + "'");
      d.values.push_back(static_cast<float>(v));
    }
  }
  if (label_col != header.size()) {
    d.class_names = options.class_names;
    d.labels = map_labels(file, labels, lines, d.class_names, trim(header[label_col]));
  } else {
    d.class_names = options.class_names;
  }
  return d;
}

}  // namespace softreg
