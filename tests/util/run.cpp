#include "run.hpp"

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fixtures.hpp"

namespace softreg::test {

namespace {

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `command` with `input`, wrapped as `open` command `close`, through /bin/sh.
RunResult run_shell(const std::string& open, const std::string& command, const std::string& close,
                    const std::string& input) {
  TempDir dir;
  const auto in = dir.path() / "stdin";
  const auto out = dir.path() / "stdout";
  const auto err = dir.path() / "stderr";
  std::ofstream(in, std::ios::binary) << input;
  const std::string line = open + command + close + " <'" + in.string() + "' >'" + out.string() +
                           "' 2>'" + err.string() + "'";
  // wait4 reports the peak resident size of this shell and of the processes it waited for.
  const char* argv[] = {"/bin/sh", "-c", line.c_str(), nullptr};
  pid_t pid = 0;
  RunResult r;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return r;
  int raw = 0;
  rusage usage{};
  while (wait4(pid, &raw, 0, &usage) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  if (WIFSIGNALED(raw)) r.signal = WTERMSIG(raw);
  r.peak_rss_kb = usage.ru_maxrss;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace

RunResult run_command(const std::string& command, const std::string& input) {
  return run_shell("(", command, ")", input);
}

RunResult run_softreg(const std::string& args, const std::string& input) {
  // exec: softreg replaces the shell, so a signal that kills it is seen as a signal.
  return run_shell("exec ", std::string("'") + SOFTREG_EXE + "' " + args, "", input);
}

}  // namespace softreg::test
