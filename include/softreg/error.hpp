// Errors that reach the user. The CLI maps them to exit statuses:
//   InputError -> 2  (bad input or usage: a file that is missing, malformed or inconsistent)
//   Error      -> 1  (a failure at run time, e.g. training diverged)
// Messages are one line and name the file, what was expected and what was found.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace softreg {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class InputError : public Error {
 public:
  using Error::Error;
};

/// A parameter's name in a library message: `name` between backquotes, with the options model's
/// neutral name (max_iter, lr, batch_size, ...). The library never names a front end's option;
/// each front end writes its own name where the message has `name` (with_names): the CLI its
/// flag (--max-iter), Python the estimator's parameter (max_iter).
inline std::string param(std::string_view name) {
  return "`" + std::string(name) + "`";
}

/// `message` with every `name` (a lower-case identifier, or C, between backquotes) replaced by
/// name_of(name); the rest unchanged.
std::string with_names(std::string_view message,
                       const std::function<std::string(std::string_view)>& name_of);

}  // namespace softreg
