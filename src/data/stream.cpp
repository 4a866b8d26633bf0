// SparseFileStream: a LIBSVM or text file in blocks of whole lines (data.hpp; --stream).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "load.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

namespace fs = std::filesystem;

SparseFileStream::SparseFileStream(const fs::path& file, Kind kind, const TextOptions& text,
                                   std::size_t block_bytes)
    : name_(file.string()),
      kind_(kind),
      text_(text),
      block_bytes_(std::max<std::size_t>(block_bytes, 1)) {
  if (file == "-")
    fail("standard input",
         "a stream reads its file twice (once to count, once to train), and "
         "standard input can be read once: give a file");
  fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(file, std::string("cannot open (") + std::strerror(errno) + ")");
  // A constructor that throws runs no destructor: the file is closed here on every error.
  try {
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode))
      fail(file,
           "not a regular file (a device, a pipe or a folder): a stream reads its file "
           "twice, from the start");
    unsigned char magic[2] = {};
    if (::pread(fd_, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
      fail(file, param("stream") +
                     " reads an uncompressed file, but this one is gzip'd (gunzip it first)");
    // The first pass: every line checked, the rows counted, the labels and the largest index.
    std::set<std::string, std::less<>> labels;
    std::string block;
    std::size_t first = 0;
    while (read_lines(block, first)) {
      const Dataset d = parse(block, first, /*labelled=*/false);
      rows_ += d.rows;
      inputs_ = std::max(inputs_, d.inputs);
      nnz_ += d.sparse.nnz();
      binary_ = binary_ && d.sparse.binary();
      labels.insert(d.class_names.begin(), d.class_names.end());
      if (labels.size() > kMaxClasses) break;  // the label reader below says so
    }
    if (rows_ == 0)
      fail(file, kind_ == Kind::text ? "no documents: expected lines of '__label__NAME text ...'"
                                     : "empty file: expected lines of 'label index:value ...'");
    if (inputs_ == 0) fail(file, "no features: every line has only a label");
    // The classes in the loaders' order (numeric when every label is an integer, else bytes).
    LabelReader reader(file, {}, kind_ == Kind::text ? "__label__" : "label");
    std::size_t n = 0;
    for (const std::string& l : labels) reader.add(l, ++n);
    reader.finish(classes_);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
  rewind();
}

SparseFileStream::~SparseFileStream() {
  if (fd_ >= 0) ::close(fd_);
}

void SparseFileStream::rewind() {
  if (::lseek(fd_, 0, SEEK_SET) != 0) fail(name_, "cannot go back to the start");
  pending_.clear();
  eof_ = false;
  line_ = 1;
}

bool SparseFileStream::read_lines(std::string& text, std::size_t& first) {
  text.clear();
  std::string chunk = std::move(pending_);
  pending_.clear();
  // Read until the chunk holds at least block_bytes_ and a line end, or the file ends; only the
  // bytes just read are searched for the line end (a long line is not scanned again and again).
  bool line_end = chunk.find('\n') != std::string::npos;
  while (!eof_ && (chunk.size() < block_bytes_ || !line_end)) {
    // The chunk starts at a line start: without a line end it is one line, growing.
    if (!line_end && chunk.size() > kMaxLineBytes) fail(name_, line_too_long(line_));
    const std::size_t old = chunk.size();
    chunk.resize(old + block_bytes_);
    ssize_t got;
    do {
      got = ::read(fd_, chunk.data() + old, block_bytes_);
    } while (got < 0 && errno == EINTR);
    if (got < 0) fail(name_, std::string("reading failed (") + std::strerror(errno) + ")");
    chunk.resize(old + static_cast<std::size_t>(got));
    if (got == 0) eof_ = true;
    line_end = line_end || chunk.find('\n', old) != std::string::npos;
  }
  if (chunk.empty()) return false;
  std::size_t cut = chunk.size();
  if (!eof_) cut = chunk.rfind('\n') + 1;
  pending_.assign(chunk, cut, std::string::npos);
  chunk.resize(cut);
  text = std::move(chunk);
  first = line_;
  line_ += static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  return true;
}

// `known`: with the classes and inputs of the first pass; before them, with the block's own.
Dataset SparseFileStream::parse(const std::string& text, std::size_t first, bool known) const {
  static const std::vector<std::string> none;
  const std::vector<std::string>& classes = known ? classes_ : none;
  if (kind_ == Kind::text) return parse_text(text, name_, text_, classes, true, first);
  return parse_libsvm(text, name_, known ? inputs_ : 0, classes, true, first);
}

bool SparseFileStream::next(Dataset& block) {
  std::string text;
  std::size_t first = 0;
  while (read_lines(text, first)) {
    block = parse(text, first, /*labelled=*/true);
    if (block.rows != 0) {
      block.inputs = kind_ == Kind::text ? text_.columns() : inputs_;
      block.shape = {block.inputs};
      return true;
    }
  }
  block = Dataset{};
  return false;
}

}  // namespace softreg
