// What the end-to-end tests check of a run of softreg, in one place: how a rejected run looks
// (docs/cli.md: exit status 2, nothing on stdout, one line on stderr naming the problem).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "run.hpp"

namespace softreg::test {

/// A path quoted for the shell.
std::string quoted(const std::filesystem::path& p);

/// The lines of `text`, without their line ends.
std::vector<std::string> lines_of(const std::string& text);

/// A run's status, stdout and stderr, for failure messages.
std::string describe(const RunResult& r);

/// The whole content of a file ("" when it cannot be read).
std::string slurp(const std::filesystem::path& file);

/// Checks a run that met bad input: status 2, nothing on stdout, one line on stderr starting
/// "softreg: " that holds every one of `parts`.
void expect_rejected(const RunResult& r, const std::vector<std::string>& parts);

}  // namespace softreg::test
