// The subcommands of the softreg CLI. Each adds itself to the application with its options and a
// callback that parses nothing more, calls the library and prints. Failures are thrown:
// softreg::InputError (exit 2), softreg::Error (exit 1); main() maps them.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "softreg/comm.hpp"

namespace softreg::cli {

/// The processes of this run when mpirun started more than one (docs/cli.md, "Across
/// processes"), else null: main() sets it before the subcommands run.
const Comm* processes();
void set_processes(const Comm* comm);

void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_predict(CLI::App& app);
void add_entropy(CLI::App& app);
void add_game(CLI::App& app);
void add_show(CLI::App& app);
/// Whether this softreg has the LibTorch backend built in (train.cpp: the plugin it loads).
bool torch_built();
/// softreg --version and softreg version: what this build is.
std::string version_text();

/// The signal (SIGINT or SIGTERM) that interrupted training, or 0: softreg then exits with
/// 128 + that signal, as a shell reports a process the signal ended.
int interrupting_signal();

}  // namespace softreg::cli
