#include "softreg/info.hpp"
