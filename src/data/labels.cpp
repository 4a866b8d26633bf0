// What the text loaders share: numbers in text, and labels mapped to classes.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "load.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

bool parse_number(std::string_view s, double& v) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range && end == s.data() + s.size()) {
    v = HUGE_VAL;  // a number too large for a double ("1e999"): reported as not finite
    return true;
  }
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

bool is_integer(std::string_view t, long long& v) {
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return ec == std::errc() && end == t.data() + t.size() && !t.empty();
}

// Maps label texts to class indices. Without given classes, the classes are the distinct labels:
// in numeric order when all are integers ("-1" < "1" < "10"), otherwise in byte order.
std::vector<std::int32_t> map_labels(const fs::path& file, const std::vector<std::string>& labels,
                                     const std::vector<std::size_t>& lines,
                                     std::vector<std::string>& classes, const std::string& column) {
  if (classes.empty()) {
    std::vector<std::string> distinct = labels;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    bool numeric = true;
    std::vector<std::pair<long long, std::string>> keyed;
    for (const auto& d : distinct) {
      long long v = 0;
      numeric = numeric && is_integer(d, v);
      keyed.emplace_back(v, d);
    }
    if (numeric) {
      std::sort(keyed.begin(), keyed.end());
      distinct.clear();
      for (auto& [v, d] : keyed) distinct.push_back(d);
    }
    if (distinct.size() < 2)
      fail(file, "only one class" +
                     (distinct.empty() ? std::string() : " ('" + distinct[0] + "')") +
                     " in column '" + column + "': classification needs at least two");
    classes = distinct;
  }
  std::map<std::string, std::int32_t> index;
  for (std::size_t c = 0; c < classes.size(); ++c) index[classes[c]] = static_cast<std::int32_t>(c);
  std::vector<std::int32_t> y(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto it = index.find(labels[i]);
    if (it == index.end()) {
      std::string known;
      for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c;
      fail(file, "line " + std::to_string(lines[i]) + ": label '" + labels[i] +
                     "' is not one of the model's classes (" + known + ")");
    }
    y[i] = it->second;
  }
  return y;
}

std::string text_of(const fs::path& file) {
  const std::vector<std::uint8_t> bytes = read_file_maybe_gzip(file);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace softreg
