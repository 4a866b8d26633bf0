// safetensors containers, as every model (and later checkpoint) is read. Property: a file that
// parses is written again by safetensors_bytes from what was parsed, and that parses to the same
// tensors (names, dtypes, shapes, bytes) and metadata.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fuzz.hpp"
#include "softreg/safetensors.hpp"

using namespace softreg;

namespace {

bool same(const SafetensorsFile& a, const SafetensorsFile& b) {
  if (a.tensors.size() != b.tensors.size() || a.metadata != b.metadata) return false;
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    const auto& x = a.tensors[i];
    const auto& y = b.tensors[i];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape ||
        !std::equal(x.data.begin(), x.data.end(), y.data.begin(), y.data.end()))
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  SafetensorsFile file;
  try {
    file = parse_safetensors(std::span<const std::uint8_t>(data, size), "input");
  } catch (const InputError&) {
    return 0;
  }
  std::size_t bytes = 0;
  for (const auto& t : file.tensors) {
    std::size_t n = safetensors_dtype_size(t.dtype);
    for (std::size_t d : t.shape) n *= d;
    fuzz::check(n == t.data.size(), "safetensors: a tensor's bytes are not its shape's");
    bytes += t.data.size();
  }
  fuzz::check(8 + bytes <= size, "safetensors: tensors hold more than the file");
  // Written back with the tensors in the order of their data, as the parsed file had them.
  std::vector<const SafetensorsTensor*> order;
  for (const auto& t : file.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const auto* a, const auto* b) { return a->data.data() < b->data.data(); });
  std::vector<TensorBytes> tensors;
  for (const auto* t : order) tensors.push_back({t->name, t->dtype, t->shape, t->data});
  const std::vector<std::pair<std::string, std::string>> metadata(file.metadata.begin(),
                                                                  file.metadata.end());
  const std::vector<std::uint8_t> again = safetensors_bytes(metadata, tensors);
  SafetensorsFile reread = parse_safetensors(again, "round trip");
  // The header's order of tensors need not survive; compare in the order of the data.
  std::sort(file.tensors.begin(), file.tensors.end(),
            [](const auto& a, const auto& b) { return a.data.data() < b.data.data(); });
  std::sort(reread.tensors.begin(), reread.tensors.end(),
            [](const auto& a, const auto& b) { return a.data.data() < b.data.data(); });
  fuzz::check(same(file, reread), "safetensors: round trip differs");
  return 0;
}
