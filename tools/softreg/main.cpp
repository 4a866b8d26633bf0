// softreg: softmax regression from the command line. Exit status: 0 success, 1 failure at run
// time, 2 bad input or usage.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <new>

#include "commands.hpp"
#include "softreg/error.hpp"
#include "softreg/train.hpp"

int main(int argc, char** argv) {
  CLI::App app{"softreg: softmax (multinomial logistic) regression, from scratch and fast"};
  app.require_subcommand(1);
  softreg::cli::add_train(app);
  softreg::cli::add_eval(app);
  softreg::cli::add_predict(app);
  softreg::cli::add_entropy(app);
  softreg::cli::add_game(app);
  softreg::cli::add_show(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "softreg: " << e.what() << " (see softreg --help)\n";
    return 2;
  } catch (const softreg::Interrupted& e) {
    std::cerr << "softreg: " << e.what() << '\n';
    return 128 + softreg::cli::interrupting_signal();
  } catch (const softreg::InputError& e) {
    std::cerr << "softreg: " << e.what() << '\n';
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "softreg: out of memory (for data larger than memory, see --stream in "
                 "softreg train --help)\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "softreg: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
