// IDX files (LeCun's MNIST format), raw or gzip'd.
#include <cstdio>

#include "load.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

std::string hex(std::uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*X", digits, v);
  return buf;
}

}  // namespace

std::string dims_text(const std::vector<std::size_t>& dims, std::size_t from) {
  std::string s;
  for (std::size_t i = from; i < dims.size(); ++i) {
    if (i > from) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

IdxArray load_idx(const fs::path& file, std::size_t expected_dims) {
  const std::vector<std::uint8_t> bytes = read_file(file);
  // A file named .gz must be gzip data: gunzip says what it found instead.
  if (file.extension() == ".gz" && !is_gzip(bytes)) gunzip(bytes, file.string());
  return parse_idx(bytes, file.string(), expected_dims);
}

IdxArray parse_idx(std::span<const std::uint8_t> file_bytes, const std::string& name,
                   std::size_t expected_dims) {
  const fs::path file(name);
  std::vector<std::uint8_t> bytes = is_gzip(file_bytes)
                                        ? gunzip(file_bytes, name)
                                        : std::vector<std::uint8_t>(file_bytes.begin(), file_bytes.end());
  if (bytes.empty()) fail(file, "empty file: expected an IDX header");
  if (bytes.size() < 4)
    fail(file, "file too short for an IDX header: expected at least 4 bytes but found " +
                   std::to_string(bytes.size()));
  const std::uint32_t magic = read_be32(bytes.data());
  const std::size_t ndims = bytes[3];
  if (bytes[0] != 0 || bytes[1] != 0 || ndims == 0 ||
      (expected_dims != 0 && ndims != expected_dims)) {
    const std::string want = expected_dims == 0
                                 ? "0x000008nn"
                                 : hex(0x0800u + static_cast<std::uint32_t>(expected_dims), 8) +
                                       " (" + std::to_string(0x0800 + expected_dims) + ")";
    fail(file, "not an IDX file of " +
                   (expected_dims ? std::to_string(expected_dims) + " dimensions"
                                  : std::string("bytes")) +
                   ": expected magic number " + want + " but found " + hex(magic, 8) + " (" +
                   std::to_string(magic) + ")");
  }
  if (bytes[2] != 0x08)
    fail(file, "expected unsigned-byte data (IDX type 0x08) but found type " + hex(bytes[2], 2));
  const std::size_t header = 4 + 4 * ndims;
  if (bytes.size() < header)
    fail(file, "truncated IDX header: expected " + std::to_string(header) + " bytes but found " +
                   std::to_string(bytes.size()));
  IdxArray a;
  std::size_t items = 1;
  const std::size_t available = bytes.size() - header;
  for (std::size_t i = 0; i < ndims; ++i) {
    const std::size_t dim = read_be32(bytes.data() + 4 + 4 * i);
    a.dims.push_back(dim);
    // Compare before multiplying, so a hostile header cannot overflow the count.
    if (dim != 0 && items > available / dim)
      items = available + 1;
    else
      items *= dim;
  }
  if (items != available) {
    std::string claim = dims_text(a.dims, 0);
    fail(file, "header claims " + claim + (items > available ? "" : " = " + std::to_string(items)) +
                   " bytes of data but the file holds " + std::to_string(available));
  }
  // Drop the header in place: no second copy of a 47 MB array.
  a.data = std::move(bytes);
  a.data.erase(a.data.begin(), a.data.begin() + static_cast<std::ptrdiff_t>(header));
  return a;
}

}  // namespace softreg
