// LIBSVM and text files read as a stream (SparseFileStream: --stream), in blocks of whole lines.
// The first byte picks the kind (bit 0), the text options (n-grams, 4 to 11 hash bits, weighting,
// norm) and the block size (its top two bits: 1, 13, 64 or 1024 bytes, tiny so that a file is
// many blocks and lines straddle the reads); the rest of the input is the file.
// Properties: the stream opens exactly when the whole file's loader (load_libsvm, load_text with
// the same options) reads the file, except a gzip'd file, which the loaders decompress and the
// stream refuses; its rows, inputs, stored values, binary flag and classes are the loader's; its
// blocks (each with rows, the stream's inputs and classes) joined in order are the loader's data
// set (offsets, columns, values, labels), on the first pass and again after rewind(); no reader
// leaves a file open.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "fuzz.hpp"
#include "rows.hpp"
#include "softreg/data.hpp"

using namespace softreg;
namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const fuzz::FdGuard fds;
  const std::uint8_t first = data[0];
  const bool text = (first & 1) != 0;
  const SparseFileStream::Kind kind =
      text ? SparseFileStream::Kind::text : SparseFileStream::Kind::libsvm;
  TextOptions o;
  o.ngrams = 1 + ((first >> 1) & 1);
  o.hash_bits = 4 + ((first >> 2) & 7);
  o.weighting =
      (first & 32) != 0 ? TextOptions::Weighting::log_count : TextOptions::Weighting::binary;
  o.l2_normalize = (first & 0x22) == 0x22;
  const std::size_t blocks[] = {1, 13, 64, 1024};
  const std::size_t block = blocks[first >> 6];
  const std::string what = std::string(text ? "text" : "LIBSVM") + " stream in blocks of " +
                           std::to_string(block) + " bytes";

  static const fs::path file =
      fs::temp_directory_path() / ("softreg-fuzz-stream-" + std::to_string(::getpid()));
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  const bool gzip = size >= 3 && data[1] == 0x1f && data[2] == 0x8b;

  std::optional<Dataset> whole;
  std::string whole_error;
  try {
    whole = text ? load_text(file, o) : load_libsvm(file);
  } catch (const InputError& e) {
    whole_error = e.what();
  }
  std::unique_ptr<SparseFileStream> stream;
  std::string stream_error;
  try {
    stream = std::make_unique<SparseFileStream>(file, kind, o, block);
  } catch (const InputError& e) {
    stream_error = e.what();
  }
  if (gzip) {
    fuzz::check(stream == nullptr, what + ": a gzip'd file is streamed");
    return 0;
  }
  if (!whole) {
    fuzz::check(stream == nullptr,
                what + ": opens a file the whole file's loader refuses (" + whole_error + ")");
    return 0;
  }
  if (stream == nullptr)
    fuzz::broken(what + ": refuses a file the whole file's loader reads (" + stream_error + ")");

  const Dataset& d = *whole;
  fuzz::check(stream->rows() == d.rows && stream->inputs() == d.inputs &&
                  stream->nnz() == d.sparse.nnz() && stream->binary() == d.sparse.binary(),
              what + ": its rows, inputs, nnz or binary flag are not the loader's");
  fuzz::check(stream->classes() == d.class_names, what + ": its classes are not the loader's");
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) stream->rewind();
    Dataset joined = d.empty_like("blocks");
    Dataset b;
    try {
      while (stream->next(b)) {
        fuzz::check(b.rows > 0, what + ": a block without rows");
        fuzz::check(b.inputs == d.inputs && b.class_names == d.class_names,
                    what + ": a block's inputs or classes are not the stream's");
        fuzz::append_piece(joined, b, !d.sparse.binary(), what);
      }
    } catch (const InputError& e) {
      fuzz::broken(what + ": a block of a file the stream opened is refused: " + e.what());
    }
    const std::string diff = fuzz::differs(joined, d);
    fuzz::check(diff.empty(), what + ": its blocks joined are not the loader's rows: " + diff +
                                  (pass == 1 ? " (after rewind)" : ""));
  }
  return 0;
}
