#include "softreg/data.hpp"

#include <libdeflate.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>

#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& file, const std::string& what) {
  throw InputError(file.string() + ": " + what);
}

std::string hex(std::uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*X", digits, v);
  return buf;
}

// Sizes v to n bytes. For large buffers it first reserves the memory untouched and asks Linux for
// 2 MB pages (transparent huge pages in "madvise" mode): on the development VM a 4 KB page fault
// costs ~15 us, and the 47 MB of Fashion-MNIST's training images would spend 0.2 s faulting.
void resize_fresh(std::vector<std::uint8_t>& v, std::size_t n) {
  v = {};
  v.reserve(n);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  if (n >= 2 * kHuge) {
    const auto begin = (reinterpret_cast<std::uintptr_t>(v.data()) + kHuge - 1) & ~(kHuge - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(v.data()) + n) & ~(kHuge - 1);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
#endif
  v.resize(n);
}

std::vector<std::uint8_t> read_raw(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) fail(file, "expected a file but found a folder");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    fail(file, "cannot open file (" +
                   std::string(fs::exists(file, ec) ? "permission denied" : "no such file") + ")");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) fail(file, "cannot read file size");
  in.seekg(0);
  std::vector<std::uint8_t> bytes;
  resize_fresh(bytes, static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) fail(file, "read error");
  return bytes;
}

// Deflate cannot shrink data by more than a factor of 1032, so a gzip member whose output would be
// larger is lying; this bounds what a hostile file can make us allocate.
constexpr std::size_t kMaxDeflateRatio = 1032;
// The trailer's size is a hint only: in a truncated file the "trailer" is compressed data, and a
// hostile file may put anything there. The first buffer trusts it up to this many times the
// compressed size (real IDX files shrink 2-3 times); beyond that the buffer grows only when the
// decoder has really run out of room, so a lying or truncated file costs at most about twice
// the data it actually holds, never the 4 GB its last bytes may claim.
constexpr std::size_t kTrustedRatio = 8;

std::vector<std::uint8_t> gunzip(const fs::path& file, const std::vector<std::uint8_t>& in) {
  std::unique_ptr<libdeflate_decompressor, decltype(&libdeflate_free_decompressor)> d(
      libdeflate_alloc_decompressor(), &libdeflate_free_decompressor);
  if (!d) throw Error("out of memory allocating a gzip decompressor");
  std::vector<std::uint8_t> out;
  std::size_t pos = 0;
  while (pos < in.size()) {
    const std::size_t avail = in.size() - pos;
    if (avail < 2 || in[pos] != 0x1f || in[pos + 1] != 0x8b) {
      char found[16];
      std::snprintf(found, sizeof found, avail < 2 ? "%02x" : "%02x %02x", in[pos],
                    avail < 2 ? 0 : in[pos + 1]);
      if (pos == 0)
        fail(file, std::string("not gzip data: expected the gzip magic 1f 8b but found ") + found);
      fail(file, "unexpected bytes after the gzip data at offset " + std::to_string(pos) +
                     ": expected another gzip member (1f 8b) but found " + found);
    }
    if (avail < 18)  // a gzip member is at least a 10-byte header and an 8-byte trailer
      fail(file,
           "truncated gzip data: expected at least 18 bytes but found " + std::to_string(avail));
    // The member's trailer holds its size mod 2^32, but where the member ends is unknown until it
    // is decompressed; for the usual single-member file the trailer is the last 4 bytes.
    const std::size_t limit = avail * kMaxDeflateRatio + 1024;
    std::size_t guess = static_cast<std::size_t>(in[in.size() - 4]) |
                        static_cast<std::size_t>(in[in.size() - 3]) << 8 |
                        static_cast<std::size_t>(in[in.size() - 2]) << 16 |
                        static_cast<std::size_t>(in[in.size() - 1]) << 24;
    guess = std::clamp<std::size_t>(guess, 1024, std::min(limit, avail * kTrustedRatio + 1024));
    for (;;) {
      const std::size_t used = out.size();
      if (used == 0)
        resize_fresh(out, guess);
      else
        out.resize(used + guess);
      std::size_t in_bytes = 0, out_bytes = 0;
      const auto r = libdeflate_gzip_decompress_ex(d.get(), in.data() + pos, avail,
                                                   out.data() + used, guess, &in_bytes, &out_bytes);
      if (r == LIBDEFLATE_SUCCESS) {
        out.resize(used + out_bytes);
        pos += in_bytes;
        break;
      }
      out.resize(used);
      if (r == LIBDEFLATE_INSUFFICIENT_SPACE && guess < limit) {
        guess = std::min(guess * 2, limit);
        continue;
      }
      fail(file, "corrupt or truncated gzip data: expected a complete deflate stream in the " +
                     std::to_string(avail) + " bytes from offset " + std::to_string(pos));
    }
  }
  // A trailer that claimed more than the data held leaves spare room: give it back.
  if (out.capacity() > out.size() + out.size() / 4 + 4096) out.shrink_to_fit();
  return out;
}

std::uint32_t read_be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

std::string dims_text(const std::vector<std::size_t>& dims, std::size_t from) {
  std::string s;
  for (std::size_t i = from; i < dims.size(); ++i) {
    if (i > from) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

// The names a Fashion-MNIST file may have: Debian's/Zalando's "train-images-idx3-ubyte" and the
// "train-images.idx3-ubyte" style of other mirrors, each raw or gzip'd.
fs::path find_file(const fs::path& dir, const std::string& stem, const std::string& kind) {
  const std::string names[] = {stem + "-" + kind, stem + "." + kind};
  for (const auto& name : names)
    for (const char* ext : {".gz", ""}) {
      std::error_code ec;
      const fs::path p = dir / (name + ext);
      if (fs::exists(p, ec)) return p;
    }
  fail(dir, "no file " + names[0] + "[.gz] or " + names[1] + "[.gz] in this folder");
}

Dataset images_and_labels(const fs::path& images_file, const fs::path& labels_file) {
  IdxArray images = load_idx(images_file, 3);
  IdxArray labels = load_idx(labels_file, 1);
  if (images.dims[0] == 0)
    fail(images_file, "no images: expected at least 1 but the header says 0");
  if (images.dims[0] != labels.dims[0])
    fail(images_file, "image count " + std::to_string(images.dims[0]) + " but labels file " +
                          labels_file.filename().string() + " has " +
                          std::to_string(labels.dims[0]));
  const auto& names = fashion_mnist_classes();
  Dataset d;
  d.rows = images.dims[0];
  d.shape = {images.dims[1], images.dims[2]};
  d.inputs = images.dims[1] * images.dims[2];
  d.pixels = std::move(images.data);
  d.scale = 1.0f / 255.0f;
  d.labels.resize(d.rows);
  for (std::size_t i = 0; i < d.rows; ++i) {
    if (labels.data[i] >= names.size())
      fail(labels_file, "label " + std::to_string(labels.data[i]) + " at index " +
                            std::to_string(i) + " but Fashion-MNIST has " +
                            std::to_string(names.size()) + " classes (0-9)");
    d.labels[i] = labels.data[i];
  }
  d.class_names.assign(names.begin(), names.end());
  d.source = images_file.string();
  return d;
}

}  // namespace

void Dataset::keep_first(std::size_t n) {
  if (n >= rows) return;
  rows = n;
  if (!pixels.empty()) pixels.resize(n * inputs);
  if (!values.empty()) values.resize(n * inputs);
  labels.resize(n);
}

std::vector<std::uint8_t> read_file_maybe_gzip(const fs::path& file) {
  std::vector<std::uint8_t> bytes = read_raw(file);
  const bool gzip = bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
  if (gzip || file.extension() == ".gz") return gunzip(file, bytes);
  return bytes;
}

IdxArray load_idx(const fs::path& file, std::size_t expected_dims) {
  std::vector<std::uint8_t> bytes = read_file_maybe_gzip(file);
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

const std::array<std::string_view, 10>& fashion_mnist_classes() {
  static const std::array<std::string_view, 10> names = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

fs::path default_fashion_mnist_dir() {
  if (const char* env = std::getenv("SOFTREG_DATA"); env != nullptr && *env != '\0') return env;
  return "/usr/share/datasets/fashion-mnist";
}

namespace {

void check_fashion_mnist_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    fail(dir,
         "folder not found: expected the Fashion-MNIST files here (give --data DIR, set "
         "SOFTREG_DATA, or install Debian's dataset-fashion-mnist)");
  if (!fs::is_directory(dir, ec))
    fail(dir, "expected a folder of Fashion-MNIST files but found a file");
}

Dataset fashion_mnist_test(const fs::path& dir) {
  return images_and_labels(find_file(dir, "t10k-images", "idx3-ubyte"),
                           find_file(dir, "t10k-labels", "idx1-ubyte"));
}

}  // namespace

Dataset load_fashion_mnist_test(const fs::path& dir) {
  check_fashion_mnist_dir(dir);
  return fashion_mnist_test(dir);
}

TrainTest load_fashion_mnist(const fs::path& dir) {
  check_fashion_mnist_dir(dir);
  TrainTest tt;
  tt.train = images_and_labels(find_file(dir, "train-images", "idx3-ubyte"),
                               find_file(dir, "train-labels", "idx1-ubyte"));
  tt.test = fashion_mnist_test(dir);
  if (tt.train.shape != tt.test.shape)
    fail(tt.test.source, "images are " + dims_text(tt.test.shape, 0) +
                             " but the training images are " + dims_text(tt.train.shape, 0));
  return tt;
}

// ------------------------------------------------------------------------------------ tables

namespace {

// One CSV record: its fields and the line it starts on.
struct Record {
  std::size_t line = 0;
  std::vector<std::string> fields;
};

// RFC 4180 records from `text`: fields separated by `sep`, records by LF or CRLF, a quoted field
// may hold separators, newlines and "" for a quote.
std::vector<Record> parse_csv(const fs::path& file, std::string_view text, char sep) {
  std::vector<Record> records;
  std::size_t i = 0, line = 1;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // a UTF-8 byte-order mark
  while (i < text.size()) {
    Record r;
    r.line = line;
    std::string field;
    bool in_record = true;
    while (in_record) {
      field.clear();
      if (i < text.size() && text[i] == '"') {
        const std::size_t opened = line;
        ++i;
        for (;;) {
          if (i >= text.size())
            fail(file, "line " + std::to_string(opened) + ": a quoted field is never closed");
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (i < text.size() && text[i] != sep && text[i] != '\n' && text[i] != '\r')
          fail(file, "line " + std::to_string(line) + ", column " +
                         std::to_string(r.fields.size() + 1) +
                         ": expected a separator after the closing quote but found '" +
                         std::string(1, text[i]) + "'");
      } else {
        while (i < text.size() && text[i] != sep && text[i] != '\n' && text[i] != '\r')
          field += text[i++];
      }
      r.fields.push_back(field);
      if (i < text.size() && text[i] == sep) {
        ++i;
        continue;
      }
      if (i < text.size() && text[i] == '\r') ++i;
      if (i < text.size() && text[i] == '\n') ++i;
      ++line;
      in_record = false;
    }
    // Blank lines carry no record.
    if (!(r.fields.size() == 1 && r.fields[0].empty())) records.push_back(std::move(r));
  }
  return records;
}

char detect_separator(std::string_view text) {
  std::size_t counts[3] = {0, 0, 0};
  const char seps[3] = {',', ';', '\t'};
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (!quoted && c == '\n') break;
    if (quoted) continue;
    for (int k = 0; k < 3; ++k) counts[k] += c == seps[k];
  }
  int best = 0;
  for (int k = 1; k < 3; ++k)
    if (counts[k] > counts[best]) best = k;
  return seps[best];
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

bool parse_number(std::string_view s, double& v) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range && end == s.data() + s.size()) {
    v = HUGE_VAL;  // a number too large for a double ("1e999"): reported as not finite
    return true;
  }
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

bool is_integer(const std::string& s, long long& v) {
  std::string_view t = s;
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return ec == std::errc() && end == t.data() + t.size() && !t.empty();
}

// Maps label texts to class indices. Without given classes, the classes are the distinct labels:
// in numeric order when all are integers ("-1" < "1" < "10"), otherwise in byte order.
std::vector<std::int32_t> map_labels(const fs::path& file, const std::vector<std::string>& labels,
                                     const std::vector<std::size_t>& lines,
                                     std::vector<std::string>& classes, const std::string& column) {
  if (classes.empty()) {
    std::vector<std::string> distinct = labels;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    bool numeric = true;
    std::vector<std::pair<long long, std::string>> keyed;
    for (const auto& d : distinct) {
      long long v = 0;
      numeric = numeric && is_integer(d, v);
      keyed.emplace_back(v, d);
    }
    if (numeric) {
      std::sort(keyed.begin(), keyed.end());
      distinct.clear();
      for (auto& [v, d] : keyed) distinct.push_back(d);
    }
    if (distinct.size() < 2)
      fail(file, "only one class" +
                     (distinct.empty() ? std::string() : " ('" + distinct[0] + "')") +
                     " in column '" + column + "': classification needs at least two");
    classes = distinct;
  }
  std::map<std::string, std::int32_t> index;
  for (std::size_t c = 0; c < classes.size(); ++c) index[classes[c]] = static_cast<std::int32_t>(c);
  std::vector<std::int32_t> y(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto it = index.find(labels[i]);
    if (it == index.end()) {
      std::string known;
      for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c;
      fail(file, "line " + std::to_string(lines[i]) + ": label '" + labels[i] +
                     "' is not one of the model's classes (" + known + ")");
    }
    y[i] = it->second;
  }
  return y;
}

std::string text_of(const fs::path& file) {
  const std::vector<std::uint8_t> bytes = read_file_maybe_gzip(file);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

Dataset load_csv(const fs::path& file, const CsvOptions& options) {
  const std::string text = text_of(file);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    fail(file, "empty file: expected a header row and rows of numbers");
  const char sep = options.separator != 0 ? options.separator : detect_separator(text);
  std::vector<Record> records = parse_csv(file, text, sep);
  const std::vector<std::string> header = records[0].fields;
  if (records.size() == 1) fail(file, "no data rows after the header");

  std::size_t label_col = header.size();  // none
  if (options.label.empty()) {
    if (options.require_label || (options.features != 0 && header.size() == options.features + 1))
      label_col = header.size() - 1;
  } else {
    for (std::size_t c = 0; c < header.size(); ++c)
      if (trim(header[c]) == options.label) label_col = c;
    if (label_col == header.size() && options.require_label) {
      std::string names;
      for (const auto& h : header) names += (names.empty() ? "" : ", ") + trim(h);
      fail(file, "no column '" + options.label + "' in the header (columns: " + names + ")");
    }
  }
  if (options.require_label && header.size() < 2)
    fail(file,
         "line 1: expected a label column and at least one feature column but the header "
         "has 1 column (separator '" +
             std::string(sep == '\t' ? "\\t" : std::string(1, sep)) + "'; --sep chooses another)");

  Dataset d;
  d.source = file.string();
  for (std::size_t c = 0; c < header.size(); ++c)
    if (c != label_col) d.feature_names.push_back(trim(header[c]));
  d.inputs = d.feature_names.size();
  d.shape = {d.inputs};
  d.rows = records.size() - 1;
  d.values.reserve(d.rows * d.inputs);
  std::vector<std::string> labels;
  std::vector<std::size_t> lines;
  for (std::size_t r = 1; r < records.size(); ++r) {
    const Record& rec = records[r];
    if (rec.fields.size() != header.size())
      fail(file, "line " + std::to_string(rec.line) + ": expected " +
                     std::to_string(header.size()) + " fields (as in the header) but found " +
                     std::to_string(rec.fields.size()));
    for (std::size_t c = 0; c < rec.fields.size(); ++c) {
      const std::string where = "line " + std::to_string(rec.line) + ", column " +
                                std::to_string(c + 1) + " (" + trim(header[c]) + ")";
      const std::string field = trim(rec.fields[c]);
      if (c == label_col) {
        if (field.empty()) fail(file, where + ": empty label");
        labels.push_back(field);
        lines.push_back(rec.line);
        continue;
      }
      if (field.empty()) fail(file, where + ": empty feature: expected a number");
      double v = 0;
      if (!parse_number(field, v))
        fail(file, where + ": expected a number but found '" + field + "'");
      if (!std::isfinite(v) || std::abs(v) > 3.0e38)
        fail(file, where + ": expected a finite number but found '" + field + "'");
      d.values.push_back(static_cast<float>(v));
    }
  }
  if (label_col != header.size()) {
    d.class_names = options.class_names;
    d.labels = map_labels(file, labels, lines, d.class_names, trim(header[label_col]));
  } else {
    d.class_names = options.class_names;
  }
  return d;
}

Dataset load_libsvm(const fs::path& file, std::size_t inputs,
                    const std::vector<std::string>& class_names, bool keep_labels) {
  const std::string text = text_of(file);
  Dataset d;
  d.source = file.string();
  struct Row {
    std::size_t line;
    std::vector<std::pair<std::size_t, float>> pairs;
  };
  std::vector<Row> rows;
  std::vector<std::string> labels;
  std::vector<std::size_t> lines;
  std::size_t max_index = 0, line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    std::vector<std::string_view> tokens;
    for (std::size_t i = 0; i < line.size();) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      const std::size_t b = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > b) tokens.push_back(line.substr(b, i - b));
    }
    if (tokens.empty()) continue;
    const std::string where = "line " + std::to_string(line_no);
    if (tokens[0].find(':') != std::string_view::npos)
      fail(file, where + ": expected a label first but found '" + std::string(tokens[0]) + "'");
    Row row{line_no, {}};
    std::size_t previous = 0;
    for (std::size_t t = 1; t < tokens.size(); ++t) {
      const std::string pair(tokens[t]);
      const std::string at = where + ", pair " + std::to_string(t);
      const auto colon = pair.find(':');
      long long index = 0;
      double value = 0;
      if (colon == std::string::npos || !is_integer(pair.substr(0, colon), index) ||
          !parse_number(std::string_view(pair).substr(colon + 1), value))
        fail(file, at + ": expected index:value but found '" + pair + "'");
      if (index < 1) fail(file, at + ": indices start at 1 but found " + std::to_string(index));
      const auto idx = static_cast<std::size_t>(index);
      if (idx == previous) fail(file, at + ": index " + std::to_string(idx) + " is repeated");
      if (idx < previous)
        fail(file, at + ": indices must increase but " + std::to_string(idx) + " follows " +
                       std::to_string(previous));
      if (!std::isfinite(value) || std::abs(value) > 3.0e38)
        fail(file, at + ": expected a finite value but found '" + pair.substr(colon + 1) + "'");
      if (inputs != 0 && idx > inputs)
        fail(file, at + ": index " + std::to_string(idx) + " but the model has " +
                       std::to_string(inputs) + " features");
      if (idx > (std::size_t{1} << 24))
        fail(file, at + ": index " + std::to_string(idx) + " is beyond 16777216 features");
      previous = idx;
      max_index = std::max(max_index, idx);
      row.pairs.emplace_back(idx - 1, static_cast<float>(value));
    }
    labels.emplace_back(tokens[0]);
    lines.push_back(line_no);
    rows.push_back(std::move(row));
  }
  if (rows.empty()) fail(file, "empty file: expected lines of 'label index:value ...'");
  d.rows = rows.size();
  d.inputs = inputs != 0 ? inputs : max_index;
  if (d.inputs == 0) fail(file, "no features: every line has only a label");
  d.shape = {d.inputs};
  d.values.assign(d.rows * d.inputs, 0.0f);
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (const auto& [j, v] : rows[r].pairs) d.values[r * d.inputs + j] = v;
  for (std::size_t j = 1; j <= d.inputs; ++j) d.feature_names.push_back(std::to_string(j));
  d.class_names = class_names;
  if (keep_labels) d.labels = map_labels(file, labels, lines, d.class_names, "label");
  return d;
}

Standardization fit_standardization(const Dataset& data) {
  if (data.is_bytes())
    throw InputError(data.source + ": --standardize applies to tables of numbers");
  Standardization s;
  s.mean.assign(data.inputs, 0.0f);
  s.stddev.assign(data.inputs, 0.0f);
  for (std::size_t j = 0; j < data.inputs; ++j) {
    // Two passes in double: the mean, then the mean squared deviation.
    double sum = 0;
    for (std::size_t i = 0; i < data.rows; ++i) sum += data.values[i * data.inputs + j];
    const double mean = sum / static_cast<double>(data.rows);
    double sq = 0;
    for (std::size_t i = 0; i < data.rows; ++i) {
      const double dev = data.values[i * data.inputs + j] - mean;
      sq += dev * dev;
    }
    s.mean[j] = static_cast<float>(mean);
    s.stddev[j] = static_cast<float>(std::sqrt(sq / static_cast<double>(data.rows)));
  }
  return s;
}

void standardize(Dataset& data, const Standardization& s) {
  if (s.empty()) return;
  if (data.is_bytes() || s.mean.size() != data.inputs)
    throw InputError(data.source + ": standardization for " + std::to_string(s.mean.size()) +
                     " features but the data has " + std::to_string(data.inputs));
  for (std::size_t i = 0; i < data.rows; ++i)
    for (std::size_t j = 0; j < data.inputs; ++j) {
      float& x = data.values[i * data.inputs + j];
      x = (x - s.mean[j]) / (s.stddev[j] > 0.0f ? s.stddev[j] : 1.0f);
    }
}

TrainTest stratified_split(const Dataset& data, double test_fraction, Rng& rng) {
  if (!(test_fraction > 0.0 && test_fraction < 1.0))
    throw InputError("--test-split: expected a fraction between 0 and 1 but found " +
                     std::to_string(test_fraction));
  std::vector<std::uint8_t> to_test(data.rows, 0);
  for (std::size_t c = 0; c < data.classes(); ++c) {
    std::vector<std::uint32_t> members;
    for (std::size_t i = 0; i < data.rows; ++i)
      if (data.labels[i] == static_cast<std::int32_t>(c))
        members.push_back(static_cast<std::uint32_t>(i));
    shuffle(members, rng);
    const auto n_test =
        static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(members.size())));
    for (std::size_t k = 0; k < n_test; ++k) to_test[members[k]] = 1;
  }
  TrainTest tt;
  for (Dataset* part : {&tt.train, &tt.test}) {
    part->inputs = data.inputs;
    part->scale = data.scale;
    part->shape = data.shape;
    part->class_names = data.class_names;
    part->feature_names = data.feature_names;
  }
  tt.train.source = data.source + " (train split)";
  tt.test.source = data.source + " (test split)";
  for (std::size_t i = 0; i < data.rows; ++i) {
    Dataset& part = to_test[i] ? tt.test : tt.train;
    ++part.rows;
    part.labels.push_back(data.labels[i]);
    if (data.is_bytes())
      part.pixels.insert(part.pixels.end(),
                         data.pixels.begin() + static_cast<std::ptrdiff_t>(i * data.inputs),
                         data.pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * data.inputs));
    else
      part.values.insert(part.values.end(),
                         data.values.begin() + static_cast<std::ptrdiff_t>(i * data.inputs),
                         data.values.begin() + static_cast<std::ptrdiff_t>((i + 1) * data.inputs));
  }
  if (tt.train.rows == 0 || tt.test.rows == 0)
    throw InputError(data.source + ": --test-split " + std::to_string(test_fraction) + " leaves " +
                     (tt.train.rows == 0 ? "no training" : "no test") + " examples");
  return tt;
}

}  // namespace softreg
