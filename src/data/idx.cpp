// IDX files (LeCun's MNIST format), raw or gzip'd.
#include <algorithm>
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
  std::vector<std::uint8_t> bytes = read_file(file);
  // A file named .gz must be gzip data: gunzip says what it found instead.
  if (!bytes.empty() && file.extension() == ".gz" && !is_gzip(bytes)) gunzip(bytes, file.string());
  return parse_idx(std::move(bytes), file.string(), expected_dims);
}

namespace {

// Checks the first 4 bytes (the magic number: 0, 0, type 0x08, dimensions) and returns the number
// of dimensions.
std::size_t idx_dims(std::span<const std::uint8_t> bytes, const std::string& name,
                     std::size_t expected_dims) {
  if (bytes.empty()) fail(name, "empty file: expected an IDX header");
  if (bytes.size() < 4)
    fail(name, "file too short for an IDX header: expected at least 4 bytes but found " +
                   std::to_string(bytes.size()));
  const std::uint32_t magic = read_be32(bytes.data());
  const std::size_t ndims = bytes[3];
  if (bytes[0] != 0 || bytes[1] != 0 || ndims == 0 ||
      (expected_dims != 0 && ndims != expected_dims)) {
    const std::string want = expected_dims == 0
                                 ? "0x000008nn"
                                 : hex(0x0800u + static_cast<std::uint32_t>(expected_dims), 8) +
                                       " (" + std::to_string(0x0800 + expected_dims) + ")";
    fail(name, "not an IDX file of " +
                   (expected_dims ? std::to_string(expected_dims) + " dimensions"
                                  : std::string("bytes")) +
                   ": expected magic number " + want + " but found " + hex(magic, 8) + " (" +
                   std::to_string(magic) + ")");
  }
  if (bytes[2] != 0x08)
    fail(name, "expected unsigned-byte data (IDX type 0x08) but found type " + hex(bytes[2], 2));
  return ndims;
}

// The dimensions of a complete header (4 + 4 ndims bytes), and the bytes of data they claim, or
// SIZE_MAX when that count passes `most` (compared before multiplying: no overflow).
std::vector<std::size_t> idx_shape(std::span<const std::uint8_t> header, std::size_t most,
                                   std::size_t& items) {
  std::vector<std::size_t> dims;
  for (std::size_t i = 4; i < header.size(); i += 4) dims.push_back(read_be32(header.data() + i));
  items = 1;
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) {
    items = 0;
    return dims;
  }
  for (std::size_t dim : dims) {
    if (items > most / dim) {
      items = SIZE_MAX;
      break;
    }
    items *= dim;
  }
  return dims;
}

[[noreturn]] void fail_claim(const std::string& name, const std::vector<std::size_t>& dims,
                             std::size_t items, std::size_t available) {
  fail(name, "header claims " + dims_text(dims, 0) +
                 (items == SIZE_MAX ? "" : " = " + std::to_string(items)) +
                 " bytes of data but the file holds " + std::to_string(available));
}

}  // namespace

IdxArray parse_idx(std::vector<std::uint8_t> bytes, const std::string& name,
                   std::size_t expected_dims) {
  IdxArray a;
  std::size_t items = 0;
  if (is_gzip(bytes)) {
    // The header first, then exactly the data it implies: decompression stops at that size, so
    // a header followed by gigabytes of zeros costs the header's claim, not the gigabytes.
    const std::size_t ndims = idx_dims(gunzip_prefix(bytes, name, 4), name, expected_dims);
    const std::size_t header = 4 + 4 * ndims;
    const std::vector<std::uint8_t> head = gunzip_prefix(bytes, name, header);
    if (head.size() < header)
      fail(name, "truncated IDX header: expected " + std::to_string(header) + " bytes but found " +
                     std::to_string(head.size()));
    // No gzip of n bytes holds more than kMaxDeflateRatio n: a larger claim is refused before
    // anything is allocated for it.
    const std::size_t most = bytes.size() * kMaxDeflateRatio + 1024;
    a.dims = idx_shape(head, most, items);
    if (items == SIZE_MAX)
      fail(name, "header claims " + dims_text(a.dims, 0) + " bytes of data but a gzip file of " +
                     std::to_string(bytes.size()) + " bytes holds at most " + std::to_string(most));
    bytes = gunzip(bytes, name, header + items,
                   "header claims " + dims_text(a.dims, 0) + " = " + std::to_string(items) +
                       " bytes of data but the file holds more (decompression stopped there)");
    if (bytes.size() != header + items) fail_claim(name, a.dims, items, bytes.size() - header);
    a.data = std::move(bytes);
  } else {
    const std::size_t ndims = idx_dims(bytes, name, expected_dims);
    const std::size_t header = 4 + 4 * ndims;
    if (bytes.size() < header)
      fail(name, "truncated IDX header: expected " + std::to_string(header) + " bytes but found " +
                     std::to_string(bytes.size()));
    const std::size_t available = bytes.size() - header;
    a.dims = idx_shape(std::span(bytes).first(header), available, items);
    if (items != available) fail_claim(name, a.dims, items, available);
    a.data = std::move(bytes);
  }
  // Drop the header in place: no second copy of a 47 MB array.
  a.data.erase(a.data.begin(), a.data.begin() + static_cast<std::ptrdiff_t>(4 + 4 * a.dims.size()));
  return a;
}

}  // namespace softreg
