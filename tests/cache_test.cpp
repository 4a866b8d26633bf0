// Caches of parsed sparse data (src/data/cache.cpp): written then read gives the same data set;
// a truncated or altered cache is refused naming the file; a cache of another source, or of
// this one before it changed, is stale (nullopt), not an error; read in parts across processes,
// the parts are the whole and every change is refused on every process.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "thread_comm.hpp"

namespace softreg {
namespace {

namespace fs = std::filesystem;

std::vector<char> bytes_of(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put_bytes(const fs::path& f, const std::vector<char>& b) {
  std::ofstream(f, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
}

std::string error_of(const fs::path& cache, const CacheKey& key) {
  try {
    read_cache(cache, key);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// The cache with its header's JSON changed by `change`, laid out again (the pieces after the
// header move with its length, to the next multiple of 8) and its checksum recomputed: a forgery
// that only the header's checks can find.
void forge_header(const fs::path& cache, const std::function<void(nlohmann::json&)>& change) {
  const std::vector<char> b = bytes_of(cache);
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= std::uint64_t{static_cast<unsigned char>(b[8 + i])} << (8 * i);
  nlohmann::json h = nlohmann::json::parse(b.begin() + 16, b.begin() + 16 + static_cast<long>(n));
  change(h);
  const std::string header = h.dump();
  const auto padded = [](std::uint64_t at) { return (at + 7) / 8 * 8; };
  std::vector<char> out(b.begin(), b.begin() + 8);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.resize(padded(out.size()), 0);
  out.insert(out.end(), b.begin() + static_cast<long>(padded(16 + n)), b.end() - 8);
  const std::uint64_t sum = XXH3_64bits(out.data(), out.size());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(sum >> (8 * i)));
  put_bytes(cache, out);
}

// What each of the three readers says of `cache` (the in-memory one, the stream, the parts).
std::vector<std::string> errors_of_every_reader(const fs::path& cache, const CacheKey& key) {
  std::vector<std::string> out = {error_of(cache, key)};
  try {
    SparseCacheStream::open(cache, key, 20);
    out.emplace_back();
  } catch (const InputError& e) {
    out.emplace_back(e.what());
  }
  std::vector<std::string> parts(2);
  test::ThreadGroup(2).run([&](const Comm& comm) {
    try {
      read_cache_part(cache, key, comm);
    } catch (const InputError& e) {
      parts[static_cast<std::size_t>(comm.rank())] = e.what();
    }
  });
  out.push_back(parts[0]);
  return out;
}

class Cache : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = dir_.path() / "rows.svm";
    test::write_text(source_, "a 1:0.5 7:2\nb 3:1\nc\na 2:-1 4000000000:3\n");
    binary_ = dir_.path() / "bin.svm";
    test::write_text(binary_, "1 1:1 5:1\n0 2:1\n1 5:1\n");
    cache_ = dir_.path() / "rows.cache";
  }
  test::TempDir dir_;
  fs::path source_, binary_, cache_;
};

TEST_F(Cache, WrittenThenReadIsTheSameDataSet) {
  for (const fs::path& f : {source_, binary_}) {
    SCOPED_TRACE(f.string());
    const Dataset d = load_libsvm(f);
    const CacheKey key = cache_key_of(f, "libsvm");
    write_cache(cache_, d, key);
    const std::optional<Dataset> e = read_cache(cache_, key);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->rows, d.rows);
    EXPECT_EQ(e->inputs, d.inputs);
    EXPECT_EQ(e->sparse.offsets, d.sparse.offsets);
    EXPECT_EQ(e->sparse.cols, d.sparse.cols);
    EXPECT_EQ(e->sparse.vals, d.sparse.vals);
    EXPECT_EQ(e->labels, d.labels);
    EXPECT_EQ(e->class_names, d.class_names);
    EXPECT_EQ(e->shape, d.shape);
  }
}

TEST_F(Cache, TruncatedOrAlteredIsRefused) {
  const CacheKey key = cache_key_of(source_, "libsvm");
  write_cache(cache_, load_libsvm(source_), key);
  const std::vector<char> good = bytes_of(cache_);
  // Every single-byte change and every cut is refused: the checksum covers every byte.
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::vector<char> b = good;
    b[i] = static_cast<char>(b[i] ^ 0x10);
    put_bytes(cache_, b);
    const std::string m = error_of(cache_, key);
    ASSERT_NE(m.find(cache_.string() + ": not a valid softreg cache"), std::string::npos)
        << "byte " << i << ": " << m;
  }
  for (std::size_t n : {std::size_t{0}, std::size_t{7}, std::size_t{30}, good.size() - 1}) {
    put_bytes(cache_, std::vector<char>(good.begin(), good.begin() + static_cast<long>(n)));
    EXPECT_NE(error_of(cache_, key).find("not a valid softreg cache"), std::string::npos) << n;
  }
  put_bytes(cache_, good);
  EXPECT_EQ(error_of(cache_, key), "");
}

TEST_F(Cache, AnotherSourceOrAChangedOneIsStale) {
  write_cache(cache_, load_libsvm(source_), cache_key_of(source_, "libsvm"));
  EXPECT_FALSE(read_cache(cache_, cache_key_of(binary_, "libsvm")).has_value());
  EXPECT_FALSE(read_cache(cache_, cache_key_of(source_, "text", "{}")).has_value());
  test::write_text(source_, "a 1:0.5 7:2\nb 3:1\n");  // changed: size and time
  EXPECT_FALSE(read_cache(cache_, cache_key_of(source_, "libsvm")).has_value());
}

// The rows of a stream, written block by block, make the same file as the data set in memory:
// LIBSVM with values, binary, binary in the first blocks but not later (ones written for
// them), and text.
TEST_F(Cache, WrittenFromAStreamIsTheSameFile) {
  const fs::path mixed = dir_.path() / "mixed.svm", text = dir_.path() / "docs.txt";
  test::write_text(mixed, "1 1:1 5:1\n0 2:1\n1 5:1\n0 3:0.25 9:1\n1 2:1\n");
  test::write_text(text, "__label__a one two\n__label__b two three\n\n__label__a one\n");
  const fs::path from_memory = dir_.path() / "memory.cache";
  for (const fs::path& f : {source_, binary_, mixed, text}) {
    SCOPED_TRACE(f.string());
    const bool is_text = f == text;
    const CacheKey key = cache_key_of(f, is_text ? "text" : "libsvm");
    write_cache(from_memory, is_text ? load_text(f, {}) : load_libsvm(f), key);
    SparseFileStream stream(
        f, is_text ? SparseFileStream::Kind::text : SparseFileStream::Kind::libsvm, {},
        /*block_bytes=*/8);
    write_cache(cache_, stream, key);
    EXPECT_EQ(bytes_of(cache_), bytes_of(from_memory));
  }
}

// A cache read in blocks: the blocks put together are the data set, pass after pass; a cache
// of another key is stale (no stream).
TEST_F(Cache, StreamedInBlocksIsTheDataSet) {
  const CacheKey key = cache_key_of(source_, "libsvm");
  const Dataset d = load_libsvm(source_);
  write_cache(cache_, d, key);
  EXPECT_EQ(SparseCacheStream::open(cache_, cache_key_of(binary_, "libsvm")), nullptr);
  const std::unique_ptr<SparseCacheStream> s = SparseCacheStream::open(cache_, key, 20);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->rows(), d.rows);
  EXPECT_EQ(s->inputs(), d.inputs);
  EXPECT_EQ(s->nnz(), d.sparse.nnz());
  EXPECT_EQ(s->classes(), d.class_names);
  for (int pass = 0; pass < 2; ++pass) {
    s->rewind();
    Dataset all = d.empty_like("blocks");
    Dataset block;
    std::size_t blocks = 0;
    while (s->next(block)) {
      ++blocks;
      for (std::size_t i = 0; i < block.rows; ++i) all.append_row(block, i);
    }
    EXPECT_GT(blocks, 1u) << "blocks of about 20 bytes";
    EXPECT_EQ(all.rows, d.rows);
    EXPECT_EQ(all.sparse.offsets, d.sparse.offsets);
    EXPECT_EQ(all.sparse.cols, d.sparse.cols);
    EXPECT_EQ(all.sparse.vals, d.sparse.vals);
    EXPECT_EQ(all.labels, d.labels);
  }
}

// Opening a stream reads the cache through: every single-byte change and every cut is refused
// there, before any training.
TEST_F(Cache, StreamOfATruncatedOrAlteredCacheIsRefused) {
  const CacheKey key = cache_key_of(source_, "libsvm");
  write_cache(cache_, load_libsvm(source_), key);
  const std::vector<char> good = bytes_of(cache_);
  auto error = [&] {
    try {
      SparseCacheStream::open(cache_, key, 20);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::vector<char> b = good;
    b[i] = static_cast<char>(b[i] ^ 0x10);
    put_bytes(cache_, b);
    ASSERT_NE(error().find(cache_.string() + ": not a valid softreg cache"), std::string::npos)
        << "byte " << i << ": " << error();
  }
  for (std::size_t n : {std::size_t{0}, std::size_t{7}, std::size_t{30}, good.size() - 1}) {
    put_bytes(cache_, std::vector<char>(good.begin(), good.begin() + static_cast<long>(n)));
    EXPECT_NE(error().find("not a valid softreg cache"), std::string::npos) << n;
  }
  put_bytes(cache_, good);
  EXPECT_EQ(error(), "");
}

// read_cache_part with threads standing in for processes: for P = 1 to 5 (more processes than
// rows too) the parts, in rank order, are the whole data set, each part shard_rows()'s rows;
// every single-byte change of the file is refused, on every process at once (one message,
// naming the process that found it); another key is stale on every process.
TEST_F(Cache, ReadInPartsIsTheDataSetAndEveryChangeIsRefused) {
  const CacheKey key = cache_key_of(source_, "libsvm");
  const Dataset d = load_libsvm(source_);
  write_cache(cache_, d, key);
  for (int procs = 1; procs <= 5; ++procs) {
    std::vector<std::optional<Dataset>> parts(static_cast<std::size_t>(procs));
    test::ThreadGroup(procs).run([&](const Comm& comm) {
      parts[static_cast<std::size_t>(comm.rank())] = read_cache_part(cache_, key, comm);
    });
    Dataset all = d.empty_like("parts");
    for (int p = 0; p < procs; ++p) {
      ASSERT_TRUE(parts[static_cast<std::size_t>(p)].has_value());
      const Dataset& part = *parts[static_cast<std::size_t>(p)];
      EXPECT_EQ(part.rows,
                shard_rows(d.rows, static_cast<std::uint32_t>(procs), static_cast<std::uint32_t>(p))
                    .size());
      EXPECT_EQ(part.inputs, d.inputs);
      EXPECT_EQ(part.class_names, d.class_names);
      for (std::size_t i = 0; i < part.rows; ++i) all.append_row(part, i);
    }
    EXPECT_EQ(all.sparse.offsets, d.sparse.offsets) << procs;
    EXPECT_EQ(all.sparse.cols, d.sparse.cols);
    EXPECT_EQ(all.sparse.vals, d.sparse.vals);
    EXPECT_EQ(all.labels, d.labels);
    bool stale = true;
    test::ThreadGroup(procs).run([&](const Comm& comm) {
      if (read_cache_part(cache_, cache_key_of(binary_, "libsvm"), comm)) stale = false;
    });
    EXPECT_TRUE(stale) << procs;
  }
  const std::vector<char> good = bytes_of(cache_);
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::vector<char> b = good;
    b[i] = static_cast<char>(b[i] ^ 0x10);
    put_bytes(cache_, b);
    std::vector<std::string> errors(3);
    test::ThreadGroup(3).run([&](const Comm& comm) {
      try {
        read_cache_part(cache_, key, comm);
      } catch (const InputError& e) {
        errors[static_cast<std::size_t>(comm.rank())] = e.what();
      }
    });
    ASSERT_NE(errors[0].find(cache_.string() + ": not a valid softreg cache"), std::string::npos)
        << "byte " << i << ": " << errors[0];
    EXPECT_EQ(errors[1], errors[0]);
    EXPECT_EQ(errors[2], errors[0]);
    EXPECT_EQ(errors[0].rfind("process ", 0), 0u) << errors[0];
  }
}

// Every field of the header against the others and the data, in every reader, before anything
// is sized by them: the forgeries keep the checksum right.
TEST_F(Cache, AHeaderInconsistentInAnyFieldIsRefusedByEveryReader) {
  const CacheKey key = cache_key_of(source_, "libsvm");
  const Dataset d = load_libsvm(source_);
  const auto expect_refused = [&](const std::string& what) {
    for (const std::string& e : errors_of_every_reader(cache_, key)) {
      EXPECT_NE(e.find(cache_.string() + ": not a valid softreg cache: " + what), std::string::npos)
          << e;
      EXPECT_EQ(e.find(source_.filename().string() + ":"), std::string::npos)
          << "the cache is named, not the training file: " << e;
    }
  };
  write_cache(cache_, d, key);
  ASSERT_EQ(errors_of_every_reader(cache_, key), std::vector<std::string>(3)) << "the good cache";
  // Rows without labels (a writer's data set without them): nothing to train on.
  Dataset unlabelled = d;
  unlabelled.labels.clear();
  write_cache(cache_, unlabelled, key);
  expect_refused("labels: expected true");
  // Two classes of one name: a test file's label would be blamed later.
  write_cache(cache_, d, key);
  forge_header(cache_, [](nlohmann::json& h) { h["classes"] = {"a", "a", "c"}; });
  expect_refused(R"(classes: expected distinct, non-empty UTF-8 names but found "a" twice)");
  write_cache(cache_, d, key);
  forge_header(cache_, [](nlohmann::json& h) { h["classes"] = {"a", "", "c"}; });
  expect_refused("classes: expected distinct, non-empty UTF-8 names");
  // inputs that the rows do not reach: the model would be sized by the lie (51 GB at 2^32 - 1).
  write_cache(cache_, d, key);
  forge_header(cache_, [](nlohmann::json& h) { h["inputs"] = 4294967295ull; });
  expect_refused("inputs 4294967295 but the rows' largest index is 4000000000");
}

TEST_F(Cache, ATextCachesInputsAreItsHashBits) {
  const fs::path docs = dir_.path() / "docs.txt";
  test::write_text(docs, "__label__a x y\n__label__b y z\n");
  TextOptions text;
  text.hash_bits = 4;
  const CacheKey key = cache_key_of(docs, "text", text_options_note(text));
  write_cache(cache_, load_text(docs, text), key);
  EXPECT_EQ(error_of(cache_, key), "");
  forge_header(cache_, [](nlohmann::json& h) { h["inputs"] = 32; });
  EXPECT_NE(error_of(cache_, key).find("inputs 32 but the text features' 2^hash_bits is 16"),
            std::string::npos)
      << error_of(cache_, key);
}

// The key says which contents a cache holds by the source's size and time: standard input, a
// pipe or a device has none, and a later run on other input would read the old rows.
TEST_F(Cache, OnlyARegularFileHasAKey) {
  const fs::path fifo = dir_.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const fs::path& f : {fs::path("-"), fifo, fs::path("/dev/zero"), dir_.path()}) {
    try {
      cache_key_of(f, "text");
      ADD_FAILURE() << f << " has a key";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("a cache is kept for a regular file only"),
                std::string::npos)
          << e.what();
      if (f == "-") EXPECT_EQ(std::string(e.what()).rfind("standard input: ", 0), 0u) << e.what();
    }
  }
}

}  // namespace
}  // namespace softreg
