// LIBSVM files, as --libsvm reads them. Properties: the compressed rows are well formed (offsets
// from 0 to nnz, increasing; columns strictly increasing within a row and below inputs; values
// finite, one per column or none); and the rows written back in LIBSVM format (each stored value
// as the shortest text of its double value) parse to the same rows.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz.hpp"
#include "softreg/data.hpp"

using namespace softreg;

namespace {

std::string libsvm_text(const Dataset& d) {
  std::string s;
  char buf[64];
  for (std::size_t i = 0; i < d.rows; ++i) {
    s += d.class_names[static_cast<std::size_t>(d.labels[i])];
    for (std::uint64_t e = d.sparse.offsets[i]; e < d.sparse.offsets[i + 1]; ++e) {
      const float v = d.sparse.binary() ? 1.0f : d.sparse.vals[e];
      const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<double>(v));
      s +=
          " " + std::to_string(std::uint64_t{d.sparse.cols[e]} + 1) + ":" + std::string(buf, r.ptr);
    }
    s += "\n";
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Dataset d;
  try {
    d = parse_libsvm(text, "input");
  } catch (const InputError&) {
    return 0;
  }
  const SparseRows& x = d.sparse;
  fuzz::check(d.is_sparse() && d.values.empty(), "LIBSVM: not sparse rows");
  fuzz::check(x.offsets.size() == d.rows + 1 && x.offsets[0] == 0 && x.offsets[d.rows] == x.nnz(),
              "LIBSVM: offsets are not 0 .. nnz");
  fuzz::check(x.vals.empty() || x.vals.size() == x.nnz(), "LIBSVM: a value per column, or none");
  fuzz::check(d.inputs >= 1 && d.inputs <= kMaxSparseFeatures, "LIBSVM: inputs out of range");
  for (std::size_t i = 0; i < d.rows; ++i) {
    fuzz::check(x.offsets[i] <= x.offsets[i + 1], "LIBSVM: offsets decrease");
    for (std::uint64_t e = x.offsets[i]; e < x.offsets[i + 1]; ++e) {
      fuzz::check(x.cols[e] < d.inputs, "LIBSVM: a column beyond inputs");
      fuzz::check(e == x.offsets[i] || x.cols[e - 1] < x.cols[e], "LIBSVM: columns not increasing");
      fuzz::check(x.vals.empty() || std::isfinite(x.vals[e]), "LIBSVM: a value not finite");
    }
  }
  fuzz::check(d.labels.size() == d.rows, "LIBSVM: a label per row");
  for (std::int32_t y : d.labels)
    fuzz::check(y >= 0 && static_cast<std::size_t>(y) < d.classes(), "LIBSVM: label out of range");
  const Dataset e = parse_libsvm(libsvm_text(d), "round trip", d.inputs, d.class_names);
  fuzz::check(e.rows == d.rows && e.inputs == d.inputs && e.sparse.offsets == x.offsets &&
                  e.sparse.cols == x.cols && e.sparse.vals == x.vals && e.labels == d.labels,
              "LIBSVM: round trip differs");
  return 0;
}
