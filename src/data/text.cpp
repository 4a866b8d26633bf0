// Text in fastText's format, one document a line, into hashed word n-gram features as sparse
// rows (docs/formats.md, "Text"). The same function turns a line into its features for training,
// eval and predict, so a document always gets the same row.
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "load.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kLabelPrefix = "__label__";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n';
}

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// What one line holds: its labels (views into the line) and its words (views into `lower`, the
// line's text with ASCII letters lowercased).
struct Line {
  std::vector<std::string_view> labels;
  std::vector<std::string_view> words;
  std::string lower;
};

void split_line(std::string_view line, Line& out) {
  out.labels.clear();
  out.words.clear();
  out.lower.assign(line);
  for (char& c : out.lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  const std::string_view lower(out.lower);
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const std::size_t b = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (b == i) break;
    const std::string_view token = line.substr(b, i - b);
    if (token.starts_with(kLabelPrefix)) {
      out.labels.push_back(token.substr(kLabelPrefix.size()));
      continue;
    }
    for (std::size_t j = b; j < i;) {
      while (j < i && !is_word_byte(static_cast<unsigned char>(lower[j]))) ++j;
      const std::size_t w = j;
      while (j < i && is_word_byte(static_cast<unsigned char>(lower[j]))) ++j;
      if (j > w) out.words.push_back(lower.substr(w, j - w));
    }
  }
}

// The features of a line's words into `row` (sorted by column, values weighted and normalised);
// `cols` and `gram` are scratch.
void features_of(const std::vector<std::string_view>& words, const TextOptions& o,
                 std::vector<std::uint32_t>& cols, std::string& gram,
                 std::vector<std::pair<std::uint32_t, float>>& row) {
  const std::uint64_t mask = (std::uint64_t{1} << o.hash_bits) - 1;
  cols.clear();
  row.clear();
  for (std::size_t i = 0; i < words.size(); ++i) {
    gram.assign(words[i]);
    cols.push_back(static_cast<std::uint32_t>(text_hash(gram, o.seed) & mask));
    for (std::size_t n = 2; n <= static_cast<std::size_t>(o.ngrams) && i + n <= words.size(); ++n) {
      gram += ' ';
      gram += words[i + n - 1];
      cols.push_back(static_cast<std::uint32_t>(text_hash(gram, o.seed) & mask));
    }
  }
  std::sort(cols.begin(), cols.end());
  double sq = 0;
  for (std::size_t k = 0; k < cols.size();) {
    std::size_t e = k;
    while (e < cols.size() && cols[e] == cols[k]) ++e;
    const double v = o.weighting == TextOptions::Weighting::binary
                         ? 1.0
                         : std::log1p(static_cast<double>(e - k));
    row.emplace_back(cols[k], static_cast<float>(v));
    sq += v * v;
    k = e;
  }
  if (o.l2_normalize && sq > 0) {
    const double inv = 1.0 / std::sqrt(sq);
    for (auto& [c, v] : row) v = static_cast<float>(v * inv);
  }
}

void check_options(const TextOptions& o, const std::string& name) {
  if (o.ngrams < 1 || o.ngrams > kMaxNgrams)
    fail(name, "n-grams of 1 to " + std::to_string(kMaxNgrams) + " words, not " +
                   std::to_string(o.ngrams));
  if (o.hash_bits < 1 || o.hash_bits > kMaxHashBits)
    fail(name, "hash bits from 1 to " + std::to_string(kMaxHashBits) + ", not " +
                   std::to_string(o.hash_bits));
}

}  // namespace

std::uint64_t text_hash(std::string_view bytes, std::uint64_t seed) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

std::vector<std::string> text_words(std::string_view document) {
  Line line;
  split_line(document, line);
  return {line.words.begin(), line.words.end()};
}

std::vector<std::pair<std::uint32_t, float>> text_features(std::string_view document,
                                                           const TextOptions& options) {
  check_options(options, "text features");
  Line line;
  split_line(document, line);
  std::vector<std::uint32_t> cols;
  std::string gram;
  std::vector<std::pair<std::uint32_t, float>> row;
  features_of(line.words, options, cols, gram, row);
  return row;
}

Dataset parse_text(std::string_view text, const std::string& name, const TextOptions& options,
                   const std::vector<std::string>& class_names, bool require_label,
                   std::size_t first_line) {
  const bool part = first_line != 0;
  check_options(options, name);
  Dataset d;
  d.source = name;
  d.inputs = options.columns();
  d.shape = {d.inputs};
  d.sparse.offsets = {0};
  const bool keep_values =
      options.l2_normalize || options.weighting != TextOptions::Weighting::binary;
  LabelReader labels(name, class_names, "__label__");
  Line line;
  std::vector<std::uint32_t> cols;
  std::string gram;
  std::vector<std::pair<std::uint32_t, float>> row;
  std::size_t line_no = part ? first_line - 1 : 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (raw.size() > kMaxLineBytes) fail(name, line_too_long(line_no));
    split_line(raw, line);
    if (line.labels.empty() && line.words.empty() && std::all_of(raw.begin(), raw.end(), is_space))
      continue;  // a blank line
    if (require_label) {
      if (line.labels.empty())
        fail(name, "line " + std::to_string(line_no) +
                       ": expected a label (__label__NAME) but found none");
      if (line.labels[0].empty())
        fail(name, "line " + std::to_string(line_no) + ": a label without a name ('__label__')");
      labels.add(line.labels[0], line_no);
    }
    features_of(line.words, options, cols, gram, row);
    for (const auto& [c, v] : row) {
      d.sparse.cols.push_back(c);
      if (keep_values) d.sparse.vals.push_back(v);
    }
    d.sparse.offsets.push_back(d.sparse.cols.size());
    ++d.rows;
  }
  if (d.rows == 0 && !part) fail(name, "no documents: expected lines of '__label__NAME text ...'");
  d.class_names = class_names;
  if (require_label)
    d.labels = part ? labels.finish_part(d.class_names) : labels.finish(d.class_names);
  d.sparse.cols.shrink_to_fit();
  d.sparse.vals.shrink_to_fit();
  return d;
}

Dataset load_text(const fs::path& file, const TextOptions& options,
                  const std::vector<std::string>& class_names, bool require_label) {
  if (file == "-") {
    // Read whole, up to kMaxStdinBytes (one byte more says there was more).
    std::string in;
    char buffer[1 << 16];
    while (std::cin.read(buffer, sizeof buffer) || std::cin.gcount() > 0) {
      in.append(buffer, static_cast<std::size_t>(std::cin.gcount()));
      if (in.size() > kMaxStdinBytes)
        fail("standard input", "more than the " + std::to_string(kMaxStdinBytes >> 30) +
                                   " GiB softreg reads from standard input (give a file)");
    }
    return parse_text(in, "standard input", options, class_names, require_label);
  }
  const std::vector<std::uint8_t> bytes = read_file_maybe_gzip(file);
  return parse_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                    file.string(), options, class_names, require_label);
}

std::optional<TextOptions> model_text_options(const std::map<std::string, std::string>& notes,
                                              const std::string& file) {
  const auto it = notes.find("text_features");
  if (it == notes.end()) return std::nullopt;
  const auto bad = [&](const std::string& what) -> InputError {
    return InputError(file + ": the model's text_features " + what);
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception&) {
    throw bad("are not JSON");
  }
  TextOptions o;
  try {
    if (j.at("tokenizer").get<std::string>() != kTokenizerVersion)
      throw bad("name tokenizer '" + j.at("tokenizer").get<std::string>() +
                "', which this softreg does not know (it has " + std::string(kTokenizerVersion) +
                ")");
    if (j.at("hash").get<std::string>() != "xxh3_64")
      throw bad("name hash '" + j.at("hash").get<std::string>() + "' (expected xxh3_64)");
    o.ngrams = j.at("ngrams").get<int>();
    o.hash_bits = j.at("hash_bits").get<int>();
    o.seed = j.at("seed").get<std::uint64_t>();
    const std::string w = j.at("weighting").get<std::string>();
    if (w != "binary" && w != "log") throw bad("name weighting '" + w + "'");
    o.weighting = w == "log" ? TextOptions::Weighting::log_count : TextOptions::Weighting::binary;
    const std::string n = j.at("norm").get<std::string>();
    if (n != "l2" && n != "none") throw bad("name norm '" + n + "'");
    o.l2_normalize = n == "l2";
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("lack a field or hold one of the wrong type: ") + e.what());
  }
  if (o.ngrams < 1 || o.ngrams > kMaxNgrams || o.hash_bits < 1 || o.hash_bits > kMaxHashBits)
    throw bad("hold ngrams " + std::to_string(o.ngrams) + " and hash_bits " +
              std::to_string(o.hash_bits) + " (expected 1 to " + std::to_string(kMaxNgrams) +
              " and 1 to " + std::to_string(kMaxHashBits) + ")");
  return o;
}

std::string text_options_note(const TextOptions& o) {
  nlohmann::ordered_json j = {
      {"tokenizer", kTokenizerVersion},
      {"ngrams", o.ngrams},
      {"hash", "xxh3_64"},
      {"seed", o.seed},
      {"hash_bits", o.hash_bits},
      {"weighting", o.weighting == TextOptions::Weighting::log_count ? "log" : "binary"},
      {"norm", o.l2_normalize ? "l2" : "none"}};
  return j.dump();
}

}  // namespace softreg
