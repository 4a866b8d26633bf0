// What the loaders of src/data/ share; not part of the public API.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "softreg/error.hpp"

namespace softreg {

/// Throws InputError "FILE: WHAT".
[[noreturn]] inline void fail(const std::filesystem::path& file, const std::string& what) {
  throw InputError(file.string() + ": " + what);
}

inline std::uint32_t read_be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

/// dims[from..] as "28x28".
std::string dims_text(const std::vector<std::size_t>& dims, std::size_t from);

/// Reads all of `s` (an optional '+' first) as a number; a number too large for a double is
/// HUGE_VAL (then reported as not finite by the caller).
bool parse_number(std::string_view s, double& v);

/// Reads all of `s` (an optional '+' first) as a whole number.
bool is_integer(std::string_view s, long long& v);

/// Maps label texts to class indices (CsvOptions::class_names explains the order); `lines[i]` is
/// the line of labels[i], for messages; `column` names the label column.
std::vector<std::int32_t> map_labels(const std::filesystem::path& file,
                                     const std::vector<std::string>& labels,
                                     const std::vector<std::size_t>& lines,
                                     std::vector<std::string>& classes, const std::string& column);

/// The file's text, decompressed when it is gzip'd.
std::string text_of(const std::filesystem::path& file);

}  // namespace softreg
