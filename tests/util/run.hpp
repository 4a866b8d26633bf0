// Runs the softreg program as a user would, and captures what it printed.
#pragma once

#include <string>

namespace softreg::test {

struct RunResult {
  int status = -1;  // exit status, or -1 when killed by a signal
  std::string out;
  std::string err;
};

/// Runs `SOFTREG_EXE args` through /bin/sh (so args may hold quotes and redirections), with
/// `input` on standard input, and returns its exit status, stdout and stderr.
RunResult run_softreg(const std::string& args, const std::string& input = "");

/// Runs any shell command the same way.
RunResult run_command(const std::string& command, const std::string& input = "");

}  // namespace softreg::test
