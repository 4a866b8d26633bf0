// safetensors files: the header read as a stream of JSON events (nlohmann's SAX interface) into
// what a file may legitimately hold, then every tensor's range checked against the data section.
#include "softreg/safetensors.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw InputError(escaped_utf8(name + ": " + what));  // quoted bytes as text
}

std::string in_quotes(const std::string& s) {
  return "\"" + s + "\"";
}

std::string list_text(const std::vector<std::uint64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// A tensor's entry as the header gives it, before it is checked.
struct Entry {
  std::string name;
  bool has_dtype = false, has_shape = false, has_offsets = false;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> offsets;
};

// The header's JSON events, kept as far as the format goes and refused beyond it: the root is
// an object of tensor entries and __metadata__; an entry is an object of dtype (text), shape and
// data_offsets (lists of whole numbers); __metadata__ an object of text. Nothing nests deeper,
// so a hostile header of any shape costs at most what the limits allow.
class HeaderReader final : public nlohmann::json_sax<json> {
 public:
  explicit HeaderReader(const std::string& file) : file_(file) {}

  std::vector<Entry> entries;
  bool has_metadata = false;
  std::map<std::string, std::string> metadata;
  std::string parse_message;  // the JSON syntax error, if any

  bool null() override { return scalar("null"); }
  bool boolean(bool) override { return scalar("true/false"); }
  bool number_integer(number_integer_t v) override {
    if (in_list()) bad_list_item(std::to_string(v));
    return scalar("a number");
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (in_list()) {
      list().push_back(v);
      if (field_ == Field::shape && list().size() > kMaxTensorRank)
        fail_entry("shape has more than " + std::to_string(kMaxTensorRank) + " dimensions");
      if (field_ == Field::offsets && list().size() > 2) bad_offsets();
      return true;
    }
    return scalar("a number");
  }
  bool number_float(number_float_t, const string_t& text) override {
    if (in_list()) bad_list_item(text);
    return scalar("a number");
  }
  bool string(string_t& s) override {
    if (depth_ == 2 && in_meta_) {
      metadata.emplace(key_, std::move(s));
      return true;
    }
    if (depth_ == 2 && field_ == Field::dtype) {
      entries.back().dtype = std::move(s);
      entries.back().has_dtype = true;
      return true;
    }
    if (in_list()) bad_list_item("text");
    return scalar("text");
  }
  bool binary(binary_t&) override { return scalar("binary data"); }

  bool start_object(std::size_t) override {
    if (depth_ == 3) bad_list_item("an object");
    if (depth_ == 0) {
      open();
      return true;
    }
    if (depth_ == 1) {
      open();
      if (key_ == "__metadata__") {
        in_meta_ = true;
        has_metadata = true;
      } else {
        if (entries.size() == kMaxTensors)
          fail(file_, "more than " + std::to_string(kMaxTensors) + " tensors in the header");
        entries.push_back({});
        entries.back().name = key_;
      }
      return true;
    }
    return nested("an object");
  }
  bool end_object() override {
    close();
    if (depth_ == 1) in_meta_ = false;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 2 && !in_meta_ && (field_ == Field::shape || field_ == Field::offsets)) {
      open();
      return true;
    }
    if (depth_ == 3) bad_list_item("a list");
    return nested("a list");
  }
  bool end_array() override {
    close();
    if (field_ == Field::offsets && entries.back().offsets.size() != 2) bad_offsets();
    return true;
  }
  bool key(string_t& k) override {
    if (!keys_.back().insert(k).second)
      fail(file_, "invalid header: the key '" + k + "' appears twice in one JSON object");
    if (depth_ == 2 && in_meta_ && keys_.back().size() > kMaxMetadataKeys)
      fail(file_, "__metadata__ holds more than " + std::to_string(kMaxMetadataKeys) + " keys");
    if (depth_ == 2 && !in_meta_) {
      Entry& e = entries.back();
      if (k == "dtype")
        field_ = Field::dtype;
      else if (k == "shape")
        field_ = Field::shape, e.has_shape = true;
      else if (k == "data_offsets")
        field_ = Field::offsets, e.has_offsets = true;
      else
        fail_entry("unexpected field \"" + k + "\" (expected only dtype, shape, data_offsets)");
    }
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    parse_message = e.what();
    return false;
  }

 private:
  enum class Field { none, dtype, shape, offsets };

  void open() {
    ++depth_;
    keys_.emplace_back();
  }
  void close() {
    --depth_;
    keys_.pop_back();
    if (depth_ <= 1) field_ = Field::none;
  }
  bool in_list() const { return depth_ == 3; }
  std::vector<std::uint64_t>& list() {
    return field_ == Field::shape ? entries.back().shape : entries.back().offsets;
  }

  [[noreturn]] void fail_entry(const std::string& what) {
    fail(file_, "tensor " + in_quotes(entries.back().name) + ": " + what);
  }
  [[noreturn]] void bad_offsets() {
    fail_entry("data_offsets: expected [begin, end], two non-negative whole numbers");
  }
  [[noreturn]] void bad_list_item(const std::string& found) {
    if (field_ == Field::offsets) bad_offsets();
    fail_entry("shape: expected a list of non-negative whole numbers but found " + found);
  }
  // A value where an object or list was expected, or of the wrong kind: the error says which.
  bool scalar(const std::string& found) { return nested(found); }
  bool nested(const std::string& found) {
    if (depth_ == 0) fail(file_, "expected the header to be a JSON object but found " + found);
    if (depth_ == 1 && key_ == "__metadata__")
      fail(file_, "__metadata__: expected an object but found " + found);
    if (depth_ == 1)
      fail(file_, "tensor " + in_quotes(key_) + ": expected an object but found " + found);
    if (in_meta_)
      fail(file_, "__metadata__ " + in_quotes(key_) +
                      ": expected text (safetensors metadata values are strings) but found " +
                      found);
    if (field_ == Field::dtype) fail_entry("dtype: expected text but found " + found);
    if (field_ == Field::shape) fail_entry("shape: expected a list of sizes but found " + found);
    bad_offsets();
  }

  const std::string& file_;
  int depth_ = 0;
  bool in_meta_ = false;
  Field field_ = Field::none;
  std::string key_;                          // the last key read
  std::vector<std::set<std::string>> keys_;  // the keys of each open object
};

}  // namespace

std::size_t safetensors_dtype_size(std::string_view dtype) {
  static const std::pair<const char*, std::size_t> sizes[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
  for (const auto& [name, size] : sizes)
    if (dtype == name) return size;
  return 0;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

SafetensorsFile parse_safetensors(std::span<const std::uint8_t> bytes, const std::string& file) {
  // 1. The header length, then the header, both inside the file.
  if (bytes.empty()) fail(file, "empty file: expected a safetensors file");
  if (bytes.size() < 8)
    fail(file,
         "file too short: expected at least 8 bytes (the safetensors header length) but found " +
             std::to_string(bytes.size()));
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | bytes[static_cast<std::size_t>(i)];
  if (n > bytes.size() - 8)
    fail(file, "header length " + std::to_string(n) +
                   " (the first 8 bytes) runs past the end of the file, which holds " +
                   std::to_string(bytes.size() - 8) +
                   " bytes after them: truncated, or not a safetensors file");
  if (n > kMaxSafetensorsHeader)
    fail(file, "header length " + std::to_string(n) + " is more than the " +
                   std::to_string(kMaxSafetensorsHeader) + " bytes safetensors allows");
  const auto header = bytes.subspan(8, static_cast<std::size_t>(n));
  if (header.empty() || header[0] != '{')
    fail(file, "expected the header to be a JSON object starting with '{'");
  // nlohmann's lexer takes a NUL byte for the end of its input, so "{}\0anything" would parse as
  // "{}" here and be refused by every other reader; JSON text never holds a raw NUL.
  if (const auto nul = std::find(header.begin(), header.end(), std::uint8_t{0});
      nul != header.end())
    fail(file, "the header holds a NUL byte at offset " +
                   std::to_string(8 + (nul - header.begin())) + ": expected JSON text");
  const auto data = bytes.subspan(8 + static_cast<std::size_t>(n));

  // 2. The JSON, as events. A key given twice in one object is refused: readers disagree on
  // which of the two counts, so such a file could mean one model here and another elsewhere.
  HeaderReader reader(file);
  if (!json::sax_parse(header.begin(), header.end(), &reader)) {
    std::string m = reader.parse_message;
    if (m.rfind("[json.exception.", 0) == 0 && m.find("] ") != std::string::npos)
      m.erase(0, m.find("] ") + 2);
    std::replace(m.begin(), m.end(), '\n', ' ');
    fail(file, "invalid JSON in the header: " + m);
  }

  // 3. Every tensor: a known dtype, a shape, and a byte range inside the data section that holds
  // exactly the shape's elements.
  SafetensorsFile out;
  out.has_metadata = reader.has_metadata;
  out.metadata = std::move(reader.metadata);
  struct Range {
    std::uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  for (Entry& e : reader.entries) {
    const std::string where = "tensor " + in_quotes(e.name) + ": ";
    if (!e.has_dtype) fail(file, where + "no dtype (expected text)");
    const std::size_t elem = safetensors_dtype_size(e.dtype);
    if (elem == 0) fail(file, where + "unknown dtype " + in_quotes(e.dtype));
    if (!e.has_shape) fail(file, where + "no shape (expected a list of sizes)");
    if (!e.has_offsets)
      fail(file,
           where + "data_offsets missing: expected [begin, end], two non-negative whole numbers");
    const std::uint64_t begin = e.offsets[0], end = e.offsets[1];
    const std::string range =
        "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (begin > end) fail(file, where + range + ": begin is past end");
    if (end > data.size())
      fail(file, where + range + " run past the end of the data section (" +
                     std::to_string(data.size()) + " bytes): truncated file or bad offsets");
    // Compare before multiplying so that a hostile shape cannot overflow the count.
    std::uint64_t elements = 1;
    bool too_big = false;
    for (std::uint64_t d : e.shape) {
      if (d != 0 && elements > data.size() / d)
        too_big = true;
      else
        elements *= d;
    }
    if (std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end())
      too_big = false, elements = 0;
    const std::uint64_t held = end - begin;
    if (too_big || held / elem < elements || held != elements * elem)
      fail(file, where + range + " hold " + std::to_string(held) + " bytes but shape " +
                     list_text(e.shape) + " of " + e.dtype + " needs " +
                     (too_big ? "more than the file holds" : std::to_string(elements * elem)));
    SafetensorsTensor t;
    t.name = std::move(e.name);
    t.dtype = std::move(e.dtype);
    t.shape.assign(e.shape.begin(), e.shape.end());
    t.data = data.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(held));
    out.tensors.push_back(std::move(t));
  }

  // 4. The ranges neither overlap nor leave holes, and cover the data section (the format's rule).
  for (const auto& t : out.tensors)
    ranges.push_back({static_cast<std::uint64_t>(t.data.data() - data.data()),
                      static_cast<std::uint64_t>(t.data.data() - data.data()) + t.data.size(),
                      &t.name});
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const Range& r = ranges[i];
    if (r.begin < covered)
      fail(file, "tensors " + in_quotes(*ranges[i - 1].name) + " and " + in_quotes(*r.name) +
                     " overlap: bytes " + std::to_string(r.begin) + " to " +
                     std::to_string(std::min(covered, r.end)) +
                     " of the data section belong to both");
    if (r.begin > covered)
      fail(file, "bytes " + std::to_string(covered) + " to " + std::to_string(r.begin) +
                     " of the data section belong to no tensor");
    covered = r.end;
  }
  if (covered != data.size())
    fail(file, "the data section holds " + std::to_string(data.size()) +
                   " bytes but the tensors use " + std::to_string(covered));
  return out;
}

std::vector<std::uint8_t> safetensors_bytes(
    const std::vector<std::pair<std::string, std::string>>& metadata,
    const std::vector<TensorBytes>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();  // "{}" when empty
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) {
      if (!valid_utf8(key) || !valid_utf8(value))
        throw std::invalid_argument("safetensors_bytes: __metadata__ \"" + escaped_utf8(key) +
                                    "\" is not UTF-8 text (JSON cannot hold it)");
      meta[key] = value;
    }
    header["__metadata__"] = meta;
  }
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text = header.dump();
  // Spaces up to a multiple of 8 bytes, so the data section starts 8-byte aligned (as the
  // safetensors reference writes it).
  text.resize((text.size() + 7) / 8 * 8, ' ');
  std::vector<std::uint8_t> out;
  out.reserve(8 + text.size() + offset);
  for (int shift = 0; shift < 64; shift += 8)
    out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> shift));
  out.insert(out.end(), text.begin(), text.end());
  for (const auto& t : tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

}  // namespace softreg
