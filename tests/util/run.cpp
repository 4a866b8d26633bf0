#include "run.hpp"

#include <sys/wait.h>

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

}  // namespace

RunResult run_command(const std::string& command, const std::string& input) {
  TempDir dir;
  const auto in = dir.path() / "stdin";
  const auto out = dir.path() / "stdout";
  const auto err = dir.path() / "stderr";
  std::ofstream(in, std::ios::binary) << input;
  const std::string line =
      "(" + command + ") <'" + in.string() + "' >'" + out.string() + "' 2>'" + err.string() + "'";
  const int raw = std::system(line.c_str());
  RunResult r;
  r.status = (raw != -1 && WIFEXITED(raw)) ? WEXITSTATUS(raw) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

RunResult run_softreg(const std::string& args, const std::string& input) {
  return run_command(std::string("'") + SOFTREG_EXE + "' " + args, input);
}

}  // namespace softreg::test
