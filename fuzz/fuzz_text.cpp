// Documents in fastText's format, as --text reads them. Properties: the rows are well formed
// (offsets from 0 to nnz, columns strictly increasing within a row and below 2^bits, values
// finite and positive, of Euclidean length 1 with --norm l2); every labelled row's class is one
// of the classes; and each document's row is text_features() of its line (train and predict
// see the same features).
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz.hpp"
#include "softreg/data.hpp"

using namespace softreg;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte picks the options: n-grams 1-4, 4 to 19 bits, weighting, norm.
  TextOptions o;
  o.ngrams = 1 + (data[0] & 3);
  o.hash_bits = 4 + ((data[0] >> 2) & 15);
  o.weighting = (data[0] & 64) ? TextOptions::Weighting::log_count : TextOptions::Weighting::binary;
  o.l2_normalize = (data[0] & 128) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  Dataset d;
  try {
    d = parse_text(text, "input", o, {}, /*require_label=*/(data[0] & 16) == 0);
  } catch (const InputError&) {
    return 0;
  }
  const SparseRows& x = d.sparse;
  fuzz::check(d.inputs == o.columns() && x.offsets.size() == d.rows + 1 && x.offsets[0] == 0 &&
                  x.offsets[d.rows] == x.nnz(),
              "text: offsets are not 0 .. nnz");
  fuzz::check(x.vals.empty() || x.vals.size() == x.nnz(), "text: a value per column, or none");
  for (std::int32_t y : d.labels)
    fuzz::check(y >= 0 && static_cast<std::size_t>(y) < d.classes(), "text: label out of range");
  // The documents' lines, in order, skipping blank ones as the parser does.
  std::size_t row = 0, pos = 0;
  while (pos < text.size() && row <= d.rows) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    bool blank = true;
    for (char c : line)
      blank = blank && (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f');
    if (blank) continue;
    fuzz::check(row < d.rows, "text: more documents than rows");
    const auto f = text_features(line, o);
    fuzz::check(f.size() == x.offsets[row + 1] - x.offsets[row], "text: row differs from its line");
    double sq = 0;
    for (std::size_t k = 0; k < f.size(); ++k) {
      const std::uint64_t e = x.offsets[row] + k;
      const float v = x.vals.empty() ? 1.0f : x.vals[e];
      fuzz::check(x.cols[e] == f[k].first && v == f[k].second, "text: row differs from its line");
      fuzz::check(x.cols[e] < d.inputs && (k == 0 || x.cols[e - 1] < x.cols[e]),
                  "text: columns not increasing below 2^bits");
      fuzz::check(std::isfinite(v) && v > 0, "text: a value not finite and positive");
      sq += double{v} * v;
    }
    if (o.l2_normalize && !f.empty())
      fuzz::check(std::abs(sq - 1.0) < 1e-5, "text: an l2 row not of length 1");
    ++row;
  }
  fuzz::check(row == d.rows, "text: fewer documents than rows");
  return 0;
}
