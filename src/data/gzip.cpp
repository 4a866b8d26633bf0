// Whole files, and gzip: read_file_maybe_gzip decompresses a file that starts with the gzip magic.
#include <libdeflate.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <cstdio>
#include <fstream>
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

// Deflate cannot shrink data by more than a factor of 1032, so a gzip member whose output would be
// larger is lying; this bounds what a hostile file can make us allocate.
constexpr std::size_t kMaxDeflateRatio = 1032;
// The trailer's size is a hint only: in a truncated file the "trailer" is compressed data, and a
// hostile file may put anything there. The first buffer trusts it up to this many times the
// compressed size (real IDX files shrink 2-3 times); beyond that the buffer grows only when the
// decoder has really run out of room, so a lying or truncated file costs at most about twice
// the data it actually holds, never the 4 GB its last bytes may claim.
constexpr std::size_t kTrustedRatio = 8;

bool is_gzip(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> in, const std::string& name) {
  const fs::path file(name);
  std::unique_ptr<libdeflate_decompressor, decltype(&libdeflate_free_decompressor)> d(
      libdeflate_alloc_decompressor(), &libdeflate_free_decompressor);
  if (!d) throw Error("out of memory allocating a gzip decompressor");
  std::vector<std::uint8_t> out;
  std::size_t pos = 0;
  while (pos < in.size()) {
    const std::size_t avail = in.size() - pos;
    if (avail < 2 || in[pos] != 0x1f || in[pos + 1] != 0x8b) {
      char found[16];
      std::snprintf(found, sizeof found, avail < 2 ? "%02x" : "%02x %02x", in[pos],
                    avail < 2 ? 0 : in[pos + 1]);
      if (pos == 0)
        fail(file, std::string("not gzip data: expected the gzip magic 1f 8b but found ") + found);
      fail(file, "unexpected bytes after the gzip data at offset " + std::to_string(pos) +
                     ": expected another gzip member (1f 8b) but found " + found);
    }
    if (avail < 18)  // a gzip member is at least a 10-byte header and an 8-byte trailer
      fail(file,
           "truncated gzip data: expected at least 18 bytes but found " + std::to_string(avail));
    // The member's trailer holds its size mod 2^32, but where the member ends is unknown until it
    // is decompressed; for the usual single-member file the trailer is the last 4 bytes.
    const std::size_t limit = avail * kMaxDeflateRatio + 1024;
    std::size_t guess = static_cast<std::size_t>(in[in.size() - 4]) |
                        static_cast<std::size_t>(in[in.size() - 3]) << 8 |
                        static_cast<std::size_t>(in[in.size() - 2]) << 16 |
                        static_cast<std::size_t>(in[in.size() - 1]) << 24;
    guess = std::clamp<std::size_t>(guess, 1024, std::min(limit, avail * kTrustedRatio + 1024));
    for (;;) {
      const std::size_t used = out.size();
      if (used == 0)
        resize_fresh(out, guess);
      else
        out.resize(used + guess);
      std::size_t in_bytes = 0, out_bytes = 0;
      const auto r = libdeflate_gzip_decompress_ex(d.get(), in.data() + pos, avail,
                                                   out.data() + used, guess, &in_bytes, &out_bytes);
      if (r == LIBDEFLATE_SUCCESS) {
        out.resize(used + out_bytes);
        pos += in_bytes;
        break;
      }
      out.resize(used);
      if (r == LIBDEFLATE_INSUFFICIENT_SPACE && guess < limit) {
        guess = std::min(guess * 2, limit);
        continue;
      }
      fail(file, "corrupt or truncated gzip data: expected a complete deflate stream in the " +
                     std::to_string(avail) + " bytes from offset " + std::to_string(pos));
    }
  }
  // A trailer that claimed more than the data held leaves spare room: give it back.
  if (out.capacity() > out.size() + out.size() / 4 + 4096) out.shrink_to_fit();
  return out;
}

std::vector<std::uint8_t> read_file_maybe_gzip(const fs::path& file) {
  std::vector<std::uint8_t> bytes = read_file(file);
  if (is_gzip(bytes) || file.extension() == ".gz") return gunzip(bytes, file.string());
  return bytes;
}

}  // namespace softreg
