// IDX files, gzip'd or raw, as load_idx reads them (Fashion-MNIST's images and labels, and
// predict's inputs), and as load_idx_part reads a part of them (across processes). Properties:
// what parses writes back as raw IDX and parses to the same array; the part reader accepts the
// file exactly when the whole one does, and a part is the whole's items in that range.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
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
  // The same bytes as a file, for the part reader.
  static const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("softreg-fuzz-idx-" + std::to_string(::getpid()));
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  const auto whole_part = [](const std::vector<std::size_t>& dims) { return RowRange{0, dims[0]}; };
  IdxArray a;
  try {
    a = parse_idx(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), "input", expected);
  } catch (const InputError&) {
    bool part_refused = false;
    try {
      load_idx_part(file, expected, whole_part);
    } catch (const InputError&) {
      part_refused = true;
    }
    fuzz::check(part_refused, "IDX: the part reader accepts a file the whole loader refuses");
    return 0;
  }
  IdxArray all;
  try {
    all = load_idx_part(file, expected, whole_part);
  } catch (const InputError& e) {
    fuzz::broken(std::string("IDX: the part reader refuses a file the whole loader reads: ") +
                 e.what());
  }
  fuzz::check(all.dims == a.dims && all.data == a.data,
              "IDX: the whole file read as a part differs");
  if (!a.dims.empty() && a.dims[0] > 0) {
    // Items [b, e) of the first dimension, from the input's last two bytes.
    const std::size_t n = a.dims[0];
    const std::size_t b = data[size - 1] % n, e = b + data[size - 2] % (n - b + 1);
    IdxArray part;
    try {
      part = load_idx_part(file, expected, [&](const auto&) { return RowRange{b, e}; });
    } catch (const InputError& error) {
      fuzz::broken(std::string("IDX: a part of a file the whole loader reads is refused: ") +
                   error.what());
    }
    const std::size_t item = a.data.size() / n;
    fuzz::check(part.data == std::vector<std::uint8_t>(
                                 a.data.begin() + static_cast<std::ptrdiff_t>(b * item),
                                 a.data.begin() + static_cast<std::ptrdiff_t>(e * item)),
                "IDX: a part is not the whole's items in its range");
  }
  std::size_t items = 1;
  for (std::size_t d : a.dims) items *= d;
  fuzz::check(items == a.data.size(), "IDX: the dimensions' product is not the data's size");
  fuzz::check(expected == 0 || a.dims.size() == expected, "IDX: wrong number of dimensions");
  const IdxArray b = parse_idx(idx_bytes(a), "round trip", expected);
  fuzz::check(a.dims == b.dims && a.data == b.data, "IDX: raw round trip differs");
  return 0;
}
