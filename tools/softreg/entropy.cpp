// (being written)
#include "commands.hpp"

namespace softreg::cli {
void add_entropy(CLI::App&) {}
}  // namespace softreg::cli