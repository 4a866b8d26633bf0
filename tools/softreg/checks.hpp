// The checks of option values that more than one subcommand needs. Each says what it expected
// and what it found, as every error of softreg does.
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "softreg/error.hpp"

namespace softreg::cli {

// A whole number in [0, 2^64): "-1" must not wrap around to 2^64 - 1, nor a larger one saturate.
inline const CLI::Validator kUnsigned64(
    [](std::string& s) -> std::string {
      std::uint64_t v = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || end != s.data() + s.size())
        return "expected a whole number from 0 to 18446744073709551615 but found " + s;
      return {};
    },
    "UINT64");

// A fraction strictly between 0 and 1.
inline const CLI::Validator kOpenFraction(
    [](std::string& s) -> std::string {
      double v = 0;
      if (!CLI::detail::lexical_cast(s, v) || !(v > 0.0 && v < 1.0))
        return "expected a fraction strictly between 0 and 1 but found " + s;
      return {};
    },
    "(0, 1)");

// The flag of an options-model name in a library message (error.hpp, param): max_iter is
// --max-iter, C is --C.
inline std::string flag_of(std::string_view name) {
  std::string flag = "--" + std::string(name);
  for (char& c : flag)
    if (c == '_') c = '-';
  return flag;
}

// A library message as the CLI prints it: every `name` written as its flag.
inline std::string cli_text(std::string_view message) {
  return with_names(message, flag_of);
}

// Not empty: `--C ''` must not mean "not given" (and C = 1), nor `--out ''` no file.
inline const CLI::Validator kNotEmpty(
    [](std::string& s) -> std::string {
      return s.empty() ? "expected a value but found an empty one" : "";
    },
    "");

// Every option of `app` and its subcommands that takes text (a file, a name, a list of numbers)
// refuses an empty value (positional arguments say what they need themselves). Called once, after
// every subcommand has added its options.
inline void refuse_empty_text(CLI::App& app) {
  for (CLI::Option* o : app.get_options())
    if (o->nonpositional() && o->get_expected_max() > 0 && o->get_type_name().rfind("TEXT", 0) == 0)
      o->check(kNotEmpty);
  for (CLI::App* sub : app.get_subcommands({})) refuse_empty_text(*sub);
}

}  // namespace softreg::cli
