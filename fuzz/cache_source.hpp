// The source files that fuzz_cache's caches are keyed to, written alike by the target (at start)
// and by softreg_fuzz_seeds (before it writes the caches): a cache's key is its source's absolute
// path, size and modification time (CacheKey), so the two must write the same bytes at the same
// path with the same time, or every seed would be stale and the fuzzer would never get past the
// key. Both run in the same environment (scripts/fuzz): the same temporary folder.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "softreg/data.hpp"

namespace softreg::fuzz {

/// The sources: a LIBSVM file and a file of documents.
inline constexpr std::string_view kCacheLibsvmSource =
    "+1 1:0.5 3:-2 # the source of fuzz_cache's caches\n-1 2:1\n+1 1:1 2:2 3:3\n-1 4:0.25\n";
inline constexpr std::string_view kCacheTextSource =
    "__label__sports the match ended in a draw\n__label__tech a new C++ compiler\n"
    "__label__sports goals and more goals\n";

/// The text features the text source's key records (inputs 2^5 = 32).
inline TextOptions cache_text_options() {
  TextOptions o;
  o.ngrams = 2;
  o.hash_bits = 5;
  return o;
}

/// Writes `content` to `name` in the temporary folder with one fixed modification time
/// (2024-01-01 00:00:00.123456789 UTC): written beside it, its time set, then renamed over it, so
/// that whoever computes its key meanwhile sees the old file or the new one, both the same.
inline std::filesystem::path write_cache_source(const std::string& name, std::string_view content) {
  namespace fs = std::filesystem;
  const fs::path file = fs::temp_directory_path() / name;
  const fs::path temporary = fs::path(file.string() + ".tmp-" + std::to_string(::getpid()));
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
  }
  struct timespec times[2];
  times[0].tv_sec = static_cast<std::time_t>(1704067200);
  times[0].tv_nsec = 123456789;
  times[1] = times[0];
  if (::utimensat(AT_FDCWD, temporary.c_str(), times, 0) != 0)
    throw std::runtime_error("cannot set the time of " + temporary.string() + ": " +
                             std::strerror(errno));
  fs::rename(temporary, file);
  return file;
}

struct CacheSources {
  std::filesystem::path libsvm_file, text_file;
  CacheKey libsvm, text;  // their keys: kind "libsvm"; kind "text" with cache_text_options()
};

/// Writes both sources (the same bytes and time every time) and returns their keys.
inline CacheSources cache_sources() {
  CacheSources s;
  s.libsvm_file = write_cache_source("softreg-fuzz-cache-source.svm", kCacheLibsvmSource);
  s.text_file = write_cache_source("softreg-fuzz-cache-source.txt", kCacheTextSource);
  s.libsvm = cache_key_of(s.libsvm_file, "libsvm");
  s.text = cache_key_of(s.text_file, "text", text_options_note(cache_text_options()));
  return s;
}

}  // namespace softreg::fuzz
