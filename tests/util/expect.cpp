#include "expect.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace softreg::test {

std::string quoted(const std::filesystem::path& p) {
  return "'" + p.string() + "'";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string describe(const RunResult& r) {
  return "status " + std::to_string(r.status) +
         (r.signal ? " (killed by signal " + std::to_string(r.signal) + ")" : "") +
         "\n--- stdout:\n" + r.out + "--- stderr:\n" + r.err;
}

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void expect_rejected(const RunResult& r, const std::vector<std::string>& parts) {
  EXPECT_EQ(r.signal, 0) << describe(r);
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_EQ(r.out, "") << describe(r);
  EXPECT_EQ(r.err.rfind("softreg: ", 0), 0u) << describe(r);
  ASSERT_FALSE(r.err.empty()) << describe(r);
  EXPECT_EQ(r.err.back(), '\n') << describe(r);
  EXPECT_EQ(lines_of(r.err).size(), 1u) << describe(r);
  for (const auto& part : parts)
    EXPECT_NE(r.err.find(part), std::string::npos) << "stderr should contain \"" << part << "\"\n"
                                                   << describe(r);
}

}  // namespace softreg::test
