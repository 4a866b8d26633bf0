// IDX files, gzip'd or raw, as load_idx reads them (Fashion-MNIST's images and labels, and
// predict's inputs). Property: what parses writes back as raw IDX and parses to the same array.
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz.hpp"
#include "softreg/data.hpp"

using namespace softreg;

namespace {

std::vector<std::uint8_t> idx_bytes(const IdxArray& a) {
  std::vector<std::uint8_t> out = {0, 0, 0x08, static_cast<std::uint8_t>(a.dims.size())};
  for (std::size_t d : a.dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(d >> shift));
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  // The loader is asked for 3 dimensions (images), 1 (labels) or any (predict): the first byte
  // of the input, which is also part of the file, picks one.
  const std::size_t expected = size == 0 ? 0 : std::size_t{data[0] % 4 == 3 ? 3u : data[0] % 2};
  IdxArray a;
  try {
    a = parse_idx(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), "input", expected);
  } catch (const InputError&) {
    return 0;
  }
  std::size_t items = 1;
  for (std::size_t d : a.dims) items *= d;
  fuzz::check(items == a.data.size(), "IDX: the dimensions' product is not the data's size");
  fuzz::check(expected == 0 || a.dims.size() == expected, "IDX: wrong number of dimensions");
  const IdxArray b = parse_idx(idx_bytes(a), "round trip", expected);
  fuzz::check(a.dims == b.dims && a.data == b.data, "IDX: raw round trip differs");
  return 0;
}
