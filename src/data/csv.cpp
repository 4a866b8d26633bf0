// CSV tables (RFC 4180) of numeric features and one label column.
//
// One pass over the text, field by field: an unquoted field is a view into the text, a quoted one
// is unescaped into one reused buffer, numbers go straight into the table. Memory is the text,
// four bytes per feature value, four per row and the distinct labels (docs/security.md).
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

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Walks the records of CSV text field by field: fields separated by `sep`, records by LF, CRLF or
// CR; a quoted field may hold separators, line ends and "" for a quote.
class Fields {
 public:
  Fields(const std::string& name, std::string_view text, char sep)
      : name_(name), text_(text), sep_(sep) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;  // a UTF-8 byte-order mark
  }

  /// Moves to the next record that is not a blank line; false at the end of the text.
  bool next_record() {
    while (i_ < text_.size() && (text_[i_] == '\n' || text_[i_] == '\r')) end_line();
    record_line_ = line_;
    record_begin_ = i_;
    in_record_ = i_ < text_.size();
    return in_record_;
  }

  /// The line the current record starts on.
  std::size_t line() const { return record_line_; }
  /// The number of the line the text goes on with (a part of a file after its header).
  void set_line(std::size_t line) { line_ = line; }

  /// Reads the current record's next field; false when the record has no more fields.
  bool next(std::string_view& field, std::size_t column) {
    if (!in_record_) return false;
    if (i_ < text_.size() && text_[i_] == '"') {
      quoted(column);
      field = buffer_;
    } else {
      const std::size_t b = i_;
      while (i_ < text_.size() && text_[i_] != sep_ && text_[i_] != '\n' && text_[i_] != '\r') ++i_;
      field = text_.substr(b, i_ - b);
    }
    if (i_ - record_begin_ > kMaxLineBytes) fail(name_, line_too_long(record_line_));
    if (i_ < text_.size() && text_[i_] == sep_)
      ++i_;
    else {
      if (i_ < text_.size()) end_line();
      in_record_ = false;
    }
    return true;
  }

 private:
  void end_line() {
    if (text_[i_] == '\r') ++i_;
    if (i_ < text_.size() && text_[i_] == '\n') ++i_;
    ++line_;
  }

  void quoted(std::size_t column) {
    const std::size_t opened = line_;
    buffer_.clear();
    ++i_;
    for (;;) {
      const std::size_t b = i_;
      while (i_ < text_.size() && text_[i_] != '"') {
        // Lines are counted as outside quotes: LF, CR LF and a lone CR each end one.
        if (text_[i_] == '\n' ||
            (text_[i_] == '\r' && (i_ + 1 == text_.size() || text_[i_ + 1] != '\n')))
          ++line_;
        ++i_;
      }
      buffer_.append(text_.substr(b, i_ - b));
      if (i_ >= text_.size())
        fail(name_, "line " + std::to_string(opened) + ": a quoted field is never closed");
      if (i_ + 1 < text_.size() && text_[i_ + 1] == '"') {
        buffer_ += '"';
        i_ += 2;
        continue;
      }
      ++i_;
      break;
    }
    if (i_ < text_.size() && text_[i_] != sep_ && text_[i_] != '\n' && text_[i_] != '\r')
      fail(name_, "line " + std::to_string(line_) + ", column " + std::to_string(column + 1) +
                      ": expected a separator after the closing quote but found '" +
                      std::string(1, text_[i_]) + "'");
  }

  const std::string& name_;
  std::string_view text_;
  char sep_;
  std::size_t i_ = 0;
  std::size_t line_ = 1;
  std::size_t record_line_ = 1;
  std::size_t record_begin_ = 0;
  bool in_record_ = false;
  std::string buffer_;  // the unescaped text of the last quoted field
};

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

std::string separator_text(char sep) {
  return sep == '\t' ? "\\t" : std::string(1, sep);
}

}  // namespace

std::string csv_label_column(std::string_view text, const std::string& name,
                             const CsvOptions& options) {
  if (!options.label.empty()) return options.label;
  Fields fields(name, text, options.separator != 0 ? options.separator : detect_separator(text));
  std::vector<std::string> header;
  if (fields.next_record())
    for (std::string_view f; fields.next(f, header.size());) header.emplace_back(trim(f));
  if (header.empty()) return "";
  const bool weight_last = !options.weight_column.empty() && header.back() == options.weight_column;
  return header.size() >= 2 && weight_last ? header[header.size() - 2] : header.back();
}

Dataset load_csv(const fs::path& file, const CsvOptions& options) {
  const std::vector<std::uint8_t> bytes = read_file_maybe_gzip(file);
  return parse_csv(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                   file.string(), options);
}

Dataset parse_csv(std::string_view text, const std::string& name, const CsvOptions& options,
                  std::size_t first_line) {
  const bool part = first_line != 0;
  const char sep = options.separator != 0 ? options.separator : detect_separator(text);
  Fields fields(name, text, sep);
  if (!fields.next_record()) fail(name, "empty file: expected a header row and rows of numbers");

  std::vector<std::string> header;
  for (std::string_view f; fields.next(f, header.size());) {
    if (header.size() == kMaxCsvColumns)
      fail(name, "line 1: more than " + std::to_string(kMaxCsvColumns) +
                     " columns (softreg's limit for CSV; a wider table is better read as LIBSVM)");
    header.emplace_back(trim(f));
  }
  if (part) fields.set_line(first_line);  // the part's rows follow the header at that line
  const bool any = fields.next_record();
  if (!any && !part) fail(name, "no data rows after the header");

  // The weight column first: the label's default, the last column, is the last other one.
  std::size_t weight_col = header.size();  // none
  if (!options.weight_column.empty()) {
    if (options.weight_column == options.label)
      fail(name, "the sample weights' column '" + options.weight_column +
                     "' is also the label column: give each its own");
    for (std::size_t c = 0; c < header.size(); ++c)
      if (header[c] == options.weight_column && header[c] != options.label) weight_col = c;
    if (weight_col == header.size() && options.require_weights)
      fail(name, "no column '" + options.weight_column + "' in the header for " +
                     param("sample_weight") + " (columns: " + class_list_text(header) + ")");
  }
  const std::size_t columns = header.size() - (weight_col < header.size() ? 1 : 0);
  std::size_t label_col = header.size();  // none
  if (options.label.empty()) {
    if (options.require_label || (options.features != 0 && columns == options.features + 1))
      label_col = weight_col == header.size() - 1 ? header.size() - 2 : header.size() - 1;
    if (label_col >= header.size()) label_col = header.size();  // a weight column alone
  } else {
    for (std::size_t c = 0; c < header.size(); ++c)
      if (header[c] == options.label) label_col = c;
    if (label_col == header.size() && options.require_label)
      fail(name, "no column '" + options.label +
                     "' in the header (columns: " + class_list_text(header) + ")");
  }
  const std::size_t features =
      header.size() - (label_col < header.size() ? 1 : 0) - (weight_col < header.size() ? 1 : 0);
  if (features == 0 && (label_col < header.size() || weight_col < header.size()))
    fail(name,
         "line 1: expected a label column and at least one feature column but the header "
         "has " +
             std::to_string(header.size()) + (header.size() == 1 ? " column" : " columns") +
             (weight_col < header.size() ? ", one of them the sample weights" : "") +
             " (separator '" + separator_text(sep) + "'; " + param("sep") + " chooses another)");

  Dataset d;
  d.source = name;
  for (std::size_t c = 0; c < header.size(); ++c)
    if (c != label_col && c != weight_col) {
      if (!valid_utf8(header[c]))
        fail(name, "line 1, column " + std::to_string(c + 1) + ": the name '" +
                       escaped_utf8(header[c]) +
                       "' is not UTF-8 text (feature names are kept as text in the model)");
      d.feature_names.push_back(header[c]);
    }
  d.inputs = features;
  d.shape = {d.inputs};
  // Room for every row the text can hold, reserved untouched (so it costs no memory until used):
  // a row has at least one line end, a value at least one character and a separator.
  const std::size_t line_ends = static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }));
  d.values.reserve(std::min((line_ends + 1) * features, text.size() / 2 + 1));
  LabelReader labels(name, options.class_names,
                     label_col < header.size() ? header[label_col] : std::string());
  if (label_col < header.size()) labels.reserve(std::min(line_ends + 1, text.size() / 2 + 1));

  auto where = [&](std::size_t c) {
    return "line " + std::to_string(fields.line()) + ", column " + std::to_string(c + 1) + " (" +
           header[c] + ")";
  };
  if (any) do {
      std::size_t c = 0;
      for (std::string_view raw; fields.next(raw, c); ++c) {
        if (c >= header.size()) continue;  // counted, and refused below
        const std::string_view field = trim(raw);
        if (c == label_col) {
          if (field.empty()) fail(name, where(c) + ": empty label");
          labels.add(field, fields.line());
          continue;
        }
        if (c == weight_col) {
          double w = 0;  // a double, as the objective sums it
          if (!parse_number(field, w) || !std::isfinite(w) || w < 0)
            fail(name, where(c) + ": expected a sample weight (a finite number >= 0) but found '" +
                           std::string(field) + "'");
          d.weights.push_back(w);
          continue;
        }
        if (field.empty()) fail(name, where(c) + ": empty feature: expected a number");
        float v = 0;
        if (!parse_float(field, v))
          fail(name, where(c) + ": expected a number but found '" + std::string(field) + "'");
        if (!std::isfinite(v))
          fail(name,
               where(c) + ": expected a finite number but found '" + std::string(field) + "'");
        d.values.push_back(v);
      }
      if (c != header.size())
        fail(name, "line " + std::to_string(fields.line()) + ": expected " +
                       std::to_string(header.size()) + " fields (as in the header) but found " +
                       std::to_string(c));
      ++d.rows;
    } while (fields.next_record());

  d.class_names = options.class_names;
  if (label_col < header.size())
    d.labels = part ? labels.finish_part(d.class_names) : labels.finish(d.class_names);
  if (weight_col < header.size() && !part &&
      std::all_of(d.weights.begin(), d.weights.end(), [](double w) { return w == 0; }))
    fail(name, "every sample weight in column '" + header[weight_col] +
                   "' is 0: nothing would be fitted");
  if (weight_col < header.size() && !options.require_weights) d.weights.clear();
  return d;
}

}  // namespace softreg
