// (being written)
#include "commands.hpp"

namespace softreg::cli {
void add_game(CLI::App&) {}
}  // namespace softreg::cli