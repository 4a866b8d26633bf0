// What the loaders of src/data/ share; not part of the public API.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"

namespace softreg {

/// Runs `step` in every process; an InputError in any ends all of them with the same message
/// (agree_on_errors: every process must call it, in the same order).
template <typename Step>
void together(const Comm& comm, Step step) {
  std::string error;
  try {
    step();
  } catch (const InputError& e) {
    error = e.what();
  }
  agree_on_errors(comm, error);
}

/// Throws InputError "FILE: WHAT", every byte that is not UTF-8 written as \xNN (a message may
/// quote the file's bytes; it must reach a terminal, JSON or Python as text).
[[noreturn]] inline void fail(const std::filesystem::path& file, const std::string& what) {
  throw InputError(escaped_utf8(file.string() + ": " + what));
}

inline std::uint32_t read_be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

/// dims[from..] as "28x28".
std::string dims_text(const std::vector<std::size_t>& dims, std::size_t from);

/// Reads all of `s` (an optional '+' first) as a number; a number too large for a double is
/// HUGE_VAL (then reported as not finite by the caller).
bool parse_number(std::string_view s, double& v);

/// Reads all of `s` as a number and rounds it to a float; beyond the float range it is infinite.
bool parse_float(std::string_view s, float& f);

/// Reads all of `s` (an optional '+' first) as a whole number.
bool is_integer(std::string_view s, long long& v);

/// "a, b, c": the first 20 classes, and how many there are when there are more.
std::string class_list_text(const std::vector<std::string>& classes);

/// Maps label texts to class indices row by row, in memory bounded by the classes: an int32 per
/// row and one string per distinct label, at most kMaxClasses of them. With given classes (a
/// model's) a label outside them is an error at its line; otherwise the classes are the distinct
/// labels, in numeric order when every label is an integer, else in byte (alphabetical) order.
class LabelReader {
 public:
  /// `column` names where the labels are, for messages.
  LabelReader(const std::filesystem::path& file, const std::vector<std::string>& classes,
              std::string column);
  void add(std::string_view text, std::size_t line);
  /// The rows' class indices; sets `classes`. Fewer than two distinct labels is an error.
  std::vector<std::int32_t> finish(std::vector<std::string>& classes);
  /// The same for a part of a file (a stream's block), where one class (or none) is no error.
  std::vector<std::int32_t> finish_part(std::vector<std::string>& classes);
  void reserve(std::size_t rows) { ids_.reserve(rows); }

 private:
  std::vector<std::int32_t> finish(std::vector<std::string>& classes, bool part);
  std::filesystem::path file_;
  bool given_;
  std::string column_;
  std::vector<std::string> classes_;                        // the given classes
  std::map<std::string, std::int32_t, std::less<>> index_;  // label -> id (first seen, or given)
  std::vector<std::int32_t> ids_;
};

/// The name of the label column of CSV text whose first record is the header: options.label,
/// or the last column that is not the sample weights (as parse_csv takes it).
std::string csv_label_column(std::string_view text, const std::string& name,
                             const CsvOptions& options);

/// The four files of Fashion-MNIST in `dir` (either naming style, raw or gzip'd); InputError
/// naming the folder or the missing file.
struct FashionMnistFiles {
  std::filesystem::path train_images, train_labels, test_images, test_labels;
};
FashionMnistFiles fashion_mnist_files(const std::filesystem::path& dir);

/// Fashion-MNIST's data set of IDX images (n x rows x cols bytes) and their labels (n bytes,
/// each checked to be a class); `first` is the index of the first row in its file, for messages.
Dataset fashion_mnist_rows(IdxArray images, const IdxArray& labels,
                           const std::filesystem::path& images_file,
                           const std::filesystem::path& labels_file, std::size_t first);

/// A file opened for reading at offsets (pread); InputError "FILE: cannot ... (reason)".
class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const std::filesystem::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail("cannot open");
  }
  ~ReadOnlyFile() { ::close(fd_); }
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  std::uint64_t size() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail("cannot stat");
    return static_cast<std::uint64_t>(st.st_size);
  }
  // Up to buffer.size() bytes at `offset`; the number read (0 at the end).
  std::size_t read_at(std::uint64_t offset, std::vector<char>& buffer) const {
    for (;;) {
      const ssize_t got = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset));
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) fail("cannot read");
    }
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw InputError(path_.string() + ": " + what + " (" + std::strerror(errno) + ")");
  }
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace softreg
