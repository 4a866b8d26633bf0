// gzip data, as every loader reads a .gz file. Property: what decompresses, compressed again by
// libdeflate, decompresses to the same bytes.
#include <libdeflate.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fuzz.hpp"
#include "softreg/data.hpp"

using namespace softreg;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> out;
  try {
    out = gunzip(std::span<const std::uint8_t>(data, size), "input");
  } catch (const InputError&) {
    return 0;
  }
  std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> c(
      libdeflate_alloc_compressor(1), &libdeflate_free_compressor);
  std::vector<std::uint8_t> packed(libdeflate_gzip_compress_bound(c.get(), out.size()));
  packed.resize(
      libdeflate_gzip_compress(c.get(), out.data(), out.size(), packed.data(), packed.size()));
  fuzz::check(!packed.empty(), "gzip: libdeflate could not compress the output");
  fuzz::check(gunzip(packed, "round trip") == out, "gzip: round trip differs");
  return 0;
}
