// Files written atomically, and whole files read with a size limit.
#include "file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "softreg/error.hpp"
#include "softreg/io.hpp"

namespace softreg {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw InputError(name + ": " + what);
}

int open_temp_beside(const fs::path& file, fs::path& tmp) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const std::string stem = "." + file.filename().string() + ".tmp-" + std::to_string(getpid());
  for (int n = 0; n < 1000; ++n) {
    tmp = dir / (stem + "-" + std::to_string(n));
    const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || (errno != EEXIST && errno != EINTR)) return fd;
  }
  errno = EEXIST;
  return -1;
}

// Why the folder of `file` cannot take a new file (open failed with `err`).
std::string folder_problem(const fs::path& file, int err) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(dir, ec)) return "folder " + dir.string() + " does not exist";
  if (!fs::is_directory(dir, ec)) return dir.string() + " is not a folder";
  return "cannot create a file in folder " + dir.string() + " (" + std::strerror(err) + ")";
}

// Why `file` cannot be a file's name, or empty.
std::string name_problem(const fs::path& file) {
  std::error_code ec;
  if (!file.has_filename()) return "expected a file name";
  if (fs::is_directory(file, ec)) return "expected a file but found a folder";
  return {};
}

}  // namespace

std::vector<std::uint8_t> read_whole(const fs::path& file, std::uint64_t max_bytes,
                                     const char* kind) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) fail(file.string(), "expected a file but found a folder");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    fail(file.string(), std::string("cannot open file (") +
                            (fs::exists(file, ec) ? "permission denied" : "no such file") + ")");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) fail(file.string(), "cannot read the file's size");
  if (static_cast<std::uint64_t>(size) > max_bytes)
    fail(file.string(), std::to_string(size) + " bytes is more than the " +
                            std::to_string(max_bytes) + " a " + kind + " may have");
  in.seekg(0);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    fail(file.string(), "read error");
  return bytes;
}

// ------------------------------------------------------------------------------ atomic files

// Before the work: a file that cannot be written is the user's to fix (InputError, status 2).
void check_writable(const fs::path& file, std::string_view what) {
  const std::string suffix = what.empty() ? "" : " (" + std::string(what) + ")";
  if (const std::string why = name_problem(file); !why.empty()) fail(file.string(), why + suffix);
  fs::path tmp;
  const int fd = open_temp_beside(file, tmp);
  if (fd < 0) fail(file.string(), folder_problem(file, errno) + suffix);
  ::close(fd);
  ::unlink(tmp.c_str());
}

// After the work: the folder passed check_writable, so whatever fails now failed at run time
// (disk full, folder removed, file system made read-only): Error, status 1.
void write_file_atomic(const fs::path& file, std::span<const std::uint8_t> bytes) {
  const std::span<const std::uint8_t> one[] = {bytes};
  write_file_atomic(file, std::span<const std::span<const std::uint8_t>>(one));
}

void write_at(int fd, std::span<const std::uint8_t> bytes, std::uint64_t offset,
              const fs::path& file) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w =
        ::pwrite(fd, bytes.data() + done, std::min<std::size_t>(bytes.size() - done, 1 << 30),
                 static_cast<off_t>(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error(file.string() + ": writing failed (" + std::strerror(errno) +
                  "); the file was not changed");
    }
    done += static_cast<std::size_t>(w);
  }
}

void write_file_atomic(const fs::path& file,
                       std::span<const std::span<const std::uint8_t>> pieces) {
  write_file_atomic(file, [&](int fd) {
    std::uint64_t at = 0;
    for (const std::span<const std::uint8_t> bytes : pieces) {
      write_at(fd, bytes, at, file);
      at += bytes.size();
    }
  });
}

void write_file_atomic(const fs::path& file, const std::function<void(int fd)>& fill) {
  if (const std::string why = name_problem(file); !why.empty())
    throw Error(file.string() + ": " + why + "; nothing was written");
  fs::path tmp;
  const int fd = open_temp_beside(file, tmp);
  if (fd < 0)
    throw Error(file.string() + ": " + folder_problem(file, errno) + "; the file was not changed");
  auto give_up = [&](const char* step) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(file.string() + ": " + step + " failed (" + std::strerror(err) +
                "); the file was not changed");
  };
  try {
    fill(fd);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::fsync(fd) != 0) give_up("flushing to disk");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(file.string() + ": closing failed (" + std::strerror(err) +
                "); the file was not changed");
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(file.string() + ": renaming " + tmp.filename().string() + " over it failed (" +
                std::strerror(err) + "); the file was not changed");
  }
  // Make the rename itself durable; best effort (some file systems refuse fsync on folders).
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace softreg
