// What the text loaders share: numbers in text, and labels mapped to classes.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

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

bool parse_float(std::string_view s, float& f) {
  double v = 0;
  if (!parse_number(s, v)) return false;
  // Beyond the largest float the value would be infinite (and the conversion undefined).
  if (!(std::abs(v) <= static_cast<double>(std::numeric_limits<float>::max()))) {
    f = std::numeric_limits<float>::infinity();
    return true;
  }
  f = static_cast<float>(v);
  return true;
}

bool is_integer(std::string_view t, long long& v) {
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return ec == std::errc() && end == t.data() + t.size() && !t.empty();
}

std::string class_list_text(const std::vector<std::string>& classes) {
  constexpr std::size_t kShown = 20;
  std::string s;
  for (std::size_t c = 0; c < classes.size() && c < kShown; ++c) s += (c ? ", " : "") + classes[c];
  if (classes.size() > kShown) s += ", ... (" + std::to_string(classes.size()) + " in all)";
  return s;
}

LabelReader::LabelReader(const fs::path& file, const std::vector<std::string>& classes,
                         std::string column)
    : file_(file), given_(!classes.empty()), column_(std::move(column)) {
  if (given_) {
    classes_ = classes;
    for (std::size_t c = 0; c < classes.size(); ++c)
      index_.emplace(classes[c], static_cast<std::int32_t>(c));
  }
}

void LabelReader::add(std::string_view text, std::size_t line) {
  auto it = index_.find(text);
  if (it == index_.end()) {
    if (given_)
      fail(file_, "line " + std::to_string(line) + ": label '" + std::string(text) +
                      "' is not one of the model's classes (" + class_list_text(classes_) + ")");
    if (!valid_utf8(text))
      fail(file_, "line " + std::to_string(line) + ": label '" + escaped_utf8(text) +
                      "' is not UTF-8 text (class names are kept as text in the model)");
    if (index_.size() == kMaxClasses)
      fail(file_, "line " + std::to_string(line) + ": more than " + std::to_string(kMaxClasses) +
                      " distinct labels in column '" + column_ +
                      "' (softreg's limit on classes; is it the label column?)");
    it = index_.emplace(std::string(text), static_cast<std::int32_t>(index_.size())).first;
  }
  ids_.push_back(it->second);
}

std::vector<std::int32_t> LabelReader::finish(std::vector<std::string>& classes) {
  return finish(classes, false);
}

std::vector<std::int32_t> LabelReader::finish_part(std::vector<std::string>& classes) {
  return finish(classes, true);
}

std::vector<std::int32_t> LabelReader::finish(std::vector<std::string>& classes, bool part) {
  if (given_) {
    classes = classes_;
    return std::move(ids_);
  }
  // The distinct labels seen, in numeric order when every one is an integer ("-1" < "1" < "10"),
  // otherwise in byte order (the map's).
  std::vector<std::pair<long long, const std::string*>> keyed;
  bool numeric = true;
  for (const auto& [text, id] : index_) {
    long long v = 0;
    numeric = numeric && is_integer(text, v);
    keyed.emplace_back(v, &text);
  }
  if (numeric)
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  if (keyed.size() < 2 && !part)
    fail(file_, "only one class" +
                    (keyed.empty() ? std::string() : " ('" + *keyed[0].second + "')") +
                    " in column '" + column_ + "': classification needs at least two");
  // Each label's id was the order of its first appearance: renumber to the sorted order.
  std::vector<std::int32_t> to_class(index_.size());
  classes.clear();
  for (std::size_t c = 0; c < keyed.size(); ++c) {
    to_class[static_cast<std::size_t>(index_.find(*keyed[c].second)->second)] =
        static_cast<std::int32_t>(c);
    classes.push_back(*keyed[c].second);
  }
  for (std::int32_t& y : ids_) y = to_class[static_cast<std::size_t>(y)];
  return std::move(ids_);
}

}  // namespace softreg
