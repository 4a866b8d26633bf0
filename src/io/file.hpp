// What the sources of src/io/ share; not part of the public API.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace softreg {

/// The bytes of `file`, refused when it holds more than `max_bytes` (`kind` names what it should
/// be in that message, e.g. "model file").
std::vector<std::uint8_t> read_whole(const std::filesystem::path& file, std::uint64_t max_bytes,
                                     const char* kind);

}  // namespace softreg
