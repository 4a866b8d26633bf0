// softreg: softmax regression from the command line. Exit status: 0 success, 1 failure at run
// time, 2 bad input or usage.
//
// Started by mpirun with more than one process, every process runs the same command on its part
// of the data (docs/cli.md, "Across processes"). Process 0 alone prints: the others' standard
// output goes to /dev/null. An error that every process agreed on (AgreedError: a bad part of a
// file) is reported by process 0, and every process ends normally. Any other InputError comes
// from the options or the whole data, the same in every process: process 0 reports it. Any other
// error may be one process's own: that process reports it, naming itself. Except after an
// agreed error, a process exits at once without waiting for the others (one may wait in a
// collective that will never complete): mpirun then ends them.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <new>

#include "checks.hpp"
#include "commands.hpp"
#include "softreg/error.hpp"
#include "softreg/train.hpp"
#include "softreg/version.hpp"

int run_command(int argc, char** argv);

namespace {

const softreg::Comm* g_processes = nullptr;

// Who reports an error across processes, and whether every process ends normally.
enum class Kind { agreed, same_everywhere, own };

// The exit status `status` after an error `message` (empty: none to print).
int fail(int status, const std::string& message, Kind kind = Kind::same_everywhere) {
  const softreg::Comm* p = g_processes;
  const std::string text = softreg::cli::cli_text(message);  // the library's names as flags
  if (p == nullptr) {
    if (!text.empty()) std::cerr << "softreg: " << text << '\n';
    return status;
  }
  if (!text.empty() && (p->rank() == 0 || kind == Kind::own))
    std::cerr << "softreg: "
              << (kind == Kind::own ? "process " + std::to_string(p->rank()) + ": " : "") << text
              << '\n';
  std::cerr.flush();
  std::fflush(stdout);
  if (kind == Kind::agreed) {
    softreg::mpi_finalize();
    return status;
  }
  std::_Exit(status);
}

}  // namespace

namespace softreg::cli {
std::string version_text() {
  const BuildInfo b = build_info();
  return "softreg " + b.version + "\ncommit: " + b.commit + "\nbuild: " + b.build_type +
         "\nkernels: " + simd_name(b.kernel_lanes) + " (" + std::to_string(b.kernel_lanes) +
         " floats a vector)\nMPI: " + (b.mpi ? "yes" : "no") +
         "\nLibTorch backend: " + (torch_built() ? "yes" : "no");
}

const Comm* processes() {
  return g_processes;
}
void set_processes(const Comm* comm) {
  g_processes = comm;
}
}  // namespace softreg::cli

int main(int argc, char** argv) {
  const softreg::Comm* world = softreg::mpi_world(&argc, &argv);
  if (world != nullptr && world->size() > 1) {
    softreg::cli::set_processes(world);
    if (world->rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) return 1;
  }
  const int status = run_command(argc, argv);
  if (status == 0) softreg::mpi_finalize();
  return status;
}

int run_command(int argc, char** argv) {
  CLI::App app{"softreg: softmax (multinomial logistic) regression, from scratch and fast"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", softreg::cli::version_text, "What this build is, and exit");
  app.add_subcommand("version",
                     "What this build is: version, commit, build type, SIMD, MPI, "
                     "LibTorch")
      ->callback([] { std::cout << softreg::cli::version_text() << '\n'; });
  softreg::cli::add_train(app);
  softreg::cli::add_eval(app);
  softreg::cli::add_predict(app);
  softreg::cli::add_entropy(app);
  softreg::cli::add_game(app);
  softreg::cli::add_show(app);
  softreg::cli::refuse_empty_text(app);
  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty())  // (0 or 1 of them, so that --version needs none)
      return fail(2, "A subcommand is required (see softreg --help)");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(2, std::string(e.what()) + " (see softreg --help)");
  } catch (const softreg::Interrupted& e) {
    return fail(128 + softreg::cli::interrupting_signal(),
                e.what());  // every process stops at once
  } catch (const softreg::AgreedError& e) {
    return fail(2, e.what(), Kind::agreed);
  } catch (const softreg::InputError& e) {
    return fail(2, e.what());
  } catch (const std::bad_alloc&) {
    return fail(1,
                "out of memory (for data larger than memory, see --stream in softreg train "
                "--help)",
                Kind::own);
  } catch (const std::exception& e) {
    return fail(1, e.what(), Kind::own);
  }
  return 0;
}
