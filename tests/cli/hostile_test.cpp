// Hostile input through the CLI (docs/security.md): the inputs the fuzzers found that made softreg
// die by a signal or take gigabytes, kept in tests/data/hostile/, and generated files built to
// cost as much memory as the format allows. Each must be refused with exit status 2 and one line
// naming the file, or read within the memory bound docs/security.md states.
#include <gtest/gtest.h>
#include <libdeflate.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "expect.hpp"
#include "fixtures.hpp"
#include "run.hpp"
#include "softreg/io.hpp"
#include "softreg/random.hpp"

namespace softreg::test {
namespace {

namespace fs = std::filesystem;

const fs::path kHostile = fs::path(SOFTREG_TEST_DATA) / "hostile";

// Sanitizers keep shadow memory and a quarantine of freed blocks: a process's peak RSS then says
// nothing about softreg's own use, so the memory bounds are asserted in builds without them.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMeasuresMemory = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kMeasuresMemory = false;
#else
constexpr bool kMeasuresMemory = true;
#endif
#else
constexpr bool kMeasuresMemory = true;
#endif

constexpr long kMiB = 1024;  // in the KiB that peak_rss_kb counts

void expect_peak_below(const RunResult& r, long limit_kb, const std::string& what) {
  if (!kMeasuresMemory) return;
  EXPECT_LT(r.peak_rss_kb, limit_kb)
      << what << ": peak resident size " << r.peak_rss_kb << " KiB, bound " << limit_kb << " KiB\n"
      << describe(r);
}

// A model of 28x28 inputs and 10 classes, for the commands that read images.
fs::path write_image_model(const fs::path& dir) {
  SoftmaxRegression m(784, 10);
  ModelInfo info;
  for (int c = 0; c < 10; ++c) info.class_names.push_back("c" + std::to_string(c));
  info.input_shape = {28, 28};
  info.input_scale = 1.0f / 255.0f;
  const fs::path file = dir / "m.safetensors";
  save_model(file, m, info);
  return file;
}

// ------------------------------------------------------------------ what the fuzzers found

TEST(HostileInput, CsvOfOnlyAByteOrderMarkIsAnEmptyFile) {
  // Was SIGSEGV: the BOM was skipped, no record was left, and the header was records[0].
  const fs::path f = kHostile / "bom-only.csv";
  expect_rejected(run_softreg("train --csv " + quoted(f)),
                  {f.string() + ": empty file: expected a header row"});
}

TEST(HostileInput, CsvHeaderOfOneEmptyQuotedField) {
  // Was SIGSEGV: a record of one empty quoted field was taken for a blank line.
  const fs::path f = kHostile / "empty-quoted-header.csv";
  expect_rejected(run_softreg("train --csv " + quoted(f)),
                  {f.string() + ": no data rows after the header"});
}

TEST(HostileInput, ModelWhoseShapeIsNestedDeep) {
  // Was SIGSEGV: the message about the bad shape dumped 100000 nested lists recursively.
  TempDir dir;
  const fs::path f = kHostile / "shape-nested-100000-deep.safetensors";
  for (const std::string command :
       {std::string("eval --model "),
        "show weights --out " + quoted(dir.path() / "w.png") + " --model "})
    expect_rejected(run_softreg(command + quoted(f)),
                    {f.string() + ": tensor \"weight\": shape: expected a list of non-negative "
                                  "whole numbers but found a list"});
}

TEST(HostileInput, ModelHeaderCutShortByANul) {
  // The fuzzer's input, minimised: "{}", a NUL, then JSON. Was read as "{}"; the fuzz target's
  // round trip then wrote JSON's null, which no reader takes for a header.
  const fs::path f = kHostile / "header-nul-then-json.safetensors";
  expect_rejected(run_softreg("eval --model " + quoted(f)),
                  {f.string() + ": the header holds a NUL byte at offset 10: expected JSON text"});
}

TEST(HostileInput, ModelHeaderWithANulAndMoreJsonAfterIt) {
  // Was read as the JSON before the NUL (nlohmann's lexer ends its input there), so one file
  // could be one model here and refused, or read differently, by every other safetensors reader.
  // The fuzzer's round trip found it: the rewritten file no longer parsed.
  TempDir dir;
  const fs::path good = write_image_model(dir.path());
  std::string bytes = slurp(good);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(bytes[i]);
  const std::string tail = std::string(1, '\0') + "{\"weight\":0}";
  bytes.insert(8 + n, tail);
  n += tail.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(n >> (8 * i));
  const fs::path f = dir.path() / "nul.safetensors";
  write_file(f, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  expect_rejected(run_softreg("eval --model " + quoted(f)),
                  {f.string() + ": the header holds a NUL byte at offset"});
}

TEST(HostileInput, PngChunkClaimingHundredsOfMegabytes) {
  // Was a 739 MB allocation inside libpng for a 72-byte file: a text chunk's claimed length.
  TempDir dir;
  const fs::path model = write_image_model(dir.path());
  const fs::path f = kHostile / "chunk-claims-739mb.png";
  const RunResult r = run_softreg("predict --model " + quoted(model) + " " + quoted(f));
  expect_rejected(r, {f.string() + ": invalid PNG"});
  expect_peak_below(r, 100 * kMiB, "a 72-byte PNG");
}

// ------------------------------------------------------------------ bounded memory

std::vector<std::uint8_t> gzip_level(std::span<const std::uint8_t> raw, int level) {
  std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> c(
      libdeflate_alloc_compressor(level), &libdeflate_free_compressor);
  std::vector<std::uint8_t> out(libdeflate_gzip_compress_bound(c.get(), raw.size()));
  out.resize(libdeflate_gzip_compress(c.get(), raw.data(), raw.size(), out.data(), out.size()));
  return out;
}

TEST(HostileInput, GzipOfAnIdxHeaderAndTwoGigabytesOfZeros) {
  // A valid header for 60000 images of 28x28 (47 MB), then 2 GiB of zeros in 32 gzip members
  // (2 MB on disk): decompression must stop at the header's size.
  TempDir dir;
  write_tiny_fashion(dir.path(), 20, 10);
  std::vector<std::uint8_t> file = gzip_bytes(idx_bytes({60000, 28, 28}, {}));
  const std::vector<std::uint8_t> zeros = gzip_level(std::vector<std::uint8_t>(64u << 20, 0), 1);
  for (int i = 0; i < 32; ++i) file.insert(file.end(), zeros.begin(), zeros.end());
  const fs::path images = dir.path() / "train-images-idx3-ubyte.gz";
  write_file(images, file);
  const RunResult r = run_softreg("train --data " + quoted(dir.path()));
  expect_rejected(r, {images.string(), "60000x28x28 = 47040000 bytes of data",
                      "holds more (decompression stopped there)"});
  expect_peak_below(r, 100 * kMiB, "an IDX header and 2 GiB of zeros");
}

// 2000 rows with indices up to 3,000,000: 24 GB as a dense table, which softreg once asked for.
// Sparse, it trains in well under 100 MB with either solver: SGD touches the stored columns,
// L-BFGS solves over the columns some row stores.
TEST(HostileInput, LibsvmOfThreeMillionFeaturesTrainsInBoundedMemory) {
  TempDir dir;
  std::string text;
  Rng rng(7);
  for (int i = 0; i < 2000; ++i) {
    const int y = i % 2;
    text += std::to_string(y);
    // 20 features a row, increasing, spread over [1, 3,000,000]; feature 3,000,000 marks class 1.
    std::uint64_t index = 0;
    for (int j = 0; j < 20; ++j) {
      index += 1 + rng.below(140000);
      text += " " + std::to_string(index) + ":1";
    }
    text += y == 1 ? " 3000000:1\n" : "\n";
  }
  const fs::path f = dir.path() / "sparse.svm";
  write_text(f, text);
  for (const char* solver : {"lbfgs", "sgd"}) {
    SCOPED_TRACE(solver);
    const RunResult r = run_softreg("train --libsvm " + quoted(f) + " --solver " + solver);
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_NE(r.out.find("3000000 features"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("test acc 1.0000"), std::string::npos) << r.out;
    expect_peak_below(r, 100 * kMiB, "a 3,000,000-feature LIBSVM file of 2000 rows");
  }
}

// --stream: a training file several times larger than the memory the run may use trains,
// reading it in blocks every epoch; the peak stays at the buffer, a block and the model.
TEST(HostileInput, StreamingTrainsOnAFileSeveralTimesLargerThanItsMemoryBound) {
  TempDir dir;
  const fs::path train = dir.path() / "big.svm", test = dir.path() / "test.svm";
  {
    std::ofstream out(train);
    Rng rng(3);
    std::string line;
    for (int i = 0; i < 400000; ++i) {
      const std::uint64_t y = rng.below(2);
      line = std::to_string(y);
      std::uint64_t c = 1000 * y;
      for (int j = 0; j < 20; ++j) {
        c += 1 + rng.below(40);
        line += " " + std::to_string(c) + ":0." + std::to_string(1 + rng.below(9));
      }
      out << line << '\n';
    }
  }
  write_text(test, "0 5:0.5 9:0.5\n1 1005:0.5 1009:0.5\n");
  const auto bytes = fs::file_size(train);
  ASSERT_GT(bytes, 40 * 1024 * 1024) << "larger than the bound below";
  const RunResult r = run_softreg("train --libsvm " + quoted(train) + " --test " + quoted(test) +
                                  " --solver sgd --epochs 2 --stream 20000");
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("streaming " + train.string() + ": 400000 rows"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("test acc 1.0000"), std::string::npos) << r.out;
  expect_peak_below(r, 20 * kMiB, "streaming a LIBSVM file of " + std::to_string(bytes) + " bytes");
  // With --cache: the first run writes the cache block by block, the second streams from it,
  // both within the same bound, to the same model.
  const fs::path cache = dir.path() / "big.cache";
  const std::string cached = "train --libsvm " + quoted(train) + " --test " + quoted(test) +
                             " --solver sgd --epochs 2 --stream 20000 --cache " + quoted(cache);
  const RunResult w = run_softreg(cached);
  ASSERT_EQ(w.status, 0) << describe(w);
  EXPECT_NE(w.out.find("wrote the cache " + cache.string()), std::string::npos) << w.out;
  expect_peak_below(w, 20 * kMiB, "writing the cache of a LIBSVM file while streaming it");
  const RunResult c = run_softreg(cached);
  ASSERT_EQ(c.status, 0) << describe(c);
  EXPECT_NE(c.out.find("streaming " + train.string() + " from the cache " + cache.string()),
            std::string::npos)
      << c.out;
  EXPECT_GT(fs::file_size(cache), bytes / 4) << "the cache holds the rows";
  expect_peak_below(c, 20 * kMiB,
                    "streaming from a cache of " + std::to_string(fs::file_size(cache)) + " bytes");
  const auto last_line = [](const std::string& out) {
    const std::size_t end = out.find_last_not_of('\n');
    return out.substr(out.rfind('\n', end) + 1, end - out.rfind('\n', end));
  };
  const auto no_time = [](std::string line) { return line.substr(0, line.find(" in ")); };
  EXPECT_EQ(no_time(last_line(c.out)), no_time(last_line(r.out))) << "the same run";
  // Under a data limit of 20 MiB, a third of the file (ulimit -d; one thread, whose stack the
  // limit would count too): streaming from the file, writing the cache and streaming from it
  // succeed; the in-memory run does not, with a line saying so.
  if (!kMeasuresMemory) return;  // the sanitizers' shadow memory would not fit
  const std::string one = "train --libsvm " + quoted(train) + " --test " + quoted(test) +
                          " --solver sgd --epochs 2 --threads 1 -q";
  fs::remove(cache);
  for (const std::string& extra :
       {std::string(" --stream 20000"), " --stream 20000 --cache " + quoted(cache),
        " --stream 20000 --cache " + quoted(cache)}) {
    const RunResult l = run_softreg_limited(one + extra, 20 * 1024);
    EXPECT_EQ(l.status, 0) << extra << ": " << describe(l);
  }
  const RunResult m = run_softreg_limited(one, 20 * 1024);
  EXPECT_EQ(m.status, 1) << "the limit bites: the file does not fit\n" << describe(m);
  EXPECT_NE(m.err.find("softreg: out of memory (for data larger than memory, see --stream"),
            std::string::npos)
      << m.err;
}

// The bound of docs/security.md for `train` on a text table of M bytes whose table (rows x
// features floats) takes T bytes: 64 MiB + 4 M + 2 T, and the full-batch solver's vectors of
// the n parameters, 8 bytes each: 2m + 6 of them for L-BFGS of memory m (10 by default).
long table_bound_kb(std::uintmax_t text_bytes, std::uintmax_t table_bytes,
                    std::uintmax_t solver_vectors = 0, std::uintmax_t parameters = 0) {
  return static_cast<long>(64 * 1024 + (4 * text_bytes + 2 * table_bytes) / 1024 +
                           solver_vectors * parameters * 8 / 1024);
}

struct Shape {
  const char* name;
  std::string (*make)(std::size_t& rows, std::size_t& features);
};

// Tables shaped to cost the most per byte of text: a value or a label in every 2 bytes.
const Shape kShapes[] = {
    {"tall.csv",
     [](std::size_t& rows, std::size_t& features) {
       std::string t = "x,y\n";
       rows = 3'000'000, features = 1;
       for (std::size_t i = 0; i < rows; ++i) t += i % 2 ? "1,a\n" : "2,b\n";
       return t;
     }},
    {"wide.csv",
     [](std::size_t& rows, std::size_t& features) {
       features = 1'000'000, rows = 6;
       std::string t;
       for (std::size_t j = 0; j < features; ++j) t += "x,";
       t += "label\n";
       for (std::size_t i = 0; i < rows; ++i) {
         for (std::size_t j = 0; j < features; ++j) t += "1,";
         t += i % 2 ? "a\n" : "b\n";
       }
       return t;
     }},
    {"one-long-field.csv",
     [](std::size_t& rows, std::size_t& features) {
       rows = 21, features = 1;
       // A label of 10 MB in quotes, with quotes inside: the field is unescaped once.
       std::string t = "x,label\n1,\"" + std::string(5'000'000, 'a') + "\"\"" +
                       std::string(5'000'000, 'b') + "\"\n";
       for (int i = 0; i < 20; ++i) t += i % 2 ? "2,b\n" : "3,c\n";
       return t;
     }},
    {"labels.svm",
     [](std::size_t& rows, std::size_t& features) {
       rows = 2'000'000, features = 2;
       std::string t;
       for (std::size_t i = 0; i < rows; ++i) t += i % 2 ? "0 1:1\n" : "1 2:1\n";
       return t;
     }},
};

class TableMemory : public testing::TestWithParam<Shape> {};

TEST_P(TableMemory, TrainStaysWithinTheBound) {
  TempDir dir;
  std::size_t rows = 0, features = 0;
  const std::string text = GetParam().make(rows, features);
  const fs::path f = dir.path() / GetParam().name;
  write_text(f, text);
  const bool csv = f.extension() == ".csv";
  // SGD, and the default full-batch solver with its vectors (two classes: 2 (features + 1)
  // parameters).
  for (const bool sgd : {true, false}) {
    const std::string solver = sgd ? "--solver sgd --epochs 1" : "--max-iter 3";
    const RunResult r = run_softreg(std::string("train ") + (csv ? "--csv " : "--libsvm ") +
                                    quoted(f) + " -q " + solver);
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out.rfind("trained ", 0), 0u) << describe(r);
    expect_peak_below(r,
                      table_bound_kb(text.size(), rows * features * sizeof(float),
                                     sgd ? 0 : 2 * 10 + 6, 2 * (features + 1)),
                      std::string(GetParam().name) + " " + solver);
  }
}

INSTANTIATE_TEST_SUITE_P(Hostile, TableMemory, testing::ValuesIn(kShapes),
                         [](const testing::TestParamInfo<Shape>& p) {
                           std::string n = p.param.name;
                           for (char& c : n)
                             if (c == '.' || c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace softreg::test
