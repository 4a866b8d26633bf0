// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON naming each tensor's dtype, shape and byte range, then the data.
// softreg's models are safetensors files (io.hpp reads their metadata); this is the container.
//
// The header is untrusted: it is read as a stream of JSON events, never built into a tree, so
// its nesting, its size and the number of its entries cost nothing beyond the limits below
// (docs/security.md), and every range is checked against the file before any data is touched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace softreg {

/// The safetensors reference's limit on the header's length.
inline constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;
/// softreg's limits on what one header may hold (a model has 2 tensors and ~20 metadata keys).
inline constexpr std::size_t kMaxTensors = 1024;
inline constexpr std::size_t kMaxMetadataKeys = 4096;
inline constexpr std::size_t kMaxTensorRank = 32;

/// One tensor of a parsed file.
struct SafetensorsTensor {
  std::string name;
  std::string dtype;  // one of the format's dtypes: "F32", "U8", ...
  std::vector<std::size_t> shape;
  std::span<const std::uint8_t> data;  // its bytes, inside the parsed buffer
};

struct SafetensorsFile {
  std::vector<SafetensorsTensor> tensors;  // in the header's order
  bool has_metadata = false;
  std::map<std::string, std::string> metadata;  // __metadata__: text values only

  /// The tensor called `name`, or null.
  const SafetensorsTensor* find(std::string_view name) const;
};

/// Parses and checks a safetensors file; `name` names it in errors (InputError). Checks: the
/// header length fits the file and the limit, the header is one JSON object with no key given
/// twice in any object, every tensor entry is an object of exactly dtype (a known dtype), shape
/// (non-negative whole numbers) and data_offsets ([begin, end] inside the data section, holding
/// the dtype's size x the shape's product, computed without overflow), the tensors neither
/// overlap nor leave holes or trailing bytes, and __metadata__ maps keys to text. The tensors'
/// data point into `bytes`, which must outlive the result.
SafetensorsFile parse_safetensors(std::span<const std::uint8_t> bytes, const std::string& name);

/// Bytes per element of a safetensors dtype; 0 for a name the format does not define.
std::size_t safetensors_dtype_size(std::string_view dtype);

/// A tensor to write: its bytes are copied as given (little-endian, as the format stores them).
struct TensorBytes {
  std::string name;
  std::string dtype;
  std::vector<std::size_t> shape;
  std::span<const std::uint8_t> data;
};

/// A safetensors file of `tensors` in this order (their data back to back) and `metadata` in
/// this order; the header is padded with spaces so that the data starts 8-byte aligned.
std::vector<std::uint8_t> safetensors_bytes(
    const std::vector<std::pair<std::string, std::string>>& metadata,
    const std::vector<TensorBytes>& tensors);

}  // namespace softreg
