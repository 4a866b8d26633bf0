// Model files (safetensors with softreg's metadata), as eval, predict and show read them.
// Property: a model that parses is written again by model_file_bytes, and those bytes parse to
// the same model and write the same bytes.
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz.hpp"
#include "softreg/io.hpp"

using namespace softreg;

namespace {

bool same(const SavedModel& a, const SavedModel& b) {
  const auto& x = a.model;
  const auto& y = b.model;
  return x.inputs() == y.inputs() && x.classes() == y.classes() && x.output() == y.output() &&
         std::equal(x.weight().begin(), x.weight().end(), y.weight().begin(), y.weight().end()) &&
         std::equal(x.bias().begin(), x.bias().end(), y.bias().begin(), y.bias().end()) &&
         a.info.class_names == b.info.class_names && a.info.input_shape == b.info.input_shape &&
         a.info.input_scale == b.info.input_scale && a.info.input_mean == b.info.input_mean &&
         a.info.input_std == b.info.input_std;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  SavedModel saved;
  try {
    saved = parse_model_file(std::span<const std::uint8_t>(data, size), "input");
  } catch (const InputError&) {
    return 0;
  }
  // created_by is written anew by every save: the rest of the notes must survive.
  saved.info.notes.erase("created_by");
  const std::vector<std::uint8_t> once = model_file_bytes(saved.model, saved.info);
  SavedModel again = parse_model_file(once, "round trip");
  fuzz::check(same(saved, again), "model: round trip gives another model");
  again.info.notes.erase("created_by");
  fuzz::check(again.info.notes == saved.info.notes, "model: round trip changes the notes");
  fuzz::check(model_file_bytes(again.model, again.info) == once, "model: second save differs");
  return 0;
}
