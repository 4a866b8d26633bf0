// Errors that reach the user. The CLI maps them to exit statuses:
//   InputError -> 2  (bad input or usage: a file that is missing, malformed or inconsistent)
//   Error      -> 1  (a failure at run time, e.g. training diverged)
// Messages are one line and name the file, what was expected and what was found.
#pragma once

#include <stdexcept>
#include <string>

namespace softreg {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class InputError : public Error {
 public:
  using Error::Error;
};

}  // namespace softreg
