// LIBSVM files, as --libsvm reads them. Property: the table written back in LIBSVM format (the
// non-zero values, as the shortest text of their double value) parses to the same table.
#include <charconv>
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
    for (std::size_t j = 0; j < d.inputs; ++j) {
      const float v = d.values[i * d.inputs + j];
      if (v == 0.0f) continue;
      const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<double>(v));
      s += " " + std::to_string(j + 1) + ":" + std::string(buf, r.ptr);
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
  fuzz::check(d.values.size() == d.rows * d.inputs, "LIBSVM: values are not rows x inputs");
  fuzz::check(d.labels.size() == d.rows, "LIBSVM: a label per row");
  for (std::int32_t y : d.labels)
    fuzz::check(y >= 0 && static_cast<std::size_t>(y) < d.classes(), "LIBSVM: label out of range");
  const Dataset e = parse_libsvm(libsvm_text(d), "round trip", d.inputs, d.class_names);
  fuzz::check(
      e.rows == d.rows && e.inputs == d.inputs && e.values == d.values && e.labels == d.labels,
      "LIBSVM: round trip differs");
  return 0;
}
