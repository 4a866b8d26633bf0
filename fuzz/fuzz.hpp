// What the fuzz targets share. A target feeds its input to the parser the CLI calls and fails only
// on a crash, a sanitizer report, a leak, a broken property, or an exception other than
// softreg::InputError (the error every parser throws for bad input). docs/security.md says more.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "softreg/error.hpp"

namespace softreg::fuzz {

/// Ends the run with a message: a parsed input broke the target's property.
[[noreturn]] inline void broken(const std::string& what) {
  std::fprintf(stderr, "property broken: %s\n", what.c_str());
  std::abort();
}

inline void check(bool ok, const std::string& what) {
  if (!ok) broken(what);
}

}  // namespace softreg::fuzz
