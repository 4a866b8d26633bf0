// What the fuzz targets share. A target feeds its input to the parser the CLI calls and fails only
// on a crash, a sanitizer report, a leak, a broken property, or an exception other than
// softreg::InputError (the error every parser throws for bad input). docs/security.md says more.
#pragma once

#include <fcntl.h>
#include <unistd.h>

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

/// The lowest file descriptor not in use (open(2) returns the lowest free one).
inline int lowest_free_fd() {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) ::close(fd);
  return fd;
}

/// For the targets whose readers open files: the input breaks a property when a reader leaves a
/// file descriptor open (one that throws must close what it opened, or a long-lived process,
/// Python's, runs out of them), i.e. when the lowest free descriptor is not the same when the
/// guard goes as when it came. Declare it first, so that it goes after every reader.
class FdGuard {
 public:
  FdGuard() : lowest_(lowest_free_fd()) {}
  ~FdGuard() {
    if (lowest_free_fd() != lowest_) broken("a file descriptor was left open");
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;

 private:
  int lowest_;
};

}  // namespace softreg::fuzz
