#include "run.hpp"

#include <spawn.h>
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
                    const std::string& input, const TempDir& dir) {
  const auto in = dir.path() / "stdin";
  const auto out = dir.path() / "stdout";
  const auto err = dir.path() / "stderr";
  std::ofstream(in, std::ios::binary) << input;
  const std::string line = open + command + close + " <'" + in.string() + "' >'" + out.string() +
                           "' 2>'" + err.string() + "'";
  const char* argv[] = {"/bin/sh", "-c", line.c_str(), nullptr};
  pid_t pid = 0;
  RunResult r;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return r;
  int raw = 0;
  while (waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  if (WIFSIGNALED(raw)) r.signal = WTERMSIG(raw);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace

RunResult run_command(const std::string& command, const std::string& input) {
  TempDir dir;
  return run_shell("(", command, ")", input, dir);
}

namespace {

// run_softreg after `setup` (shell commands ending in "; " or empty).
RunResult run_softreg_after(const std::string& setup, const std::string& args,
                            const std::string& input) {
  // exec: the shell becomes softreg_test_peak, which runs softreg as its own child and exits as
  // it did, so a signal that kills softreg is seen as one, and its peak RSS is softreg's alone.
  TempDir dir;
  const auto peak = dir.path() / "peak";
  RunResult r = run_shell(setup + "exec '" SOFTREG_PEAK_EXE "' '" + peak.string() + "' ",
                          std::string("'") + SOFTREG_EXE + "' " + args, "", input, dir);
  std::ifstream(peak) >> r.peak_rss_kb;
  return r;
}

}  // namespace

RunResult run_softreg(const std::string& args, const std::string& input) {
  return run_softreg_after("", args, input);
}

RunResult run_softreg_limited(const std::string& args, long data_kb) {
  return run_softreg_after("ulimit -d " + std::to_string(data_kb) + "; ", args, "");
}

}  // namespace softreg::test
