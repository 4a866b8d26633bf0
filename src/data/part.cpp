// Data sets read in parts, one per process of a data-parallel run (data.hpp, "Parts"): IDX rows
// at their offset (or decompressed as a stream up to them), LIBSVM and text lines of a byte range,
// with the classes and features every part agrees on.
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "load.hpp"
#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/objective.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

// A file's bytes from the start, decompressed when it is gzip data (every member), read in
// pieces of 1 MB: memory is the pieces, whatever the file's size.
class ByteStream {
 public:
  explicit ByteStream(const fs::path& file)
      : name_(file.string()), file_(file), size_(file_.size()), input_(1 << 20) {
    std::vector<char> magic(2);
    gzip_ = file_.read_at(0, magic) == 2 && magic[0] == '\x1f' && magic[1] == '\x8b';
    if (gzip_ && inflateInit2(&z_, 16 + 15) != Z_OK)
      throw Error("out of memory allocating a gzip decoder");
    if (!gzip_ && file.extension() == ".gz")
      fail(file,
           "expected gzip data (the name ends in .gz) but the file does not start with 1f 8b");
  }
  ~ByteStream() {
    if (gzip_) inflateEnd(&z_);
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  bool gzip() const { return gzip_; }
  std::uint64_t file_size() const { return size_; }

  // Up to n bytes into out; fewer only at the end of the data.
  std::size_t read(std::uint8_t* out, std::size_t n) {
    if (!gzip_) {
      std::size_t got = 0;
      std::vector<char> piece;
      while (got < n && offset_ < size_) {
        piece.resize(std::min<std::size_t>(n - got, 1 << 20));
        const std::size_t k = file_.read_at(offset_, piece);
        if (k == 0) break;
        std::copy(piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(k), out + got);
        got += k;
        offset_ += k;
      }
      return got;
    }
    std::size_t got = 0;
    while (got < n && !ended_) {
      if (z_.avail_in == 0) refill();  // none left at the end of the file: inflate says the rest
      z_.next_out = out + got;
      z_.avail_out = static_cast<uInt>(std::min<std::size_t>(n - got, 1u << 30));
      const uInt before = z_.avail_out;
      const int r = inflate(&z_, Z_NO_FLUSH);
      const std::size_t produced = before - z_.avail_out;
      got += produced;
      if (r == Z_STREAM_END) {
        // Another member follows when the next bytes are gzip's magic.
        if (z_.avail_in == 0) refill();
        if (z_.avail_in == 1) refill_keeping_one();
        if (z_.avail_in >= 2 && z_.next_in[0] == 0x1f && z_.next_in[1] == 0x8b)
          inflateReset(&z_);
        else if (z_.avail_in == 0)
          ended_ = true;
        else
          fail(name_,
               "unexpected bytes after the gzip data: expected another gzip member (1f "
               "8b) or the end of the file");
      } else if (r != Z_OK && r != Z_BUF_ERROR) {
        fail(name_, "corrupt gzip data (" + std::string(z_.msg ? z_.msg : "inflate failed") + ")");
      } else if (produced == 0 && z_.avail_in == 0 && in_offset_ >= size_) {
        break;  // the file ends inside a compressed stream: the caller says what is missing
      }
    }
    return got;
  }

  // Reads and drops n bytes; false when the data ends first.
  bool skip(std::uint64_t n) {
    if (!gzip_) {
      offset_ += n;
      return offset_ <= size_;
    }
    std::vector<std::uint8_t> sink(1 << 20);
    while (n > 0) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, sink.size()));
      const std::size_t got = read(sink.data(), want);
      n -= got;
      if (got < want) return false;
    }
    return true;
  }

  // True when no byte of data follows; a gzip stream must also have ended (its trailer read and
  // checked), else the file is truncated.
  bool at_end() {
    std::uint8_t b = 0;
    if (read(&b, 1) != 0) return false;
    if (gzip_ && !ended_)
      fail(name_, "truncated gzip data: the file ends inside a compressed stream");
    return true;
  }

 private:
  // One byte of input left: it and the next piece together (a member's magic may straddle).
  void refill_keeping_one() {
    if (in_offset_ >= size_) return;
    std::vector<char> piece(1 << 20);
    const std::size_t k = file_.read_at(in_offset_, piece);
    input_.assign(1, static_cast<char>(*z_.next_in));
    input_.insert(input_.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(k));
    in_offset_ += k;
    z_.next_in = reinterpret_cast<Bytef*>(input_.data());
    z_.avail_in = static_cast<uInt>(input_.size());
  }
  bool refill() {
    if (in_offset_ >= size_) return false;
    input_.resize(1 << 20);
    const std::size_t k = file_.read_at(in_offset_, input_);
    if (k == 0) return false;
    in_offset_ += k;
    z_.next_in = reinterpret_cast<Bytef*>(input_.data());
    z_.avail_in = static_cast<uInt>(k);
    return true;
  }
  std::string name_;
  ReadOnlyFile file_;
  std::uint64_t size_;
  bool gzip_ = false, ended_ = false;
  std::uint64_t offset_ = 0, in_offset_ = 0;
  std::vector<char> input_;
  z_stream z_{};
};

// The bytes [begin, end) of a file.
std::string read_range(const ReadOnlyFile& f, const std::string& name, std::uint64_t begin,
                       std::uint64_t end) {
  std::string bytes;
  std::vector<char> piece(1 << 20);
  while (begin + bytes.size() < end) {
    piece.resize(
        static_cast<std::size_t>(std::min<std::uint64_t>(end - begin - bytes.size(), 1 << 20)));
    const std::size_t k = f.read_at(begin + bytes.size(), piece);
    if (k == 0) fail(name, "the file ended while it was read (did it change?)");
    bytes.append(piece.data(), k);
  }
  return bytes;
}

// InputError unless `f` is uncompressed: a part of a deflate stream cannot be read alone.
void refuse_gzip(const ReadOnlyFile& f, const std::string& name) {
  std::vector<char> magic(2);
  if (f.read_at(0, magic) == 2 && magic[0] == '\x1f' && magic[1] == '\x8b')
    fail(name,
         "gzip data: across processes each reads its own lines, so give the file "
         "uncompressed");
}

// Labels of every part mapped to the classes of every part, ordered as one loader orders the
// labels of the whole file (LabelReader; `column` names the labels in its errors).
void agree_on_classes(Dataset& d, const Comm& comm, const std::string& name,
                      const std::string& column) {
  // Each label as its length (8 bytes) and its bytes: a CSV label may hold any byte.
  std::string mine;
  for (const std::string& c : d.class_names) {
    const std::uint64_t n = c.size();
    mine.append(reinterpret_cast<const char*>(&n), sizeof n).append(c);
  }
  LabelReader all(name, {}, column);
  for (const std::string& part : allgather_strings(comm, mine))
    for (std::size_t at = 0; at + sizeof(std::uint64_t) <= part.size();) {
      std::uint64_t n = 0;
      std::memcpy(&n, part.data() + at, sizeof n);
      all.add(std::string_view(part).substr(at + sizeof n, n), 0);
      at += sizeof n + n;
    }
  std::vector<std::string> classes;
  all.finish(classes);
  std::vector<std::int32_t> to_global(d.class_names.size());
  for (std::size_t c = 0; c < d.class_names.size(); ++c)
    to_global[c] = static_cast<std::int32_t>(
        std::find(classes.begin(), classes.end(), d.class_names[c]) - classes.begin());
  for (std::int32_t& y : d.labels) y = to_global[static_cast<std::size_t>(y)];
  d.class_names = std::move(classes);
}

}  // namespace

IdxArray load_idx_part(const fs::path& file, std::size_t expected_dims,
                       const std::function<RowRange(const std::vector<std::size_t>& dims)>& part) {
  const std::string name = file.string();
  ByteStream in(file);
  std::vector<std::uint8_t> head(4);
  head.resize(in.read(head.data(), 4));
  if (head.empty()) fail(name, "empty file: expected an IDX header");
  if (head.size() < 4)
    fail(name, "file too short for an IDX header: expected at least 4 bytes but found " +
                   std::to_string(head.size()));
  if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 ||
      (expected_dims != 0 ? head[3] != expected_dims : head[3] == 0))
    return parse_idx(head, name, expected_dims);  // throws, with the whole loader's message
  const std::size_t header = 4 + 4 * std::size_t{head[3]};
  head.resize(header);
  if (in.read(head.data() + 4, header - 4) != header - 4)
    fail(name, "truncated IDX header: expected " + std::to_string(header) + " bytes");
  IdxArray a;
  std::size_t items = 1;
  for (std::size_t i = 4; i < header; i += 4) a.dims.push_back(read_be32(head.data() + i));
  // What the header claims, bounded before anything is allocated for it: the raw file's size,
  // or kMaxDeflateRatio times the gzip file's.
  const std::uint64_t most = in.gzip()
                                 ? in.file_size() * kMaxDeflateRatio + 1024
                                 : in.file_size() - std::min<std::uint64_t>(header, in.file_size());
  if (std::find(a.dims.begin(), a.dims.end(), 0) != a.dims.end()) {
    items = 0;  // a dimension of 0: no data, whatever the others say
  } else {
    for (const std::size_t dim : a.dims) {
      if (items > most / dim)
        fail(name, "header claims " + dims_text(a.dims, 0) +
                       " bytes of data but the file holds at most " + std::to_string(most));
      items *= dim;
    }
  }
  if (!in.gzip() && items != most)
    fail(name, "header claims " + dims_text(a.dims, 0) + " = " + std::to_string(items) +
                   " bytes of data but the file holds " + std::to_string(most));
  const std::size_t rows = a.dims[0];
  const std::size_t item = rows == 0 ? 0 : items / rows;
  const RowRange mine = part(a.dims);
  if (mine.begin > mine.end || mine.end > rows) throw std::invalid_argument("load_idx_part: rows");
  if (!in.skip(mine.begin * item))
    fail(name, "the data ends before item " + std::to_string(mine.begin) + " of the " +
                   std::to_string(rows) + " the header claims");
  a.data.resize(mine.size() * item);
  if (in.read(a.data.data(), a.data.size()) != a.data.size())
    fail(name, "the data ends before item " + std::to_string(mine.end) + " of the " +
                   std::to_string(rows) + " the header claims");
  if (mine.end == rows && in.gzip() && !in.at_end())
    fail(name, "header claims " + dims_text(a.dims, 0) + " = " + std::to_string(items) +
                   " bytes of data but the file holds more");
  return a;
}

namespace {

// Items [part] of an IDX images file and its labels file, as the whole loader checks them.
Dataset images_and_labels_part(
    const fs::path& images_file, const fs::path& labels_file,
    const std::function<RowRange(std::size_t rows, std::size_t inputs)>& choose) {
  std::size_t image_rows = 0;
  RowRange mine;
  IdxArray images = load_idx_part(images_file, 3, [&](const std::vector<std::size_t>& dims) {
    image_rows = dims[0];
    if (image_rows == 0) fail(images_file, "no images: expected at least 1 but the header says 0");
    return mine = choose(dims[0], dims[1] * dims[2]);
  });
  IdxArray labels = load_idx_part(labels_file, 1, [&](const std::vector<std::size_t>& dims) {
    if (dims[0] != image_rows)
      fail(images_file, "image count " + std::to_string(image_rows) + " but labels file " +
                            labels_file.filename().string() + " has " + std::to_string(dims[0]));
    return mine;
  });
  return fashion_mnist_rows(std::move(images), labels, images_file, labels_file, mine.begin);
}

}  // namespace

TrainTest load_fashion_mnist_part(const fs::path& dir, const Comm& comm, std::size_t outputs) {
  const auto parts = static_cast<std::uint32_t>(comm.size());
  const auto part = static_cast<std::uint32_t>(comm.rank());
  TrainTest tt;
  together(comm, [&] {
    const FashionMnistFiles files = fashion_mnist_files(dir);
    // The training rows: whole stripes of the objective; the test rows: any even cut.
    tt.train = images_and_labels_part(files.train_images, files.train_labels,
                                      [&](std::size_t n, std::size_t inputs) {
                                        return objective_rows(n, inputs, outputs, parts, part);
                                      });
    tt.test = images_and_labels_part(
        files.test_images, files.test_labels,
        [&](std::size_t n, std::size_t) { return shard_rows(n, parts, part); });
    if (tt.train.shape != tt.test.shape)
      fail(tt.test.source, "images are " + dims_text(tt.test.shape, 0) +
                               " but the training images are " + dims_text(tt.train.shape, 0));
  });
  return tt;
}

Dataset load_sparse_part(const fs::path& file, SparseFormat format, const TextOptions& text,
                         const Comm& comm, const std::vector<std::string>& class_names,
                         std::size_t inputs) {
  const std::string name = file.string();
  const bool given = !class_names.empty();
  // 1. This process's lines: a byte range cut at line starts.
  std::string bytes;
  together(comm, [&] {
    const ByteRange range = shard_lines(file, 0, static_cast<std::uint32_t>(comm.size()),
                                        static_cast<std::uint32_t>(comm.rank()));
    const ReadOnlyFile f(file);
    refuse_gzip(f, name);
    bytes = read_range(f, name, range.begin, range.end);
  });
  // 2. The number of this part's first line (for messages): the lines of the parts before.
  const std::vector<double> lines =
      allgather_values(comm, static_cast<double>(std::count(bytes.begin(), bytes.end(), '\n')));
  std::size_t first_line = 1;
  for (int r = 0; r < comm.rank(); ++r)
    first_line += static_cast<std::size_t>(lines[static_cast<std::size_t>(r)]);
  // 3. The rows, labelled with this part's classes (or the given ones).
  Dataset d;
  together(comm, [&] {
    d = format == SparseFormat::libsvm
            ? parse_libsvm(bytes, name, inputs, class_names, true, first_line)
            : parse_text(bytes, name, text, class_names, true, first_line);
  });
  bytes = {};
  d.source = name;
  // 4. What every part agrees on: rows, features and classes.
  double rows = 0;
  for (const double n : allgather_values(comm, static_cast<double>(d.rows))) rows += n;
  if (rows == 0)
    fail(name, format == SparseFormat::libsvm
                   ? "empty file: expected lines of 'label index:value ...'"
                   : "no documents: expected lines of '__label__NAME text ...'");
  if (format == SparseFormat::libsvm && inputs == 0) {
    double widest = 0;
    for (const double n : allgather_values(comm, static_cast<double>(d.inputs)))
      widest = std::max(widest, n);
    if (widest == 0) fail(name, "no features: every line has only a label");
    d.inputs = static_cast<std::size_t>(widest);
    d.shape = {d.inputs};
  }
  // Values kept in every part once one part has a value that is not 1 (as the whole file's
  // loader keeps them).
  double valued = 0;
  for (const double v : allgather_values(comm, d.sparse.binary() ? 0.0 : 1.0)) valued += v;
  if (valued > 0 && d.sparse.binary()) d.sparse.vals.assign(d.sparse.nnz(), 1.0f);
  if (!given)
    agree_on_classes(d, comm, name, format == SparseFormat::libsvm ? "label" : "__label__");
  return d;
}

namespace {

// Line ends as the CSV reader counts them: LF, CR LF and a lone CR.
std::size_t csv_line_ends(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    n += s[i] == '\n' || (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n'));
  return n;
}

// Dense rows moved to the parts `target` (one range per process): process p holds the global
// rows `now[p]` of `part`; afterwards it holds `target[p]`. Each process all-gathers the rows it
// holds outside its target, in order, and keeps or takes each row of its target in order.
// `labelled`, `weighted`: whether the rows have labels and weights (the same in every process,
// which a part without rows cannot tell).
Dataset recut(Dataset part, const Comm& comm, const std::vector<RowRange>& now,
              const std::vector<RowRange>& target, bool labelled, bool weighted) {
  const auto me = static_cast<std::size_t>(comm.rank());
  const std::size_t d = part.inputs;
  const std::size_t row_bytes = 4 + (weighted ? 8 : 0) + 4 * d;
  // The rows of now[q] outside target[q]: [now.begin, head_end) and [tail_begin, now.end).
  const auto head_end = [&](std::size_t q) {
    return std::max(now[q].begin, std::min(now[q].end, target[q].begin));
  };
  const auto tail_begin = [&](std::size_t q) {
    return std::min(now[q].end, std::max(now[q].begin, target[q].end));
  };
  std::vector<std::uint8_t> mine;
  const auto put = [&](std::size_t local) {
    const std::int32_t y = labelled ? part.labels[local] : 0;
    const auto* p = reinterpret_cast<const std::uint8_t*>(&y);
    mine.insert(mine.end(), p, p + 4);
    if (weighted) {
      p = reinterpret_cast<const std::uint8_t*>(&part.weights[local]);
      mine.insert(mine.end(), p, p + 8);
    }
    p = reinterpret_cast<const std::uint8_t*>(part.values.data() + local * d);
    mine.insert(mine.end(), p, p + 4 * d);
  };
  for (std::uint64_t i = now[me].begin; i < head_end(me); ++i) put(i - now[me].begin);
  for (std::uint64_t i = tail_begin(me); i < now[me].end; ++i) put(i - now[me].begin);
  std::vector<std::size_t> counts(now.size());
  std::vector<std::size_t> at(now.size());
  std::size_t total = 0;
  for (std::size_t q = 0; q < now.size(); ++q) {
    at[q] = total;
    counts[q] = ((head_end(q) - now[q].begin) + (now[q].end - tail_begin(q))) * row_bytes;
    total += counts[q];
  }
  std::vector<std::uint8_t> all(total);
  comm.allgather_bytes(mine, counts, all);
  Dataset out = part.empty_like(part.source);
  out.feature_names = part.feature_names;
  out.rows = target[me].size();
  out.values.resize(out.rows * d);
  if (labelled) out.labels.resize(out.rows);
  if (weighted) out.weights.resize(out.rows);
  std::size_t q = 0;
  for (std::uint64_t i = target[me].begin; i < target[me].end; ++i) {
    const std::size_t r = i - target[me].begin;
    if (i >= now[me].begin && i < now[me].end) {
      const std::size_t local = i - now[me].begin;
      std::copy_n(part.values.begin() + static_cast<std::ptrdiff_t>(local * d), d,
                  out.values.begin() + static_cast<std::ptrdiff_t>(r * d));
      if (labelled) out.labels[r] = part.labels[local];
      if (weighted) out.weights[r] = part.weights[local];
      continue;
    }
    while (!(i >= now[q].begin && i < now[q].end)) ++q;  // the rows' holders are in order
    const std::size_t index =
        i < head_end(q) ? i - now[q].begin : (head_end(q) - now[q].begin) + (i - tail_begin(q));
    const std::uint8_t* p = all.data() + at[q] + index * row_bytes;
    std::int32_t y = 0;
    std::memcpy(&y, p, 4);
    if (labelled) out.labels[r] = y;
    p += 4;
    if (weighted) {
      std::memcpy(&out.weights[r], p, 8);
      p += 8;
    }
    std::memcpy(out.values.data() + r * d, p, 4 * d);
  }
  return out;
}

}  // namespace

Dataset load_csv_part(const fs::path& file, const CsvOptions& options, const Comm& comm,
                      const std::function<std::size_t(std::size_t classes)>& outputs) {
  const std::string name = file.string();
  const auto parts = static_cast<std::uint32_t>(comm.size());
  const auto me = static_cast<std::uint32_t>(comm.rank());
  // 1. The header (every process reads it) and this process's lines of the body.
  std::string header, bytes;
  together(comm, [&] {
    const ReadOnlyFile f(file);
    refuse_gzip(f, name);
    const std::uint64_t size = f.size();
    // The header: the first line that is not blank (blank lines before it, which the parser
    // skips, go with it), through its \n.
    std::uint64_t end = 0, line_start = 0;
    bool blank = true;
    for (std::vector<char> piece(64 * 1024); end < size;) {
      const std::size_t k = f.read_at(end, piece);
      if (k == 0) break;
      std::size_t i = 0;
      for (; i < k; ++i) {
        if (piece[i] == '\n') {
          if (!blank) break;
          line_start = end + i + 1;
        } else if (piece[i] != '\r') {
          blank = false;
        }
      }
      end += i;
      if (i < k) {
        ++end;  // the header's \n
        break;
      }
      if (end - line_start > kMaxLineBytes) fail(name, line_too_long(1));
    }
    header = read_range(f, name, 0, end);
    if (std::count(header.begin(), header.end(), '"') % 2 != 0)
      fail(name,
           "line 1: a quoted name in the header holds a line end: across processes the "
           "header must be one line");
    // A lone CR ends a record too: the header's line would hold rows, which every part would
    // read. The parts are cut at \n, so across processes lines end in LF or CR LF.
    const std::string_view last = std::string_view(header).substr(line_start);
    const std::size_t cr = last.find('\r');
    if (cr != std::string_view::npos && cr + 1 < last.size() && last[cr + 1] != '\n')
      fail(name, "line " + std::to_string(1 + csv_line_ends(header.substr(0, line_start))) +
                     ": a line ends in a lone CR: across processes, lines end in LF or CR LF");
    const ByteRange range = shard_lines(file, end, parts, me);
    bytes = read_range(f, name, range.begin, range.end);
  });
  // 2. Where each part starts: its first line, and whether a quoted field is open there (its
  // quotes, "" included, are even outside a field).
  const std::vector<double> ends =
      allgather_values(comm, static_cast<double>(csv_line_ends(bytes)));
  const std::vector<double> quotes =
      allgather_values(comm, static_cast<double>(std::count(bytes.begin(), bytes.end(), '"') % 2));
  std::size_t first_line = 1 + csv_line_ends(header), open = 0;
  for (std::uint32_t r = 0; r < me; ++r) {
    first_line += static_cast<std::size_t>(ends[r]);
    open += static_cast<std::size_t>(quotes[r]);
  }
  // 3. The rows.
  Dataset d;
  together(comm, [&] {
    // A cut inside a quoted field: at this part's start, or at its end (before the parser,
    // which would call the field never closed).
    const bool ends_open = me + 1 < parts && (open + static_cast<std::size_t>(quotes[me])) % 2 != 0;
    if (open % 2 != 0 || ends_open)
      fail(name,
           "line " +
               std::to_string(first_line + (ends_open ? static_cast<std::size_t>(ends[me]) : 0)) +
               ": a quoted field holds a line end where the file is cut into parts: "
               "across processes, CSV fields may not hold line ends");
    bytes.insert(0, header);
    d = parse_csv(bytes, name, options, first_line);
  });
  bytes = {};
  // 4. What every part agrees on: the rows, the classes, the weights.
  const std::vector<double> held = allgather_values(comm, static_cast<double>(d.rows));
  std::vector<RowRange> now;
  std::uint64_t rows = 0;
  for (const double n : held) {
    now.push_back({rows, rows + static_cast<std::uint64_t>(n)});
    rows = now.back().end;
  }
  if (rows == 0) fail(name, "no data rows after the header");
  if (options.class_names.empty() && options.require_label)
    agree_on_classes(d, comm, name, csv_label_column(header, name, options));
  if (!options.weight_column.empty() && options.require_weights) {
    double positive = 0;
    for (const double v : allgather_values(
             comm, std::any_of(d.weights.begin(), d.weights.end(), [](double w) { return w != 0; })
                       ? 1.0
                       : 0.0))
      positive += v;
    if (positive == 0)
      fail(name, "every sample weight in column '" + options.weight_column +
                     "' is 0: nothing would be fitted");
  }
  if (!outputs) return d;
  const std::size_t k = outputs(d.classes());
  // 5. Training rows: whole stripes of the objective.
  std::vector<RowRange> target;
  for (std::uint32_t p = 0; p < parts; ++p)
    target.push_back(objective_rows(rows, d.inputs, k, parts, p));
  return recut(std::move(d), comm, now, target, options.require_label,
               !options.weight_column.empty() && options.require_weights);
}

}  // namespace softreg
