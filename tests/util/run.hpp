// Runs the softreg program as a user would, and captures what it printed.
#pragma once

#include <string>

namespace softreg::test {

struct RunResult {
  int status = -1;  // exit status, or -1 when killed by a signal
  int signal = 0;   // the signal that killed it, if one did
  std::string out;
  std::string err;
  long peak_rss_kb = 0;  // run_softreg: softreg's peak resident size, in KiB
};

/// Runs `SOFTREG_EXE args` through /bin/sh (so args may hold quotes), with `input` on standard
/// input, and returns its exit status (or the signal that killed it), stdout, stderr and peak
/// resident size.
RunResult run_softreg(const std::string& args, const std::string& input = "");

/// run_softreg under a limit of `data_kb` KiB on its data (ulimit -d: the heap and every private
/// writable mapping, thread stacks included).
RunResult run_softreg_limited(const std::string& args, long data_kb);

/// Runs any shell command the same way.
RunResult run_command(const std::string& command, const std::string& input = "");

}  // namespace softreg::test
