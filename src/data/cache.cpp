// Caches of parsed sparse data (--cache; docs/formats.md, "Caches"): the compressed rows, labels
// and classes of a LIBSVM or text file, written once, and memory-mapped and checked on later
// runs instead of parsing the file again.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "load.hpp"
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
  k.source = fs::absolute(source, ec).string();
  struct stat st {};
  if (::stat(source.c_str(), &st) == 0) {
    k.source_bytes = static_cast<std::uint64_t>(st.st_size);
    k.source_mtime_ns =
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  k.text_features = std::move(text_features);
  return k;
}

void write_cache(const fs::path& file, const Dataset& d, const CacheKey& key) {
  if (!d.is_sparse()) throw std::invalid_argument("write_cache: sparse data only");
  const SparseRows& x = d.sparse;
  nlohmann::ordered_json h = {{"format", "softreg-cache"},
                              {"version", 1},
                              {"kind", key.kind},
                              {"source", key.source},
                              {"source_bytes", key.source_bytes},
                              {"source_mtime_ns", key.source_mtime_ns},
                              {"text_features", key.text_features},
                              {"rows", d.rows},
                              {"inputs", d.inputs},
                              {"nnz", x.nnz()},
                              {"binary", x.binary()},
                              {"labels", !d.labels.empty()},
                              {"classes", d.class_names}};
  const std::string header = h.dump();
  std::vector<std::uint8_t> head(kMagic, kMagic + 8);
  const std::uint64_t n = header.size();
  for (int b = 0; b < 8; ++b) head.push_back(static_cast<std::uint8_t>(n >> (8 * b)));
  head.insert(head.end(), header.begin(), header.end());
  head.resize(head.size() + pad8(head.size()), 0);
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

std::optional<Dataset> read_cache(const fs::path& file, const CacheKey& key) {
  const Mapping m(file);
  const std::uint8_t* p = m.data();
  const std::size_t size = m.size();
  auto bad = [&](const std::string& what) { fail(file, "not a valid softreg cache: " + what); };
  if (size < 24 || std::memcmp(p, kMagic, 8) != 0) bad("expected the magic SRCACHE1 and a header");
  std::uint64_t n = 0;
  for (int b = 0; b < 8; ++b) n |= std::uint64_t{p[8 + b]} << (8 * b);
  if (n > kMaxHeader || n > size - 24) bad("a header of " + std::to_string(n) + " bytes");
  // The checksum first: everything after it may then be trusted to be what was written.
  std::uint64_t sum = 0;
  for (int b = 0; b < 8; ++b) sum |= std::uint64_t{p[size - 8 + b]} << (8 * b);
  if (XXH3_64bits(p, size - 8) != sum)
    bad("its checksum does not match (the file was altered or cut short)");
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(p + 16, p + 16 + n);
  } catch (const nlohmann::json::exception&) {
    bad("the header is not JSON");
  }
  Dataset d;
  std::uint64_t nnz = 0;
  bool binary = false, labels = false;
  try {
    if (h.at("format") != "softreg-cache" || h.at("version") != 1)
      bad("format " + h.at("format").dump() + " version " + h.at("version").dump());
    // Made from another file, or from this one before it changed, or with other text options:
    // stale, not wrong.
    if (h.at("kind") != key.kind || h.at("source") != key.source ||
        h.at("source_bytes") != key.source_bytes ||
        h.at("source_mtime_ns") != key.source_mtime_ns ||
        h.at("text_features") != key.text_features)
      return std::nullopt;
    d.rows = h.at("rows").get<std::size_t>();
    d.inputs = h.at("inputs").get<std::size_t>();
    nnz = h.at("nnz").get<std::uint64_t>();
    binary = h.at("binary").get<bool>();
    labels = h.at("labels").get<bool>();
    d.class_names = h.at("classes").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("the header lacks a field or has one of the wrong type (") + e.what() + ")");
  }
  if (d.inputs < 1 || d.inputs > kMaxSparseFeatures || d.rows >= (std::uint64_t{1} << 32) ||
      d.class_names.size() > kMaxClasses || (labels && d.class_names.size() < 2))
    bad("rows, inputs or classes out of range");
  // The sizes the header implies must be the file's.
  std::uint64_t at = 16 + n + pad8(16 + n);
  auto piece = [&](std::uint64_t count, std::size_t width) {
    const std::uint64_t start = at;
    if (count > size / width) bad("sizes beyond the file");
    at += count * width;
    at += pad8(at);
    return start;
  };
  const std::uint64_t lab = labels ? piece(d.rows, 4) : 0;
  const std::uint64_t off = piece(d.rows + 1, 8);
  const std::uint64_t col = piece(nnz, 4);
  const std::uint64_t val = binary ? 0 : piece(nnz, 4);
  if (at + 8 != size)
    bad("the header's rows and values take " + std::to_string(at + 8) + " bytes but the file has " +
        std::to_string(size));
  auto copy = [&](auto& v, std::uint64_t start, std::uint64_t count) {
    v.resize(count);
    std::memcpy(v.data(), p + start, count * sizeof(v[0]));
  };
  if (labels) copy(d.labels, lab, d.rows);
  copy(d.sparse.offsets, off, d.rows + 1);
  copy(d.sparse.cols, col, nnz);
  if (!binary) copy(d.sparse.vals, val, nnz);
  // What every loader guarantees, checked again: the checksum says the bytes are the writer's,
  // not that the writer was softreg.
  const SparseRows& x = d.sparse;
  if (x.offsets[0] != 0 || x.offsets[d.rows] != nnz) bad("row offsets do not run from 0 to nnz");
  for (std::size_t i = 0; i < d.rows; ++i) {
    if (x.offsets[i] > x.offsets[i + 1]) bad("row offsets decrease at row " + std::to_string(i));
    for (std::uint64_t e = x.offsets[i]; e < x.offsets[i + 1]; ++e)
      if (x.cols[e] >= d.inputs || (e > x.offsets[i] && x.cols[e - 1] >= x.cols[e]))
        bad("row " + std::to_string(i) + "'s columns are not increasing below the inputs");
  }
  for (float v : x.vals)
    if (!std::isfinite(v)) bad("a value is not finite");
  for (std::int32_t y : d.labels)
    if (y < 0 || static_cast<std::size_t>(y) >= d.class_names.size()) bad("a label out of range");
  d.shape = {d.inputs};
  d.source = key.source;
  return d;
}

}  // namespace softreg
