// Whole files, and gzip. Decompression is bounded: a member can hold at most kMaxDeflateRatio
// times its compressed size (deflate's limit), a caller may cap the output lower, and nothing is
// allocated on the word of a header or trailer alone (docs/security.md).
//
// libdeflate decompresses a whole member at once, 2-3x faster than zlib, but cannot stop after n
// bytes; gunzip_prefix, which must (an IDX header is read before its data is allowed for), uses
// zlib's streaming inflate for those few bytes.
#include <libdeflate.h>
#include <zlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>

#include "load.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

// Sizes v to n bytes. For large buffers it first reserves the memory untouched and asks Linux for
// 2 MB pages (transparent huge pages in "madvise" mode): on the development VM a 4 KB page fault
// costs ~15 us, and the 47 MB of Fashion-MNIST's training images would spend 0.2 s faulting.
void resize_fresh(std::vector<std::uint8_t>& v, std::size_t n) {
  v = {};
  v.reserve(n);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  if (n >= 2 * kHuge) {
    const auto begin = (reinterpret_cast<std::uintptr_t>(v.data()) + kHuge - 1) & ~(kHuge - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(v.data()) + n) & ~(kHuge - 1);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
#endif
  v.resize(n);
}

// The trailer's size is a hint only: in a truncated file the "trailer" is compressed data, and a
// hostile file may put anything there. The first buffer trusts it up to this many times the
// compressed size (real files shrink 2-10 times); beyond that the buffer doubles only when the
// decoder has really run out of room, so a lying trailer costs at most twice the data the file
// really holds, never the 4 GB its last bytes may claim.
constexpr std::size_t kTrustedRatio = 16;

using Decompressor =
    std::unique_ptr<libdeflate_decompressor, decltype(&libdeflate_free_decompressor)>;

Decompressor decompressor() {
  Decompressor d(libdeflate_alloc_decompressor(), &libdeflate_free_decompressor);
  if (!d) throw Error("out of memory allocating a gzip decompressor");
  return d;
}

// Checks that a member starts at in[pos]: the magic, and room for a header and a trailer.
void check_member(std::span<const std::uint8_t> in, std::size_t pos, const std::string& name) {
  const std::size_t avail = in.size() - pos;
  if (avail == 0)
    fail(name, "not gzip data: expected the gzip magic 1f 8b but found an empty file");
  if (avail < 2 || in[pos] != 0x1f || in[pos + 1] != 0x8b) {
    char found[16];
    std::snprintf(found, sizeof found, avail < 2 ? "%02x" : "%02x %02x", in[pos],
                  avail < 2 ? 0 : in[pos + 1]);
    if (pos == 0)
      fail(name, std::string("not gzip data: expected the gzip magic 1f 8b but found ") + found);
    fail(name, "unexpected bytes after the gzip data at offset " + std::to_string(pos) +
                   ": expected another gzip member (1f 8b) but found " + found);
  }
  if (avail < 18)  // a member is at least a 10-byte header and an 8-byte trailer
    fail(name,
         "truncated gzip data: expected at least 18 bytes but found " + std::to_string(avail));
}

[[noreturn]] void fail_corrupt(std::span<const std::uint8_t> in, std::size_t pos,
                               const std::string& name) {
  fail(name, "corrupt or truncated gzip data: expected a complete deflate stream in the " +
                 std::to_string(in.size() - pos) + " bytes from offset " + std::to_string(pos));
}

// The most a member starting at in[pos] can decompress to.
std::size_t member_limit(std::span<const std::uint8_t> in, std::size_t pos) {
  const std::size_t avail = in.size() - pos;
  return avail > (std::numeric_limits<std::size_t>::max() - 1024) / kMaxDeflateRatio
             ? std::numeric_limits<std::size_t>::max()
             : avail * kMaxDeflateRatio + 1024;
}

}  // namespace

std::vector<std::uint8_t> read_file(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) fail(file, "expected a file but found a folder");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    fail(file, "cannot open file (" +
                   std::string(fs::exists(file, ec) ? "permission denied" : "no such file") + ")");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) fail(file, "cannot read file size");
  in.seekg(0);
  std::vector<std::uint8_t> bytes;
  resize_fresh(bytes, static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) fail(file, "read error");
  return bytes;
}

bool is_gzip(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> in, const std::string& name,
                                 std::size_t max_bytes, std::string_view too_much) {
  const Decompressor d = decompressor();
  std::vector<std::uint8_t> out;
  std::size_t pos = 0;
  do {
    check_member(in, pos, name);
    const std::size_t used = out.size();
    const std::size_t room = max_bytes - used;  // the caller's cap, never passed
    const std::size_t limit = std::min(member_limit(in, pos), room);
    // The last 4 bytes are the size (mod 2^32) of the last member: for the usual file of one
    // member they are the first member's, and its buffer is then exactly right. Later members
    // start small and double: a file of many tiny members must not cost a large guess each.
    std::size_t guess = 1024;
    if (pos == 0) {
      const std::size_t hint =
          std::size_t{in[in.size() - 4]} | std::size_t{in[in.size() - 3]} << 8 |
          std::size_t{in[in.size() - 2]} << 16 | std::size_t{in[in.size() - 1]} << 24;
      guess = std::min(std::max<std::size_t>(hint, 1024), in.size() * kTrustedRatio + 1024);
    }
    guess = std::min(guess, limit);
    for (;;) {
      if (used == 0)
        resize_fresh(out, guess);  // nothing to keep: the old buffer goes before the new one comes
      else
        out.resize(used + guess);
      std::size_t in_bytes = 0, out_bytes = 0;
      const auto r = libdeflate_gzip_decompress_ex(d.get(), in.data() + pos, in.size() - pos,
                                                   out.data() + used, guess, &in_bytes, &out_bytes);
      if (r == LIBDEFLATE_SUCCESS) {
        out.resize(used + out_bytes);
        pos += in_bytes;
        break;
      }
      out.resize(used);
      if (r != LIBDEFLATE_INSUFFICIENT_SPACE) fail_corrupt(in, pos, name);
      if (guess == limit) {
        if (limit == room)
          fail(name, too_much.empty() ? "gzip data decompresses to more than " +
                                            std::to_string(max_bytes) + " bytes (stopped there)"
                                      : std::string(too_much));
        fail_corrupt(in, pos, name);  // more than deflate can hold: not a deflate stream
      }
      guess = guess > limit / 2 ? limit : guess * 2;
    }
  } while (pos < in.size());
  // A trailer that claimed more than the data held leaves spare room: give it back.
  if (out.capacity() > out.size() + out.size() / 4 + 4096) out.shrink_to_fit();
  return out;
}

std::vector<std::uint8_t> gunzip_prefix(std::span<const std::uint8_t> in, const std::string& name,
                                        std::size_t n) {
  std::vector<std::uint8_t> out(n);
  z_stream z{};
  // 16 + 15: a gzip wrapper around a deflate stream with a window of up to 32 KB.
  if (inflateInit2(&z, 16 + 15) != Z_OK) throw Error("out of memory allocating a gzip decoder");
  std::size_t pos = 0, got = 0;
  while (got < n && pos < in.size()) {
    if (in.size() - pos < 2 || in[pos] != 0x1f || in[pos + 1] != 0x8b) break;
    z.next_in = const_cast<Bytef*>(in.data() + pos);
    const std::size_t avail = std::min<std::size_t>(in.size() - pos, 1u << 30);
    z.avail_in = static_cast<uInt>(avail);
    z.next_out = out.data() + got;
    z.avail_out = static_cast<uInt>(n - got);
    const int r = inflate(&z, Z_NO_FLUSH);
    pos += avail - z.avail_in;
    got = n - z.avail_out;
    if (r == Z_STREAM_END) {
      inflateReset(&z);  // the next member, if any
      continue;
    }
    if (r != Z_OK) break;  // corrupt or truncated: the whole decoder below says which
  }
  inflateEnd(&z);
  // Fewer bytes than asked for: a short file, or a broken one. The bounded whole decoder tells
  // the two apart (and names the error) at a cost of at most n bytes.
  if (got < n) return gunzip(in, name, n);
  return out;
}

std::vector<std::uint8_t> read_file_maybe_gzip(const fs::path& file) {
  std::vector<std::uint8_t> bytes = read_file(file);
  if (is_gzip(bytes) || file.extension() == ".gz") return gunzip(bytes, file.string());
  return bytes;
}

}  // namespace softreg
