// Sharding (data.hpp): the parts of a data-parallel run read every example exactly once, in
// order: rows of fixed-size records, and whole lines of text files cut at line boundaries.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {
namespace {

TEST(ShardRows, PartsTileTheRowsInOrderEachWithinOneRowOfAnEqualShare) {
  for (const std::uint64_t rows : {0ull, 1ull, 2ull, 4ull, 6ull, 60000ull, ~0ull})
    for (std::uint32_t parts = 1; parts <= 5; ++parts) {
      std::uint64_t next = 0;
      for (std::uint32_t p = 0; p < parts; ++p) {
        const RowRange r = shard_rows(rows, parts, p);
        EXPECT_EQ(r.begin, next) << rows << " rows, part " << p << " of " << parts;
        EXPECT_LE(r.size() - rows / parts, 1u);  // r.size() is rows / parts or one more
        EXPECT_GE(r.size(), rows / parts);
        next = r.end;
      }
      EXPECT_EQ(next, rows);
    }
  EXPECT_THROW(shard_rows(10, 2, 2), std::invalid_argument);
  EXPECT_THROW(shard_rows(10, 0, 0), std::invalid_argument);
}

std::vector<std::string> lines_of(const std::string& bytes) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < bytes.size()) {
    const std::size_t nl = bytes.find('\n', start);
    const std::size_t end = nl == std::string::npos ? bytes.size() : nl + 1;
    lines.push_back(bytes.substr(start, end - start));
    start = end;
  }
  return lines;
}

// The lines part p of P reads: the bytes of its range, which must start at a line start.
std::vector<std::string> read_part(const std::filesystem::path& file, const std::string& bytes,
                                   std::uint64_t body, std::uint32_t parts, std::uint32_t p) {
  const ByteRange r = shard_lines(file, body, parts, p);
  EXPECT_LE(r.begin, r.end);
  // At a line start: the body's, one after a \n, or the end (a part with no line).
  EXPECT_TRUE(r.begin == body || r.begin == bytes.size() || bytes[r.begin - 1] == '\n')
      << "part " << p << " of " << parts;
  return lines_of(bytes.substr(r.begin, r.size()));
}

TEST(ShardLines, EveryLineIsReadByExactlyOnePartInOrder) {
  test::TempDir dir;
  const std::string header = "a,b,label\n";
  const std::string long_line = std::string(300000, 'x') + "\n";  // longer than a read
  for (std::uint32_t parts = 1; parts <= 5; ++parts)
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{parts - 1},
                                std::size_t{parts + 1}, std::size_t{37}})
      for (const int style : {0, 1, 2, 3}) {
        // 0: \n; 1: \r\n; 2: the last line without an end; 3: one very long line in the middle.
        std::string body;
        for (std::size_t i = 0; i < n; ++i) {
          std::string line = std::to_string(i) + "," + std::string(i % 7, 'v') + ",c";
          if (style == 3 && i == n / 2) {
            body += long_line;
            continue;
          }
          body += line + (style == 1 ? "\r\n" : (style == 2 && i + 1 == n ? "" : "\n"));
        }
        for (const bool with_header : {false, true}) {
          const std::string bytes = (with_header ? header : "") + body;
          const auto file = dir.path() / "t.csv";
          std::ofstream(file, std::ios::binary) << bytes;
          const std::uint64_t start = with_header ? header.size() : 0;
          std::vector<std::string> all;
          for (std::uint32_t p = 0; p < parts; ++p)
            for (auto& line : read_part(file, bytes, start, parts, p)) all.push_back(line);
          EXPECT_EQ(all, lines_of(body)) << parts << " parts, " << n << " lines, style " << style
                                         << ", header " << with_header;
        }
      }
}

TEST(ShardLines, AMissingFileOrABodyPastTheEndIsAnInputErrorNamingTheFile) {
  test::TempDir dir;
  try {
    shard_lines(dir.path() / "none.txt", 0, 2, 0);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("none.txt: cannot open"), std::string::npos) << e.what();
  }
  const auto file = dir.path() / "short.txt";
  std::ofstream(file) << "x\n";
  EXPECT_THROW(shard_lines(file, 5, 2, 0), InputError);
}

}  // namespace
}  // namespace softreg
