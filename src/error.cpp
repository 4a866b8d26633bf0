#include "softreg/error.hpp"

namespace softreg {

std::string with_names(std::string_view message,
                       const std::function<std::string(std::string_view)>& name_of) {
  const auto is_name = [](std::string_view n) {
    if (n == "C") return true;
    if (n.empty() || n[0] < 'a' || n[0] > 'z') return false;
    for (char c : n)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
  };
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t open = message.find('`', pos);
    const std::size_t close = open == std::string_view::npos ? open : message.find('`', open + 1);
    if (close == std::string_view::npos) break;
    const std::string_view name = message.substr(open + 1, close - open - 1);
    if (!is_name(name)) {  // not a parameter: the backquote is text
      out.append(message.substr(pos, open + 1 - pos));
      pos = open + 1;
      continue;
    }
    out.append(message.substr(pos, open - pos));
    out += name_of(name);
    pos = close + 1;
  }
  out.append(message.substr(pos));
  return out;
}

}  // namespace softreg
