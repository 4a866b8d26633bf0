// Library messages name parameters by the options model's names, `name`, and each front end
// writes its own (error.hpp: param, with_names).
#include "softreg/error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace softreg {
namespace {

std::string as_flags(std::string_view m) {
  return with_names(m, [](std::string_view n) { return "--" + std::string(n) + "!"; });
}

TEST(ErrorNames, EveryParameterIsWrittenAsTheFrontEndNamesItAndNothingElseChanges) {
  EXPECT_EQ(param("max_iter"), "`max_iter`");
  EXPECT_EQ(as_flags("it reached " + param("max_iter") + " after 3, see " + param("C")),
            "it reached --max_iter! after 3, see --C!");
  EXPECT_EQ(as_flags(""), "");
  EXPECT_EQ(as_flags("no names at all"), "no names at all");
  // Backquotes around what is not a parameter's name (file text quoted in a message) stay.
  EXPECT_EQ(as_flags("label '`x y`' and `Upper` and `` and `a"),
            "label '`x y`' and `Upper` and `` and `a");
  EXPECT_EQ(as_flags("`a``b`"), "--a!--b!");
}

}  // namespace
}  // namespace softreg
