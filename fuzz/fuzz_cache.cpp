// Caches of parsed sparse data (--cache), as its three readers read them: read_cache (--cache),
// SparseCacheStream (--stream --cache, here in blocks of 1 to 128 bytes' worth of rows, from the
// input's size) and read_cache_part (--cache across processes: serial_comm() for one, threads
// standing in for 2 and 3). The checksum would stop almost every mutated input at the door, so
// the input's last 8 bytes are replaced by the XXH3-64 of everything before them: mutations
// reach the header's and the rows' checks. A cache's key names its source file, whose size and
// time must be the key's: the target writes the two sources at start exactly as
// softreg_fuzz_seeds did (cache_source.hpp), and reads each input with the LIBSVM source's key
// and, when that is stale, with the text source's.
// Properties: the readers agree (every one refuses the cache, or finds it stale, or reads it);
// what read_cache reads is well formed (offsets 0 .. nnz, columns increasing below the inputs,
// values finite, labels in range); the stream's figures (rows, inputs, nnz, binary, classes) are
// its, and its blocks joined in order are its data set, as are the parts of 1, 2 and 3 processes
// joined in rank order (each part shard_rows()'s rows); no reader leaves a file open.
#include <unistd.h>
#include <xxhash.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache_source.hpp"
#include "fuzz.hpp"
#include "in_threads.hpp"
#include "rows.hpp"
#include "softreg/comm.hpp"
#include "softreg/data.hpp"

using namespace softreg;
namespace fs = std::filesystem;

namespace {

// read_cache_part by `procs` processes: each one's result in rank order, and how many refused.
struct PartsRead {
  int refused = 0;
  std::string error;  // the first refusal's message
  std::vector<std::optional<Dataset>> parts;
};

PartsRead read_parts(const fs::path& file, const CacheKey& key, int procs) {
  PartsRead out;
  out.parts.resize(static_cast<std::size_t>(procs));
  if (procs == 1) {
    try {
      out.parts[0] = read_cache_part(file, key, serial_comm());
    } catch (const InputError& e) {
      out.refused = 1;
      out.error = e.what();
    }
    return out;
  }
  const fuzz::Outcome o = fuzz::in_threads(procs, [&](const Comm& comm) {
    out.parts[static_cast<std::size_t>(comm.rank())] = read_cache_part(file, key, comm);
  });
  out.refused = o.refused;
  out.error = o.error;
  return out;
}

// Reads the cache with `key` by every reader and checks the properties; true when it is stale.
bool read_every_way(const fs::path& file, const CacheKey& key, std::size_t block) {
  const std::string kind = "cache (" + key.kind + " key)";
  std::optional<Dataset> whole;
  bool refused = false;
  std::string error;
  try {
    whole = read_cache(file, key);
  } catch (const InputError& e) {
    refused = true;
    error = e.what();
  }

  std::unique_ptr<SparseCacheStream> stream;
  std::string stream_error;
  bool stream_refused = false;
  try {
    stream = SparseCacheStream::open(file, key, block);
  } catch (const InputError& e) {
    stream_refused = true;
    stream_error = e.what();
  }
  if (refused != stream_refused)
    fuzz::broken(kind + ": " +
                 (refused ? "the stream opens a cache read_cache refuses (" + error + ")"
                          : "the stream refuses a cache read_cache reads (" + stream_error + ")"));
  if (!refused)
    fuzz::check((stream == nullptr) == !whole.has_value(),
                kind + ": read_cache and the stream disagree on whether it is stale");

  std::vector<PartsRead> in_parts;
  in_parts.reserve(3);
  for (int procs = 1; procs <= 3; ++procs) {
    const PartsRead& r = in_parts.emplace_back(read_parts(file, key, procs));
    const std::string what = kind + " in " + std::to_string(procs) + " parts";
    if (refused) {
      fuzz::check(r.refused == procs, what + ": read although read_cache refuses it (" + error +
                                          ")" + (r.refused != 0 ? ", by some processes" : ""));
      continue;
    }
    fuzz::check(r.refused == 0, what + ": refused although read_cache reads it (" + r.error + ")");
    for (const std::optional<Dataset>& p : r.parts)
      fuzz::check(p.has_value() == whole.has_value(),
                  what + ": read_cache and a part disagree on whether it is stale");
  }
  if (refused) return false;
  if (!whole) return true;

  const Dataset& d = *whole;
  fuzz::check_sparse_rows(d, kind);
  fuzz::check(d.classes() >= 2, kind + ": fewer than 2 classes");
  const bool valued = !d.sparse.binary();

  // The stream: its figures, then its blocks (open() read them once already: reading them again
  // must not fail), twice, with rewind() between.
  // (Without stored values, a header's "binary": false is vacuous: read_cache keeps no values.)
  fuzz::check(stream->rows() == d.rows && stream->inputs() == d.inputs &&
                  stream->nnz() == d.sparse.nnz() &&
                  (d.sparse.nnz() == 0 || stream->binary() == d.sparse.binary()) &&
                  stream->classes() == d.class_names,
              kind + ": the stream's rows, inputs, nnz, binary or classes are not read_cache's");
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) stream->rewind();
    Dataset joined = d.empty_like("blocks");
    Dataset block;
    try {
      while (stream->next(block)) {
        fuzz::check(block.rows > 0, kind + ": a block without rows");
        fuzz::check(block.inputs == d.inputs && block.class_names == d.class_names,
                    kind + ": a block's inputs or classes are not the stream's");
        fuzz::append_piece(joined, block, valued, kind + " block");
      }
    } catch (const InputError& e) {
      fuzz::broken(kind + ": a block that open() checked is refused when read: " + e.what());
    }
    const std::string diff = fuzz::differs(joined, d);
    fuzz::check(diff.empty(), kind + ": the stream's blocks are not read_cache's rows: " + diff);
  }

  // The parts, joined in rank order.
  for (int procs = 1; procs <= 3; ++procs) {
    const PartsRead& r = in_parts[static_cast<std::size_t>(procs - 1)];
    const std::string what = kind + " in " + std::to_string(procs) + " parts";
    Dataset joined = d.empty_like("parts");
    for (int p = 0; p < procs; ++p) {
      const Dataset& part = *r.parts[static_cast<std::size_t>(p)];
      fuzz::check(part.rows == shard_rows(d.rows, static_cast<std::uint32_t>(procs),
                                          static_cast<std::uint32_t>(p))
                                   .size(),
                  what + ": a part is not shard_rows()'s rows");
      fuzz::check(part.inputs == d.inputs && part.class_names == d.class_names,
                  what + ": a part's inputs or classes are not read_cache's");
      fuzz::check(part.sparse.nnz() == 0 || part.sparse.binary() == d.sparse.binary(),
                  what + ": a part keeps values where read_cache does not, or the reverse");
      fuzz::append_piece(joined, part, valued, what);
    }
    const std::string diff = fuzz::differs(joined, d);
    fuzz::check(diff.empty(), what + ": the parts joined are not read_cache's rows: " + diff);
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::FdGuard fds;
  static const fuzz::CacheSources sources = fuzz::cache_sources();
  static const fs::path file =
      fs::temp_directory_path() / ("softreg-fuzz-cache-" + std::to_string(::getpid()));
  std::vector<std::uint8_t> bytes(data, data + size);
  if (size >= 8) {
    const std::uint64_t sum = XXH3_64bits(bytes.data(), size - 8);
    for (int b = 0; b < 8; ++b)
      bytes[size - 8 + static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(sum >> (8 * b));
  }
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(size));
  const std::size_t block = 1 + size % 128;
  if (read_every_way(file, sources.libsvm, block)) read_every_way(file, sources.text, block);
  return 0;
}
