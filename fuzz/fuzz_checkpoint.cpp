// Checkpoints (--resume), as softreg train reads them. The checksum would stop almost every
// mutated input at the door, so an input whose first byte is odd gets its checksum recomputed
// first: the fuzzer then reaches every check behind it.
// Property: a checkpoint that parses is written again by checkpoint_bytes, and those bytes parse
// and write the same bytes.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fuzz.hpp"
#include "softreg/io.hpp"
#include "softreg/safetensors.hpp"

using namespace softreg;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::vector<std::uint8_t> bytes(data + 1, data + size);
  try {
    if (data[0] & 1) {
      const SafetensorsFile st = parse_safetensors(bytes, "input");
      std::vector<std::pair<std::string, std::string>> meta;
      for (const auto& [key, value] : st.metadata)
        if (key != "checksum") meta.emplace_back(key, value);
      meta.emplace_back("checksum", checkpoint_checksum(st));
      std::vector<TensorBytes> tensors;
      for (const SafetensorsTensor& t : st.tensors)
        tensors.push_back({t.name, t.dtype, t.shape, t.data});
      bytes = safetensors_bytes(meta, tensors);
    }
  } catch (const InputError&) {
    return 0;
  }
  Checkpoint c;
  try {
    c = parse_checkpoint(bytes, "input");
  } catch (const InputError&) {
    return 0;
  }
  const std::vector<std::uint8_t> once = checkpoint_bytes(c.state, c.notes);
  const Checkpoint again = parse_checkpoint(once, "round trip");
  fuzz::check(checkpoint_bytes(again.state, again.notes) == once,
              "checkpoint: second write differs");
  return 0;
}
