// Data sets: what a loader returns and the loaders themselves. Every file is untrusted: a loader
// checks magic numbers, counts, dimensions and sizes before it allocates, and its errors
// (softreg::InputError) name the file, what was expected and what was found.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "softreg/comm.hpp"
#include "softreg/random.hpp"

namespace softreg {

/// Compressed sparse rows: row i's features are at columns cols[offsets[i] .. offsets[i + 1]),
/// strictly increasing within the row, with values vals[...] at the same places, or all 1 when
/// vals is empty (a binary data set: 4 bytes a stored value instead of 8).
struct SparseRows {
  std::vector<std::uint64_t> offsets;  // rows + 1, offsets[0] = 0
  std::vector<std::uint32_t> cols;
  std::vector<float> vals;  // nnz, or empty: every stored value is 1

  std::size_t nnz() const { return cols.size(); }
  bool binary() const { return vals.empty(); }
  /// The bytes the three arrays hold.
  std::size_t bytes() const {
    return offsets.size() * sizeof(std::uint64_t) + cols.size() * sizeof(std::uint32_t) +
           vals.size() * sizeof(float);
  }
};

/// A labelled data set of `rows` examples with `inputs` features each, in one of three storages.
/// Images keep their bytes (uint8, 47 MB for Fashion-MNIST's training set, a quarter of a float
/// copy) and are scaled by `scale` (1/255) one batch at a time; tables keep floats and have scale
/// 1; sparse data (LIBSVM files, text) keeps compressed rows and is never densified.
struct Dataset {
  std::size_t rows = 0;
  std::size_t inputs = 0;
  std::vector<std::uint8_t> pixels;  // rows x inputs when the features are bytes
  std::vector<float> values;         // rows x inputs when they are dense floats
  SparseRows sparse;                 // when they are sparse: offsets has rows + 1 entries
  float scale = 1.0f;                // feature = stored value * scale
  std::vector<std::int32_t> labels;  // rows class indices in [0, classes())
  std::vector<double> weights;       // rows sample weights (CSV --sample-weight), or empty: all 1
  std::vector<std::size_t> shape;    // the shape of one example, e.g. {28, 28}
  std::vector<std::string> class_names;
  std::vector<std::string> feature_names;  // tables: the header's names of the feature columns
  std::string source;                      // where it came from, for messages

  std::size_t classes() const { return class_names.size(); }
  bool is_sparse() const { return !sparse.offsets.empty(); }
  bool is_bytes() const { return !is_sparse() && (!pixels.empty() || values.empty()); }
  /// Keeps only the first n examples (n ≤ rows).
  void keep_first(std::size_t n);
  /// An empty data set of this one's storage, inputs, scale, shape, names and classes.
  Dataset empty_like(std::string part_source) const;
  /// Appends row i of `from` (of the same storage and inputs): features, label, weight.
  void append_row(const Dataset& from, std::size_t i);
  /// The bytes the features take in memory.
  std::size_t feature_bytes() const;
};

/// XXH3-64 of everything a data set holds that training reads: its rows, inputs, scale, labels,
/// sample weights, class names and features (not its source or feature names). A checkpoint
/// records it to refuse resuming on other data.
std::uint64_t fingerprint(const Dataset& data);

/// A fingerprint that parts of a data set add up to, whoever reads them: the sum, modulo 2^64,
/// of one XXH3-64 per row of its global index, storage, scale, features, label and weight. A
/// process holding rows first_row, first_row + 1, ... of the whole gives its part's sum; the
/// parts' sums added (in any order) are the whole set's, and fingerprint_of_rows seals that with
/// the set's row count, inputs and class names. Checkpoints record it, so that a run across any
/// number of processes can check the data it resumes on (docs/formats.md, "Checkpoints").
std::uint64_t rows_fingerprint(const Dataset& part, std::uint64_t first_row);
std::uint64_t fingerprint_of_rows(std::uint64_t rows, std::uint64_t rows_sum, std::size_t inputs,
                                  const std::vector<std::string>& class_names);

/// XXH3-64 of a file's bytes, read in 1 MB pieces (a streamed training file's fingerprint);
/// InputError naming it when it cannot be read.
std::uint64_t file_fingerprint(const std::filesystem::path& file);

/// An IDX array (LeCun's MNIST format): big-endian dimensions, then unsigned bytes.
struct IdxArray {
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> data;
};

/// The bytes of a file; InputError naming it when it cannot be read.
std::vector<std::uint8_t> read_file(const std::filesystem::path& file);

/// True when `bytes` start with the gzip magic 1f 8b.
bool is_gzip(std::span<const std::uint8_t> bytes);

/// Deflate cannot shrink data by more than this factor, so no gzip member of n bytes holds more
/// than about 1032 n bytes: a larger claim is a lie, and bounds what decompression may allocate.
inline constexpr std::size_t kMaxDeflateRatio = 1032;

/// Decompresses gzip data, every member (as `cat a.gz b.gz` makes); `name` names it in errors
/// (InputError). The output may hold at most `max_bytes`: decompression stops as soon as it would
/// pass them, with the error `too_much` (by default, that the data decompresses to more).
/// Memory: the output and at most as much again while it grows; never more than the data holds.
std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> bytes, const std::string& name,
                                 std::size_t max_bytes = SIZE_MAX, std::string_view too_much = "");

/// The first `n` bytes that `bytes` decompress to (fewer when they hold fewer), decompressing
/// little more than those: what a header must say before the rest is allowed for.
std::vector<std::uint8_t> gunzip_prefix(std::span<const std::uint8_t> bytes,
                                        const std::string& name, std::size_t n);

/// Reads a whole file, decompressing it when it starts with the gzip magic (so both
/// "x.gz" and a raw "x" work whatever their names say).
std::vector<std::uint8_t> read_file_maybe_gzip(const std::filesystem::path& file);

/// Loads an IDX file of unsigned bytes (type 0x08), gzip-compressed or raw. `expected_dims`, when
/// not 0, is the number of dimensions the caller needs (3 for images, 1 for labels).
IdxArray load_idx(const std::filesystem::path& file, std::size_t expected_dims = 0);

/// Parses the bytes of an IDX file (gzip'd or raw), as load_idx does; `name` names it in errors.
/// Memory: the data the header claims, which must be in the file; for gzip, decompression stops
/// at that size, and a claim beyond kMaxDeflateRatio times the file is refused before allocating.
IdxArray parse_idx(std::vector<std::uint8_t> bytes, const std::string& name,
                   std::size_t expected_dims = 0);

/// Fashion-MNIST's classes in label order.
const std::array<std::string_view, 10>& fashion_mnist_classes();

/// The folder to read Fashion-MNIST from when none is given: $SOFTREG_DATA when set, else the
/// folder of Debian's package dataset-fashion-mnist.
std::filesystem::path default_fashion_mnist_dir();

struct TrainTest {
  Dataset train;
  Dataset test;
};

/// Loads the four Fashion-MNIST files from `dir`, each either gzip-compressed or raw and named in
/// either style: train-images-idx3-ubyte[.gz] or train-images.idx3-ubyte[.gz] (likewise
/// train-labels, t10k-images, t10k-labels). Checks that counts agree, labels are < 10 and train and
/// test images have the same dimensions.
TrainTest load_fashion_mnist(const std::filesystem::path& dir);

/// Only the test set (t10k-images, t10k-labels) of the folder, checked as above: what eval and
/// show need, without decoding the 47 MB of training images.
Dataset load_fashion_mnist_test(const std::filesystem::path& dir);

// ------------------------------------------------------------------------------------ tables

/// The most classes a data set or model may have (docs/security.md): a label column with more
/// distinct values is refused as it is read, before it costs more memory or time.
inline constexpr std::size_t kMaxClasses = 65536;
/// The most bytes one line (one CSV record, one LIBSVM row, one document) may hold, on every
/// path that reads lines: whole files, parts, streams and standard input.
inline constexpr std::size_t kMaxLineBytes = std::size_t{1} << 26;
/// The most bytes read from standard input (--text -): it is read whole.
inline constexpr std::size_t kMaxStdinBytes = std::size_t{1} << 32;
/// "line N: longer than the 64 MiB a line may hold", for the loaders' messages.
std::string line_too_long(std::size_t line);
/// Whether `s` is valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF); where
/// it is not, `bad_at` is the offset of the first byte that is not.
bool valid_utf8(std::string_view s, std::size_t* bad_at = nullptr);
/// `s` with every byte that is not part of valid UTF-8 written as \xNN: text that JSON, XML and
/// Python can hold, for paths in metadata and for untrusted text in messages.
std::string escaped_utf8(std::string_view s);

/// The most columns a CSV file may have (a wider table is better read as LIBSVM).
inline constexpr std::size_t kMaxCsvColumns = std::size_t{1} << 20;

/// How to read a CSV file.
struct CsvOptions {
  /// The label column's name; empty: the last column.
  std::string label;
  /// The separator: ',', ';' or '\t'; 0: detected from the header (the most frequent of the
  /// three outside quotes, ',' on a tie).
  char separator = 0;
  /// When not empty, the classes to map labels to (a model's); a label outside them is an
  /// error. When empty, the classes are the distinct labels, in numeric order when every label
  /// is an integer, else in byte (alphabetical) order.
  std::vector<std::string> class_names;
  /// When false, a file without the label column is read as features only (labels empty), as
  /// `predict` needs.
  bool require_label = true;
  /// With require_label false and no `label` name: the number of features a model expects. A
  /// header of features + 1 columns is then the training file's layout, and its last column is
  /// taken as the label.
  std::size_t features = 0;
  /// When not empty, the column of sample weights (`--sample-weight`): read into
  /// Dataset::weights, not a feature; each weight a finite number >= 0, not all of them 0.
  std::string weight_column;
  /// With weight_column: false when the column may be absent (a model's data to evaluate).
  bool require_weights = true;
};

/// Reads a CSV file (RFC 4180: a header row, quoted fields with "" for a quote, CRLF or LF) of
/// numeric features and one label column into a Dataset of floats. Errors name the file, the
/// line and the column: ragged rows, an empty, non-numeric, NaN or infinite feature, an empty
/// file, a header without rows, a missing label column, a single class.
Dataset load_csv(const std::filesystem::path& file, const CsvOptions& options = {});

/// Parses CSV text as load_csv does; `name` names it in errors and becomes the data's source.
/// `first_line`, when not 0, says the text is the header followed by a part of a file's rows
/// whose first line is that line (load_csv_part): messages count from it, and a part without
/// rows, of one class or whose sample weights are all 0 is not an error.
Dataset parse_csv(std::string_view text, const std::string& name, const CsvOptions& options = {},
                  std::size_t first_line = 0);

/// The most features sparse data may have: column indices are 32-bit, so LIBSVM's 1-based
/// indices run to 2³² − 1.
inline constexpr std::size_t kMaxSparseFeatures = (std::size_t{1} << 32) - 1;

/// Reads LIBSVM/liblinear's sparse format, one example a line: `label index:value ...` with
/// 1-based, strictly increasing indices, into compressed sparse rows (never densified; a file
/// whose every value is 1 keeps no values). Zeros written in the file are kept. Tokens are
/// separated by spaces, tabs, CR, VT or FF; `#` starts a comment to the end of the line. `inputs`,
/// when not 0, fixes the number of features (a model's); otherwise it is the largest index. Labels
/// map to classes as in CsvOptions::class_names. With keep_labels false the labels are required by
/// the format but not used (labels empty): liblinear's files to predict often carry placeholders.
Dataset load_libsvm(const std::filesystem::path& file, std::size_t inputs = 0,
                    const std::vector<std::string>& class_names = {}, bool keep_labels = true);

/// Parses LIBSVM text as load_libsvm does; `name` names it in errors.
/// `first_line`, when not 0, says the text is a part of a file (SparseFileStream's blocks) whose
/// first line is that line: messages count from it, and a part without rows (or, with inputs 0,
/// without features) is not an error.
Dataset parse_libsvm(std::string_view text, const std::string& name, std::size_t inputs = 0,
                     const std::vector<std::string>& class_names = {}, bool keep_labels = true,
                     std::size_t first_line = 0);

// ------------------------------------------------------------------------------------ text

/// How text becomes sparse rows (docs/formats.md, "Text features"): the model records these, so
/// predict and eval rebuild the same features.
struct TextOptions {
  /// Word n-grams from 1 to `ngrams` (1: words only).
  int ngrams = 2;
  /// Features are hashed into 2^hash_bits columns (1 to 31).
  int hash_bits = 18;
  /// A feature's value: 1 when present (binary), or log(1 + its count in the document).
  enum class Weighting { binary, log_count } weighting = Weighting::binary;
  /// Each document's row scaled to Euclidean length 1 (when it has any feature).
  bool l2_normalize = false;
  /// The seed of the hash, XXH3-64.
  std::uint64_t seed = 0;

  std::size_t columns() const { return std::size_t{1} << hash_bits; }
};

/// The tokeniser's version, recorded in models: a change to how words are cut is a new version.
inline constexpr std::string_view kTokenizerVersion = "softreg-words-1";
/// The most n-gram length and the range of hash bits that TextOptions may hold.
inline constexpr int kMaxNgrams = 5;
inline constexpr int kMaxHashBits = 31;

/// XXH3-64 of `bytes` with `seed` (xxHash 0.8's XXH3_64bits_withSeed): the feature hash.
std::uint64_t text_hash(std::string_view bytes, std::uint64_t seed);

/// A document's words: ASCII letters lowercased; a word is a maximal run of ASCII letters and
/// digits and bytes from 0x80 up (UTF-8's multi-byte characters, kept as they are, valid or not);
/// every other byte separates words. `__label__` tokens are not part of the text (parse_text
/// takes them out first).
std::vector<std::string> text_words(std::string_view document);

/// A document's features: every n-gram of 1 to options.ngrams consecutive words, written as the
/// words joined by one space, hashed to column text_hash(ngram, seed) mod 2^hash_bits; values by
/// the weighting (counts merged per column), then the row's L2 normalisation. Sorted by column.
std::vector<std::pair<std::uint32_t, float>> text_features(std::string_view document,
                                                           const TextOptions& options);

/// The text features a model records (its `text_features` note), or nullopt for a model of
/// another kind; InputError naming `file` when the note is malformed.
std::optional<TextOptions> model_text_options(const std::map<std::string, std::string>& notes,
                                              const std::string& file);

/// The note that records `o` in a model: JSON with the tokeniser, n-grams, hash, seed, bits,
/// weighting and normalisation (docs/formats.md).
std::string text_options_note(const TextOptions& o);

/// Reads fastText's format, one document a line: tokens separated by ASCII white space; a token
/// `__label__NAME` anywhere on the line is a label: the first is the document's class, any more
/// are ignored (softreg is single-label); the other tokens are the text. A blank line is skipped.
/// A line without a label is an error at its line when `require_label`, else read unlabelled
/// (predict); a label without text is a document without features. Labels map to classes as in
/// CsvOptions::class_names. `name` names the text in errors.
/// `first_line` as for parse_libsvm.
Dataset parse_text(std::string_view text, const std::string& name, const TextOptions& options,
                   const std::vector<std::string>& class_names = {}, bool require_label = true,
                   std::size_t first_line = 0);

/// parse_text of a file (gzip'd or not); "-" reads standard input.
Dataset load_text(const std::filesystem::path& file, const TextOptions& options,
                  const std::vector<std::string>& class_names = {}, bool require_label = true);

// ------------------------------------------------------------------------------------ streams

/// Sparse rows read in blocks, never held whole: what SGD trains on with --stream
/// (Trainer::fit_stream). The whole was checked when the stream was opened.
class SparseStream {
 public:
  virtual ~SparseStream() = default;
  virtual std::size_t rows() const = 0;
  virtual std::size_t inputs() const = 0;
  /// Stored values, and whether every one is 1 (binary: no values kept).
  virtual std::uint64_t nnz() const = 0;
  virtual bool binary() const = 0;
  virtual const std::vector<std::string>& classes() const = 0;
  virtual const std::string& name() const = 0;
  /// Back to the first row.
  virtual void rewind() = 0;
  /// The next block's rows, labelled with classes(); false (and `block` empty) at the end.
  virtual bool next(Dataset& block) = 0;
};

/// A LIBSVM or text file read in blocks of whole lines. Uncompressed files only.
class SparseFileStream : public SparseStream {
 public:
  enum class Kind { libsvm, text };
  /// Reads the file once to check every line as its loader does, count the rows, collect the
  /// classes (ordered as the loaders order them) and, for LIBSVM, find the largest index.
  /// `block_bytes`: the text read at a time (a longer line is read whole).
  SparseFileStream(const std::filesystem::path& file, Kind kind, const TextOptions& text = {},
                   std::size_t block_bytes = std::size_t{1} << 20);
  ~SparseFileStream();
  SparseFileStream(const SparseFileStream&) = delete;
  SparseFileStream& operator=(const SparseFileStream&) = delete;

  std::size_t rows() const override { return rows_; }
  std::size_t inputs() const override { return inputs_; }
  std::uint64_t nnz() const override { return nnz_; }
  bool binary() const override { return binary_; }
  const std::vector<std::string>& classes() const override { return classes_; }
  const std::string& name() const override { return name_; }
  void rewind() override;
  bool next(Dataset& block) override;

 private:
  // The next whole lines into `text`, their first line number into `first`; false at the end.
  bool read_lines(std::string& text, std::size_t& first);
  Dataset parse(const std::string& text, std::size_t first, bool known) const;

  std::string name_;
  Kind kind_;
  TextOptions text_;
  std::size_t block_bytes_;
  int fd_ = -1;
  std::string pending_;  // read past the last whole line
  bool eof_ = false;
  std::size_t line_ = 1;  // the number of the next line
  std::size_t rows_ = 0, inputs_ = 0;
  std::uint64_t nnz_ = 0;
  bool binary_ = true;
  std::vector<std::string> classes_;
};

// ------------------------------------------------------------------------------------ caches

/// What a cache was made from: the loader (`libsvm` or `text`), the source file (absolute path,
/// size, modification time) and, for text, the features' options (a model's text_features note).
/// A cache of another key is stale.
struct CacheKey {
  std::string kind;
  std::string source;
  std::uint64_t source_bytes = 0;
  std::int64_t source_mtime_ns = 0;
  std::string text_features;
};

/// The key of `source` as it is now.
CacheKey cache_key_of(const std::filesystem::path& source, std::string kind,
                      std::string text_features = "");

/// Writes the sparse data set `d` to `file` (docs/formats.md, "Caches"; atomically, no copy of
/// the rows made): a header with the key, rows, inputs, classes; the labels, offsets, columns
/// and values as they are in memory; an XXH3-64 checksum of all of it.
void write_cache(const std::filesystem::path& file, const Dataset& d, const CacheKey& key);

/// The same for the rows of a stream, written as they come (memory: one block).
void write_cache(const std::filesystem::path& file, SparseStream& stream, const CacheKey& key);

/// The data set in `file`, memory-mapped, checked (checksum, sizes, offsets, columns, labels,
/// values) and copied out; nullopt when the cache is of another key (stale). InputError naming
/// the file when it is not a valid cache (truncated, altered, not a cache).
std::optional<Dataset> read_cache(const std::filesystem::path& file, const CacheKey& key);

class Comm;
/// Across processes (--cache with mpirun): this process's rows of the cache, shard_rows() of
/// them, and nothing else of it read but the header and 1/P of the file for the checksum, which
/// the processes compute in turn, each going on from its predecessor's state. nullopt when the
/// cache is of another key (stale), on every process; an InputError on any process ends every
/// one of them (agree_on_errors).
std::optional<Dataset> read_cache_part(const std::filesystem::path& file, const CacheKey& key,
                                       const Comm& comm);

/// A cache read in blocks of rows (about `block_bytes` each; a longer row is read whole), never
/// held whole: --stream with --cache. Opening reads the file through once to check its checksum
/// and every block's rows as read_cache does; each block is checked again when it is read.
class SparseCacheStream : public SparseStream {
 public:
  /// nullptr when the cache is of another key (stale); InputError when it is not a valid cache.
  static std::unique_ptr<SparseCacheStream> open(const std::filesystem::path& file,
                                                 const CacheKey& key,
                                                 std::size_t block_bytes = std::size_t{1} << 20);
  ~SparseCacheStream() override;
  SparseCacheStream(const SparseCacheStream&) = delete;
  SparseCacheStream& operator=(const SparseCacheStream&) = delete;

  std::size_t rows() const override;
  std::size_t inputs() const override;
  std::uint64_t nnz() const override;
  bool binary() const override;
  const std::vector<std::string>& classes() const override;
  const std::string& name() const override { return name_; }
  void rewind() override { row_ = 0; }
  bool next(Dataset& block) override;

  struct Layout;  // the header's figures and where each piece starts (cache.cpp)

 private:
  SparseCacheStream(std::string name, int fd, std::unique_ptr<Layout> layout,
                    std::size_t block_bytes);
  std::string name_;
  int fd_;
  std::unique_ptr<Layout> layout_;
  std::size_t block_rows_;
  std::size_t row_ = 0;       // the next block's first row
  std::uint64_t widest_ = 0;  // the largest column + 1 of the blocks read so far
};

/// Per-feature mean and standard deviation (population, divide by n) of a table.
struct Standardization {
  std::vector<float> mean;
  std::vector<float> stddev;  // 0 for a constant feature, which is then only centred

  bool empty() const { return mean.empty(); }
};

/// The mean and standard deviation of each feature of `data` (a table of floats).
Standardization fit_standardization(const Dataset& data);

/// x_j <- (x_j - mean_j) / stddev_j in place; a feature with stddev 0 is only centred (divided
/// by 1), so constant features never divide by zero.
void standardize(Dataset& data, const Standardization& s);

/// Sharding (data-parallel training, one part per process): which examples part `part` of
/// `parts` reads. Rows of a file of fixed-size records (IDX, caches): part p of P holds rows
/// [⌊p n / P⌋, ⌊(p + 1) n / P⌋), so the parts tile [0, n) in order, each within one row of n / P.
struct RowRange {
  std::uint64_t begin = 0, end = 0;
  std::uint64_t size() const { return end - begin; }
};
RowRange shard_rows(std::uint64_t rows, std::uint32_t parts, std::uint32_t part);

/// Lines of a text file (CSV, LIBSVM, fastText): the bytes [begin, end) of whole lines. The body
/// [body_begin, file size) (after a CSV's header line) is cut at ⌊p N / P⌋ like rows, and each cut
/// moved forward to the start of the next line, so that a line belongs to the part its first byte
/// falls in: every line is read by exactly one part, in file order, however long the lines are
/// (a part may hold none) and whether they end in \n or \r\n (or the last in nothing). Reads
/// only the bytes from each cut to the next \n. InputError naming the file when it cannot be
/// read.
struct ByteRange {
  std::uint64_t begin = 0, end = 0;
  std::uint64_t size() const { return end - begin; }
};
ByteRange shard_lines(const std::filesystem::path& file, std::uint64_t body_begin,
                      std::uint32_t parts, std::uint32_t part);

/// Reading in parts (issue 22; docs/formats.md, "Read in parts"): each process of a
/// data-parallel run reads only its part of a file, and every process calls the loader at once.
/// An InputError in any process's part ends every process with the same error, "process R:
/// FILE: ..." (agree_on_errors). Memory: the part, and pieces of 1 MB.

/// The items [begin, end) along the first dimension of an IDX file of unsigned bytes (dims are
/// the whole file's; data holds only the part), `part` choosing them from the header's dims.
/// Reads the header and those items: a raw file at their offset (its size must be what the
/// header claims), a gzip'd one decompressed as a stream up to their end and dropped before
/// their start (the part that ends at the last item also checks that nothing follows).
IdxArray load_idx_part(const std::filesystem::path& file, std::size_t expected_dims,
                       const std::function<RowRange(const std::vector<std::size_t>& dims)>& part);

/// Fashion-MNIST in parts: this process's training rows are the whole stripes objective_rows()
/// gives it for a model of `outputs` outputs, its test rows shard_rows()'s; checked as
/// load_fashion_mnist checks the whole.
TrainTest load_fashion_mnist_part(const std::filesystem::path& dir, const Comm& comm,
                                  std::size_t outputs);

/// A CSV file in parts: every process reads the header and the lines of its shard_lines() byte
/// range of the body (uncompressed; a quoted field may not hold a line end where the file is cut),
/// parses them as load_csv does, and the classes (and the all-zero test of the sample weights)
/// are agreed over every part. With `outputs` (a training set: the model's outputs for the
/// classes found) the rows are then moved to the whole stripes objective_rows() gives each
/// process for such a model: every process all-gathers the rows it holds outside its stripes.
Dataset load_csv_part(const std::filesystem::path& file, const CsvOptions& options,
                      const Comm& comm,
                      const std::function<std::size_t(std::size_t classes)>& outputs = {});

/// A LIBSVM or text file in parts: this process reads the lines of its shard_lines() byte range
/// (uncompressed files only) and gets their rows, labelled with the classes of every part
/// ordered as the whole file's loader orders them (or with `class_names`, a model's), with the
/// features of every part (LIBSVM: the largest index of any, unless `inputs` is given). Error
/// messages give the line's number in the whole file.
enum class SparseFormat { libsvm, text };
Dataset load_sparse_part(const std::filesystem::path& file, SparseFormat format,
                         const TextOptions& text, const Comm& comm,
                         const std::vector<std::string>& class_names = {}, std::size_t inputs = 0);

/// The rows to hold out of rows labelled `labels` (in [0, classes)), stratified: each class
/// holds out round(F n_c) of its n_c rows, chosen by `rng` (1 for a held-out row, else 0).
/// InputError naming `option` unless 0 < F < 1.
std::vector<std::uint8_t> stratified_held_out(std::span<const std::int32_t> labels,
                                              std::size_t classes, double fraction, Rng& rng,
                                              const std::string& option);

/// Splits `data` into train and test, stratified: each class gives round(F n_c) of its n_c
/// examples to the test set, chosen by `rng`; each part keeps the file's order. The training
/// part is `data` itself, compacted in place: pass it by move to split without a second copy.
/// `option` names the fraction in errors.
TrainTest stratified_split(Dataset data, double test_fraction, Rng& rng,
                           const std::string& option = "`test_split`");

}  // namespace softreg
