// softreg started in the background, for the tests that act on a run while it works: send it a
// signal after its first epoch, stop it while they change the disk under it, then let it finish.
#pragma once

#include <sys/types.h>

#include <string>

#include "fixtures.hpp"
#include "run.hpp"

namespace softreg::test {

class Child {
 public:
  /// Starts `SOFTREG_EXE args` (split by /bin/sh) with stdout on a pipe and stderr in a file.
  explicit Child(const std::string& args);
  ~Child();  // kills the process if it is still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// Reads stdout up to and including the next line that starts with `prefix`; false when
  /// stdout ends or `seconds` pass first. Everything read is kept for wait()'s result.
  bool wait_for_line(const std::string& prefix, double seconds);
  void signal(int sig);
  /// Waits for the process to end, reading the rest of stdout; after `seconds` it is killed
  /// (SIGKILL) and timed_out() becomes true. Returns its status, signal, stdout and stderr.
  RunResult wait(double seconds);
  bool timed_out() const { return timed_out_; }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int out_ = -1;
  std::string read_;
  bool timed_out_ = false;
  bool read_some(double seconds);
};

}  // namespace softreg::test
