// Sharding a data set's examples over the parts of a data-parallel run (data.hpp): row ranges of
// fixed-size records, and byte ranges of whole lines of text files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "load.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace {

// ⌊p n / P⌋ without overflow (n up to 2^64 - 1).
std::uint64_t cut(std::uint64_t n, std::uint32_t parts, std::uint32_t p) {
  return static_cast<std::uint64_t>(static_cast<unsigned __int128>(n) * p / parts);
}

void check_parts(std::uint32_t parts, std::uint32_t part) {
  if (parts == 0 || part >= parts)
    throw std::invalid_argument("shard: part " + std::to_string(part) + " of " +
                                std::to_string(parts));
}

// The first line start at or after `at` in [body_begin, size]: `at` itself when it is the body's
// start or follows a \n, else the byte after the next \n (size when there is none).
std::uint64_t line_start(const ReadOnlyFile& f, std::uint64_t body_begin, std::uint64_t size,
                         std::uint64_t at) {
  if (at <= body_begin) return body_begin;
  if (at >= size) return size;
  std::vector<char> buffer(64 * 1024);
  std::uint64_t pos = at - 1;  // the byte before `at`: a \n there makes `at` a line start
  while (pos < size) {
    const std::size_t got = f.read_at(pos, buffer);
    if (got == 0) break;
    const void* nl = std::memchr(buffer.data(), '\n', got);
    if (nl != nullptr)
      return pos + static_cast<std::uint64_t>(static_cast<const char*>(nl) - buffer.data()) + 1;
    pos += got;
  }
  return size;
}

}  // namespace

RowRange shard_rows(std::uint64_t rows, std::uint32_t parts, std::uint32_t part) {
  check_parts(parts, part);
  return {cut(rows, parts, part), cut(rows, parts, part + 1)};
}

ByteRange shard_lines(const std::filesystem::path& file, std::uint64_t body_begin,
                      std::uint32_t parts, std::uint32_t part) {
  check_parts(parts, part);
  const ReadOnlyFile f(file);
  const std::uint64_t size = f.size();
  if (body_begin > size)
    throw InputError(file.string() + ": the body would start at byte " +
                     std::to_string(body_begin) + " of a file of " + std::to_string(size));
  const std::uint64_t body = size - body_begin;
  const auto boundary = [&](std::uint32_t p) {
    return p == parts ? size : line_start(f, body_begin, size, body_begin + cut(body, parts, p));
  };
  return {boundary(part), boundary(part + 1)};
}

}  // namespace softreg
