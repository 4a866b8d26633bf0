// Caches of parsed sparse data (--cache; docs/formats.md, "Caches"): the compressed rows, labels
// and classes of a LIBSVM or text file, written once, and memory-mapped and checked on later
// runs instead of parsing the file again.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
// The state's definition, so that a checksum begun by one process can go on in the next.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "load.hpp"
#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/io.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'S', 'R', 'C', 'A', 'C', 'H', 'E', '1'};
constexpr std::uint64_t kMaxHeader = 64u << 20;  // class names of 65,536 classes fit easily

std::size_t pad8(std::size_t n) {
  return (8 - n % 8) % 8;
}

template <class T>
std::span<const std::uint8_t> bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(T)};
}

// A read-only mapping of a whole file, unmapped when it goes.
class Mapping {
 public:
  explicit Mapping(const fs::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(file, std::string("cannot open the cache (") + std::strerror(errno) + ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      fail(file, "the cache is not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ != 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        fail(file, std::string("cannot map the cache (") + std::strerror(errno) + ")");
      }
      data_ = static_cast<const std::uint8_t*>(p);
    }
    ::close(fd);
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace

CacheKey cache_key_of(const fs::path& source, std::string kind, std::string text_features) {
  CacheKey k;
  k.kind = std::move(kind);
  std::error_code ec;
  k.source = escaped_utf8(fs::absolute(source, ec).string());  // JSON holds text
  // The key says which contents the cache holds: only a regular file's size and time can say it.
  // Standard input, a pipe or a device would give the same key for any contents.
  struct stat st {};
  if (source == "-" || ::stat(source.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    fail(source == "-" ? std::string("standard input") : source.string(),
         "a cache is kept for a regular file only: the contents of standard input, a pipe or a "
         "device cannot be checked against it");
  k.source_bytes = static_cast<std::uint64_t>(st.st_size);
  k.source_mtime_ns =
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  k.text_features = std::move(text_features);
  return k;
}

// ------------------------------------------------------------------------------------ layout

// The header's figures and where each piece starts (0: not there).
struct SparseCacheStream::Layout {
  std::size_t rows = 0, inputs = 0;
  std::uint64_t nnz = 0;
  bool binary = false, labelled = false;
  std::vector<std::string> classes;
  std::uint64_t header_end = 0, labels = 0, offsets = 0, cols = 0, vals = 0, size = 0;

  // The layout of a cache of these figures, the header's `header_bytes` long.
  void place(std::uint64_t header_bytes) {
    std::uint64_t at = 16 + header_bytes;
    at += pad8(at);
    header_end = at;
    auto piece = [&](std::uint64_t count, std::uint64_t width) {
      const std::uint64_t start = at;
      at += count * width;
      at += pad8(at);
      return start;
    };
    labels = labelled ? piece(rows, 4) : 0;
    offsets = piece(rows + 1, 8);
    cols = piece(nnz, 4);
    vals = binary ? 0 : piece(nnz, 4);
    size = at + 8;
  }
};

namespace {

using Layout = SparseCacheStream::Layout;

std::string header_of(const Layout& l, const CacheKey& key) {
  const nlohmann::ordered_json h = {{"format", "softreg-cache"},
                                    {"version", 1},
                                    {"kind", key.kind},
                                    {"source", key.source},
                                    {"source_bytes", key.source_bytes},
                                    {"source_mtime_ns", key.source_mtime_ns},
                                    {"text_features", key.text_features},
                                    {"rows", l.rows},
                                    {"inputs", l.inputs},
                                    {"nnz", l.nnz},
                                    {"binary", l.binary},
                                    {"labels", l.labelled},
                                    {"classes", l.classes}};
  return h.dump();
}

// The magic, the header's length and the header, padded to 8 bytes.
std::vector<std::uint8_t> head_of(const std::string& header) {
  std::vector<std::uint8_t> head(kMagic, kMagic + 8);
  const std::uint64_t n = header.size();
  for (int b = 0; b < 8; ++b) head.push_back(static_cast<std::uint8_t>(n >> (8 * b)));
  head.insert(head.end(), header.begin(), header.end());
  head.resize(head.size() + pad8(head.size()), 0);
  return head;
}

[[noreturn]] void bad(const fs::path& file, const std::string& what) {
  fail(file, "not a valid softreg cache: " + what);
}

std::uint64_t le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int b = 0; b < 8; ++b) v |= std::uint64_t{p[b]} << (8 * b);
  return v;
}

// The length of the header that follows the first 16 bytes of a cache of `size` bytes.
std::uint64_t header_length(const fs::path& file, const std::uint8_t* first16, std::size_t size) {
  if (size < 24 || std::memcmp(first16, kMagic, 8) != 0)
    bad(file, "expected the magic SRCACHE1 and a header");
  const std::uint64_t n = le64(first16 + 8);
  if (n > kMaxHeader || n > size - 24) bad(file, "a header of " + std::to_string(n) + " bytes");
  return n;
}

// The layout the header describes; nullopt when the cache is of another key (stale).
std::optional<Layout> parse_header(const fs::path& file, const std::uint8_t* header,
                                   std::uint64_t n, std::uint64_t size, const CacheKey& key) {
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(header, header + n);
  } catch (const nlohmann::json::exception&) {
    bad(file, "the header is not JSON");
  }
  Layout l;
  try {
    if (h.at("format") != "softreg-cache" || h.at("version") != 1)
      bad(file, "format " + h.at("format").dump() + " version " + h.at("version").dump());
    // Made from another file, or from this one before it changed, or with other text options:
    // stale, not wrong.
    if (h.at("kind") != key.kind || h.at("source") != key.source ||
        h.at("source_bytes") != key.source_bytes ||
        h.at("source_mtime_ns") != key.source_mtime_ns ||
        h.at("text_features") != key.text_features)
      return std::nullopt;
    l.rows = h.at("rows").get<std::size_t>();
    l.inputs = h.at("inputs").get<std::size_t>();
    l.nnz = h.at("nnz").get<std::uint64_t>();
    l.binary = h.at("binary").get<bool>();
    l.labelled = h.at("labels").get<bool>();
    l.classes = h.at("classes").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    bad(file,
        std::string("the header lacks a field or has one of the wrong type (") + e.what() + ")");
  }
  if (l.inputs < 1 || l.inputs > kMaxSparseFeatures || l.rows >= (std::uint64_t{1} << 32) ||
      l.classes.size() > kMaxClasses || (l.labelled && l.classes.size() < 2))
    bad(file, "rows, inputs or classes out of range");
  // Every field against the others and the key, before anything is sized by them.
  if (!l.labelled)
    bad(file, "labels: expected true (a cache holds a training file's labelled rows)");
  std::set<std::string_view> names;
  for (const std::string& c : l.classes)
    if (c.empty() || !valid_utf8(c) || !names.insert(c).second)
      bad(file,
          "classes: expected distinct, non-empty UTF-8 names but found " +
              nlohmann::json(c).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
              (c.empty() || !valid_utf8(c) ? "" : " twice"));
  if (key.kind == "text") {
    int bits = 0;
    try {
      bits = nlohmann::json::parse(key.text_features).at("hash_bits").get<int>();
    } catch (const nlohmann::json::exception&) {
      bad(file, "text_features without hash_bits");
    }
    if (bits < 1 || bits > kMaxHashBits || l.inputs != std::size_t{1} << bits)
      bad(file, "inputs " + std::to_string(l.inputs) + " but the text features' 2^hash_bits is " +
                    (bits >= 1 && bits <= kMaxHashBits ? std::to_string(std::size_t{1} << bits)
                                                       : "out of range"));
  }
  // The sizes the header implies must be the file's (the file's size bounds nnz first, so that
  // nothing below overflows).
  if (l.nnz > size / 4) bad(file, "sizes beyond the file");
  l.place(n);
  if (l.size != size)
    bad(file, "the header's rows and values take " + std::to_string(l.size) +
                  " bytes but the file has " + std::to_string(size));
  return l;
}

// What every loader guarantees of rows [0, rows) of a block: offsets (absolute, rows + 1 of
// them, from `first`) increasing, columns increasing below the inputs, values finite, labels
// in range. The checksum says the bytes are the writer's, not that the writer was softreg.
// Returns the largest column + 1 of the rows (0 for none).
std::uint64_t check_rows(const fs::path& file, const Layout& l, std::size_t first_row,
                         std::span<const std::uint64_t> offsets,
                         std::span<const std::uint32_t> cols, std::span<const float> vals,
                         std::span<const std::int32_t> labels) {
  const std::size_t rows = offsets.size() - 1;
  const std::uint64_t base = offsets[0];
  for (std::size_t i = 0; i < rows; ++i) {
    if (offsets[i] > offsets[i + 1] || offsets[i + 1] - base > cols.size())
      bad(file, "row offsets decrease at row " + std::to_string(first_row + i));
    for (std::uint64_t e = offsets[i] - base; e < offsets[i + 1] - base; ++e)
      if (cols[e] >= l.inputs || (e > offsets[i] - base && cols[e - 1] >= cols[e]))
        bad(file, "row " + std::to_string(first_row + i) +
                      "'s columns are not increasing below the inputs");
  }
  for (float v : vals)
    if (!std::isfinite(v)) bad(file, "a value is not finite");
  for (std::int32_t y : labels)
    if (y < 0 || static_cast<std::size_t>(y) >= l.classes.size()) bad(file, "a label out of range");
  std::uint64_t widest = 0;
  for (std::size_t i = 0; i < offsets.size() - 1; ++i)  // a row's columns increase: its last
    if (offsets[i + 1] > offsets[i])
      widest = std::max<std::uint64_t>(widest, cols[offsets[i + 1] - 1 - offsets[0]] + 1ull);
  return widest;
}

// A LIBSVM file's inputs are its largest index: the rows' largest column + 1 must be the
// header's inputs (which sizes the model), or the header lies.
void check_widest(const fs::path& file, const Layout& l, const CacheKey& key,
                  std::uint64_t widest) {
  if (key.kind == "libsvm" && widest != l.inputs)
    bad(file, "inputs " + std::to_string(l.inputs) + " but the rows' largest index is " +
                  std::to_string(widest));
}

// pread of all of `bytes` at `offset`; InputError when the file ends first.
void read_at(int fd, std::span<std::uint8_t> bytes, std::uint64_t offset, const fs::path& file) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got =
        ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(file, std::string("reading failed (") + std::strerror(errno) + ")");
    if (got == 0) bad(file, "it ends before its rows do (cut short?)");
    done += static_cast<std::size_t>(got);
  }
}

// XXH3-64 of the first `bytes` bytes of fd, read through in 1 MB pieces.
std::uint64_t checksum_of(int fd, std::uint64_t bytes, const fs::path& file) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::vector<std::uint8_t> buffer(std::size_t{1} << 20);
  try {
    for (std::uint64_t at = 0; at < bytes; at += buffer.size()) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), bytes - at));
      read_at(fd, {buffer.data(), n}, at, file);
      XXH3_64bits_update(state, buffer.data(), n);
    }
  } catch (...) {
    XXH3_freeState(state);
    throw;
  }
  const std::uint64_t sum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return sum;
}

template <class T>
void read_array(int fd, std::vector<T>& v, std::uint64_t count, std::uint64_t offset,
                const fs::path& file) {
  v.resize(count);
  read_at(fd, {reinterpret_cast<std::uint8_t*>(v.data()), count * sizeof(T)}, offset, file);
}

}  // namespace

std::uint64_t file_fingerprint(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(file, std::string("cannot open (") + std::strerror(errno) + ")");
  struct stat st {};
  try {
    if (::fstat(fd, &st) != 0)
      fail(file, std::string("cannot read (") + std::strerror(errno) + ")");
    const std::uint64_t sum = checksum_of(fd, static_cast<std::uint64_t>(st.st_size), file);
    ::close(fd);
    return sum;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

void write_cache(const fs::path& file, const Dataset& d, const CacheKey& key) {
  if (!d.is_sparse()) throw std::invalid_argument("write_cache: sparse data only");
  const SparseRows& x = d.sparse;
  Layout l;
  l.rows = d.rows;
  l.inputs = d.inputs;
  l.nnz = x.nnz();
  l.binary = x.binary();
  l.labelled = !d.labels.empty();
  l.classes = d.class_names;
  const std::vector<std::uint8_t> head = head_of(header_of(l, key));
  static const std::uint8_t zeros[8] = {};
  std::vector<std::span<const std::uint8_t>> pieces = {head};
  const auto add = [&](std::span<const std::uint8_t> piece) {
    pieces.push_back(piece);
    pieces.push_back({zeros, pad8(piece.size())});
  };
  if (!d.labels.empty()) add(bytes_of(d.labels));
  add(bytes_of(x.offsets));
  add(bytes_of(x.cols));
  if (!x.binary()) add(bytes_of(x.vals));
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (const auto& p : pieces) XXH3_64bits_update(state, p.data(), p.size());
  const std::uint64_t sum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  std::uint8_t trailer[8];
  for (int b = 0; b < 8; ++b) trailer[b] = static_cast<std::uint8_t>(sum >> (8 * b));
  pieces.push_back(trailer);
  write_file_atomic(file, pieces);
}

void write_cache(const fs::path& file, SparseStream& stream, const CacheKey& key) {
  Layout l;
  l.rows = stream.rows();
  l.inputs = stream.inputs();
  l.nnz = stream.nnz();
  l.binary = stream.binary();
  l.labelled = true;
  l.classes = stream.classes();
  const std::string header = header_of(l, key);
  const std::vector<std::uint8_t> head = head_of(header);
  l.place(header.size());
  write_file_atomic(file, [&](int fd) {
    write_at(fd, head, 0, file);
    // Each block's pieces where the layout puts them (the padding between pieces stays the
    // zeros of a file's holes).
    stream.rewind();
    Dataset block;
    std::uint64_t row = 0, stored = 0;
    std::vector<std::uint64_t> offsets;
    std::vector<float> ones;
    while (stream.next(block)) {
      const SparseRows& x = block.sparse;
      if (row + block.rows > l.rows || stored + x.nnz() > l.nnz)
        throw Error(stream.name() + ": changed while the cache was written");
      write_at(fd, bytes_of(block.labels), l.labels + 4 * row, file);
      offsets.resize(block.rows);
      for (std::size_t i = 0; i < block.rows; ++i) offsets[i] = stored + x.offsets[i];
      write_at(fd, bytes_of(offsets), l.offsets + 8 * row, file);
      write_at(fd, bytes_of(x.cols), l.cols + 4 * stored, file);
      if (!l.binary) {
        if (x.binary()) ones.assign(x.nnz(), 1.0f);
        write_at(fd, bytes_of(x.binary() ? ones : x.vals), l.vals + 4 * stored, file);
      }
      row += block.rows;
      stored += x.nnz();
      block = Dataset{};
    }
    if (row != l.rows || stored != l.nnz)
      throw Error(stream.name() + ": changed while the cache was written");
    const std::vector<std::uint64_t> last = {stored};
    write_at(fd, bytes_of(last), l.offsets + 8 * row, file);
    // The checksum of everything before it, read back in file order; the holes are zeros.
    if (::ftruncate(fd, static_cast<off_t>(l.size - 8)) != 0)
      throw Error(file.string() + ": writing failed (" + std::strerror(errno) + ")");
    const std::uint64_t sum = checksum_of(fd, l.size - 8, file);
    std::uint8_t trailer[8];
    for (int b = 0; b < 8; ++b) trailer[b] = static_cast<std::uint8_t>(sum >> (8 * b));
    write_at(fd, trailer, l.size - 8, file);
  });
}

std::optional<Dataset> read_cache(const fs::path& file, const CacheKey& key) {
  const Mapping m(file);
  const std::uint8_t* p = m.data();
  const std::size_t size = m.size();
  const std::uint64_t n = header_length(file, p, size);
  // The checksum first: everything after it may then be trusted to be what was written.
  if (XXH3_64bits(p, size - 8) != le64(p + size - 8))
    bad(file, "its checksum does not match (the file was altered or cut short)");
  const std::optional<Layout> layout = parse_header(file, p + 16, n, size, key);
  if (!layout) return std::nullopt;
  const Layout& l = *layout;
  Dataset d;
  d.rows = l.rows;
  d.inputs = l.inputs;
  d.class_names = l.classes;
  auto copy = [&](auto& v, std::uint64_t start, std::uint64_t count) {
    v.resize(count);
    std::memcpy(v.data(), p + start, count * sizeof(v[0]));
  };
  if (l.labelled) copy(d.labels, l.labels, d.rows);
  copy(d.sparse.offsets, l.offsets, d.rows + 1);
  copy(d.sparse.cols, l.cols, l.nnz);
  if (!l.binary) copy(d.sparse.vals, l.vals, l.nnz);
  const SparseRows& x = d.sparse;
  if (x.offsets[0] != 0 || x.offsets[d.rows] != l.nnz)
    bad(file, "row offsets do not run from 0 to nnz");
  check_widest(file, l, key, check_rows(file, l, 0, x.offsets, x.cols, x.vals, d.labels));
  d.shape = {d.inputs};
  d.source = key.source;
  return d;
}

// ------------------------------------------------------------------------------------ stream

std::unique_ptr<SparseCacheStream> SparseCacheStream::open(const fs::path& file,
                                                           const CacheKey& key,
                                                           std::size_t block_bytes) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(file, std::string("cannot open the cache (") + std::strerror(errno) + ")");
  std::unique_ptr<SparseCacheStream> stream;
  try {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
      fail(file, "the cache is not a regular file");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    std::uint8_t first[16] = {};
    if (size >= 16) read_at(fd, first, 0, file);
    const std::uint64_t n = header_length(file, first, size);
    const std::uint64_t sum = checksum_of(fd, size - 8, file);
    std::uint8_t trailer[8];
    read_at(fd, trailer, size - 8, file);
    if (sum != le64(trailer))
      bad(file, "its checksum does not match (the file was altered or cut short)");
    std::vector<std::uint8_t> header(n);
    read_at(fd, header, 16, file);
    std::optional<Layout> l = parse_header(file, header.data(), n, size, key);
    if (!l) {
      ::close(fd);
      return nullptr;
    }
    std::uint64_t ends[2];
    read_at(fd, {reinterpret_cast<std::uint8_t*>(&ends[0]), 8}, l->offsets, file);
    read_at(fd, {reinterpret_cast<std::uint8_t*>(&ends[1]), 8}, l->offsets + 8 * l->rows, file);
    if (ends[0] != 0 || ends[1] != l->nnz) bad(file, "row offsets do not run from 0 to nnz");
    stream.reset(new SparseCacheStream(file.string(), fd, std::make_unique<Layout>(std::move(*l)),
                                       block_bytes));
  } catch (...) {
    if (!stream) ::close(fd);
    throw;
  }
  // Every block checked once before training starts.
  Dataset block;
  while (stream->next(block)) block = Dataset{};
  check_widest(file, *stream->layout_, key, stream->widest_);
  stream->rewind();
  return stream;
}

SparseCacheStream::SparseCacheStream(std::string name, int fd, std::unique_ptr<Layout> layout,
                                     std::size_t block_bytes)
    : name_(std::move(name)), fd_(fd), layout_(std::move(layout)) {
  // Rows of the mean length (labels, offsets, columns, values) in about block_bytes.
  const Layout& l = *layout_;
  const double per_row =
      12.0 + (l.binary ? 4.0 : 8.0) * static_cast<double>(l.nnz) / static_cast<double>(l.rows);
  block_rows_ = static_cast<std::size_t>(
      std::max(1.0, static_cast<double>(std::max<std::size_t>(block_bytes, 1)) / per_row));
}

SparseCacheStream::~SparseCacheStream() {
  ::close(fd_);
}

std::size_t SparseCacheStream::rows() const {
  return layout_->rows;
}
std::size_t SparseCacheStream::inputs() const {
  return layout_->inputs;
}
std::uint64_t SparseCacheStream::nnz() const {
  return layout_->nnz;
}
bool SparseCacheStream::binary() const {
  return layout_->binary;
}
const std::vector<std::string>& SparseCacheStream::classes() const {
  return layout_->classes;
}

bool SparseCacheStream::next(Dataset& block) {
  const Layout& l = *layout_;
  block = Dataset{};
  if (row_ >= l.rows) return false;
  const std::size_t rows = std::min(block_rows_, l.rows - row_);
  SparseRows& x = block.sparse;
  read_array(fd_, x.offsets, rows + 1, l.offsets + 8 * row_, name_);
  const std::uint64_t first = x.offsets[0], last = x.offsets[rows];
  if (first > last || last > l.nnz)
    bad(name_, "row offsets decrease at row " + std::to_string(row_));
  read_array(fd_, x.cols, last - first, l.cols + 4 * first, name_);
  if (!l.binary) read_array(fd_, x.vals, last - first, l.vals + 4 * first, name_);
  read_array(fd_, block.labels, rows, l.labels + 4 * row_, name_);
  widest_ = std::max(widest_, check_rows(name_, l, row_, x.offsets, x.cols, x.vals, block.labels));
  for (std::uint64_t& o : x.offsets) o -= first;
  block.rows = rows;
  block.inputs = l.inputs;
  block.shape = {l.inputs};
  block.class_names = l.classes;
  block.source = name_;
  row_ += rows;
  return true;
}

// ------------------------------------------------------------------------------------- parts

std::optional<Dataset> read_cache_part(const fs::path& file, const CacheKey& key,
                                       const Comm& comm) {
  const auto procs = static_cast<std::uint32_t>(comm.size());
  const auto me = static_cast<std::uint32_t>(comm.rank());
  int fd = -1;
  std::uint64_t size = 0;
  std::optional<Layout> layout;
  bool stale = false;
  Dataset d;
  try {
    // 1. The file's size and the header's length, read by every process.
    std::uint64_t n = 0;
    together(comm, [&] {
      fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fail(file, std::string("cannot open the cache (") + std::strerror(errno) + ")");
      struct stat st {};
      if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        fail(file, "the cache is not a regular file");
      size = static_cast<std::uint64_t>(st.st_size);
      std::uint8_t first[16] = {};
      if (size >= 16) read_at(fd, first, 0, file);
      n = header_length(file, first, size);
    });
    // 2. The checksum of every byte before it (first, as read_cache: everything after it may
    // then be trusted to be what was written), in P pieces of the file, one a process in rank
    // order: each goes on from the state its predecessor sends (the same program, so the same
    // state layout; its pointer to the default secret is set to this process's), and the last
    // one compares. Each process reads 1/P of the file for it. A
    // process that fails still sends on (with a flag), so that none waits for ever.
    {
      const std::uint64_t body = size - 8, from = body * me / procs, to = body * (me + 1) / procs;
      XXH3_state_t state;
      constexpr std::size_t kWords = (sizeof(XXH3_state_t) + 7) / 8;
      std::vector<double> words(kWords + 1, 0.0);  // the state, then whether a piece failed
      std::string error;
      bool failed = false;
      if (me == 0) {
        XXH3_64bits_reset(&state);
      } else {
        comm.receive(static_cast<int>(me) - 1, words);
        std::memcpy(&state, words.data(), sizeof state);
        // The one pointer in the state, to the library's default secret: this process's.
        XXH3_state_t fresh;
        XXH3_64bits_reset(&fresh);
        state.extSecret = fresh.extSecret;
        failed = words[kWords] != 0;
      }
      try {
        std::vector<std::uint8_t> buffer(std::size_t{1} << 20);
        for (std::uint64_t at = from; at < to && !failed; at += buffer.size()) {
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), to - at));
          read_at(fd, {buffer.data(), n}, at, file);
          XXH3_64bits_update(&state, buffer.data(), n);
        }
        if (me + 1 == procs && !failed) {
          std::uint8_t trailer[8];
          read_at(fd, trailer, body, file);
          if (XXH3_64bits_digest(&state) != le64(trailer))
            bad(file, "its checksum does not match (the file was altered or cut short)");
        }
      } catch (const InputError& e) {
        error = e.what();
        failed = true;
      }
      if (me + 1 < procs) {
        std::memcpy(words.data(), &state, sizeof state);
        words[kWords] = failed ? 1.0 : 0.0;
        comm.send(static_cast<int>(me) + 1, words);
      }
      agree_on_errors(comm, error);
    }
    // 3. The header, now known to be the writer's: its key (stale or not) and the layout.
    together(comm, [&] {
      std::vector<std::uint8_t> header(n);
      read_at(fd, header, 16, file);
      layout = parse_header(file, header.data(), n, size, key);
      stale = !layout;
    });
    // (The same file for all: stale for one is stale for all, but they agree all the same.)
    double stale_anywhere = 0;
    for (const double v : allgather_values(comm, stale ? 1.0 : 0.0)) stale_anywhere += v;
    if (stale_anywhere != 0) {
      ::close(fd);
      return std::nullopt;
    }
    const Layout& l = *layout;
    // 4. This process's rows, checked as a loader checks them.
    std::uint64_t widest = 0;
    together(comm, [&] {
      const RowRange part = shard_rows(l.rows, procs, me);
      const std::size_t rows = part.size();
      SparseRows& x = d.sparse;
      read_array(fd, x.offsets, rows + 1, l.offsets + 8 * part.begin, file);
      if (part.begin == 0 && x.offsets[0] != 0) bad(file, "row offsets do not run from 0 to nnz");
      if (part.end == l.rows && x.offsets[rows] != l.nnz)
        bad(file, "row offsets do not run from 0 to nnz");
      const std::uint64_t first = x.offsets[0], last = x.offsets[rows];
      if (first > last || last > l.nnz)
        bad(file, "row offsets decrease at row " + std::to_string(part.begin));
      read_array(fd, x.cols, last - first, l.cols + 4 * first, file);
      if (!l.binary) read_array(fd, x.vals, last - first, l.vals + 4 * first, file);
      read_array(fd, d.labels, rows, l.labels + 4 * part.begin, file);
      // (A part's last offset is the next part's first: the same bytes, so the offsets of
      // all the parts increase as one.)
      widest = check_rows(file, l, part.begin, x.offsets, x.cols, x.vals, d.labels);
      for (std::uint64_t& o : x.offsets) o -= first;
      d.rows = rows;
    });
    // 5. The widest row of all the parts against the header (the same check in every process).
    double all = 0;
    for (const double w : allgather_values(comm, static_cast<double>(widest)))
      all = std::max(all, w);
    together(comm, [&] { check_widest(file, l, key, static_cast<std::uint64_t>(all)); });
  } catch (...) {
    if (fd >= 0) ::close(fd);
    throw;
  }
  ::close(fd);
  const Layout& l = *layout;
  d.inputs = l.inputs;
  d.class_names = l.classes;
  d.shape = {d.inputs};
  d.source = key.source;
  return d;
}

}  // namespace softreg
