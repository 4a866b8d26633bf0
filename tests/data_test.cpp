// Unit tests of the data module: IDX files (raw and gzip'd), the Fashion-MNIST loader with both
// naming styles, Dataset::keep_first, the default data folder, and every way a file can be bad.
// Every bad file must throw softreg::InputError whose message names the file and says what was
// expected and what was found.
#include "softreg/data.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "softreg/error.hpp"

namespace softreg {
namespace {

namespace fs = std::filesystem;
using test::gzip_bytes;
using test::idx_bytes;
using test::TempDir;
using test::write_file;

// Pixels that differ from image to image and from place to place, so a mix-up shows.
std::vector<std::uint8_t> pixels(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
  std::vector<std::uint8_t> p(static_cast<std::size_t>(n) * rows * cols);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>((i * 7 + 3) % 256);
  return p;
}

std::vector<std::uint8_t> labels(std::uint32_t n) {
  std::vector<std::uint8_t> l(n);
  for (std::uint32_t i = 0; i < n; ++i) l[i] = static_cast<std::uint8_t>((i * 3) % 10);
  return l;
}

std::vector<std::uint8_t> maybe_gzip(std::vector<std::uint8_t> bytes, bool gzip) {
  return gzip ? gzip_bytes(bytes) : bytes;
}

// The four file names of one naming style, with or without ".gz".
struct Names {
  std::string train_images, train_labels, test_images, test_labels;
};

Names debian_names(bool gzip) {
  const std::string ext = gzip ? ".gz" : "";
  return {"train-images-idx3-ubyte" + ext, "train-labels-idx1-ubyte" + ext,
          "t10k-images-idx3-ubyte" + ext, "t10k-labels-idx1-ubyte" + ext};
}

Names dotted_names(bool gzip) {
  const std::string ext = gzip ? ".gz" : "";
  return {"train-images.idx3-ubyte" + ext, "train-labels.idx1-ubyte" + ext,
          "t10k-images.idx3-ubyte" + ext, "t10k-labels.idx1-ubyte" + ext};
}

// Writes a small valid Fashion-MNIST folder: n_train and n_test images of rows x cols.
void write_set(const fs::path& dir, const Names& names, bool gzip, std::uint32_t n_train = 12,
               std::uint32_t n_test = 5, std::uint32_t rows = 4, std::uint32_t cols = 3) {
  write_file(dir / names.train_images,
             maybe_gzip(idx_bytes({n_train, rows, cols}, pixels(n_train, rows, cols)), gzip));
  write_file(dir / names.train_labels, maybe_gzip(idx_bytes({n_train}, labels(n_train)), gzip));
  write_file(dir / names.test_images,
             maybe_gzip(idx_bytes({n_test, rows, cols}, pixels(n_test, rows, cols)), gzip));
  write_file(dir / names.test_labels, maybe_gzip(idx_bytes({n_test}, labels(n_test)), gzip));
}

// Runs `f`, which must throw InputError, and returns its message (or a note that it did not).
std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected softreg::InputError but got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected softreg::InputError but nothing was thrown";
  return {};
}

// Checks that `message` holds every one of `parts`.
void expect_contains(const std::string& message, std::initializer_list<std::string> parts) {
  for (const auto& part : parts)
    EXPECT_NE(message.find(part), std::string::npos)
        << "message \"" << message << "\" should contain \"" << part << "\"";
}

// Sets (or unsets) an environment variable for one scope and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// --- load_idx ------------------------------------------------------------------------------

TEST(DataIdxTest, LoadsARawFile) {
  TempDir dir;
  const auto data = pixels(3, 4, 5);
  write_file(dir.path() / "images", idx_bytes({3, 4, 5}, data));
  const IdxArray a = load_idx(dir.path() / "images", 3);
  EXPECT_EQ(a.dims, (std::vector<std::size_t>{3, 4, 5}));
  EXPECT_EQ(a.data, data);
}

TEST(DataIdxTest, LoadsAGzipFile) {
  TempDir dir;
  const auto data = labels(37);
  write_file(dir.path() / "labels.gz", gzip_bytes(idx_bytes({37}, data)));
  const IdxArray a = load_idx(dir.path() / "labels.gz", 1);
  EXPECT_EQ(a.dims, (std::vector<std::size_t>{37}));
  EXPECT_EQ(a.data, data);
}

TEST(DataIdxTest, RecognisesGzipByItsMagicWhateverTheName) {
  TempDir dir;
  const auto data = pixels(2, 3, 3);
  write_file(dir.path() / "images", gzip_bytes(idx_bytes({2, 3, 3}, data)));
  const IdxArray a = load_idx(dir.path() / "images");
  EXPECT_EQ(a.dims, (std::vector<std::size_t>{2, 3, 3}));
  EXPECT_EQ(a.data, data);
}

TEST(DataIdxTest, LoadsAGzipFileOfAMegabyte) {
  // Larger than any first guess of the output size, and compressible far beyond the trailer's
  // hint would suggest if it were wrong: the whole of it must come back.
  TempDir dir;
  std::vector<std::uint8_t> data(1000u * 1000u);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i / 1000);
  write_file(dir.path() / "big.gz", gzip_bytes(idx_bytes({1000, 1000}, data)));
  const IdxArray a = load_idx(dir.path() / "big.gz");
  EXPECT_EQ(a.dims, (std::vector<std::size_t>{1000, 1000}));
  EXPECT_EQ(a.data, data);
}

TEST(DataIdxTest, MissingFile) {
  TempDir dir;
  const auto msg = input_error_of([&] { load_idx(dir.path() / "nowhere-idx3-ubyte.gz"); });
  expect_contains(msg, {"nowhere-idx3-ubyte.gz", "no such file"});
}

TEST(DataIdxTest, FolderInsteadOfFile) {
  TempDir dir;
  fs::create_directories(dir.path() / "images.gz");
  const auto msg = input_error_of([&] { load_idx(dir.path() / "images.gz"); });
  expect_contains(msg, {"images.gz", "expected a file", "found a folder"});
}

TEST(DataIdxTest, EmptyFile) {
  TempDir dir;
  for (const char* name : {"empty-idx1-ubyte", "empty-idx1-ubyte.gz"}) {
    SCOPED_TRACE(name);
    write_file(dir.path() / name, std::vector<std::uint8_t>{});
    const auto msg = input_error_of([&] { load_idx(dir.path() / name, 1); });
    expect_contains(msg, {name, "empty file", "expected an IDX header"});
  }
}

TEST(DataIdxTest, FileTooShortForTheMagicNumber) {
  TempDir dir;
  write_file(dir.path() / "short", std::vector<std::uint8_t>{0, 0});
  const auto msg = input_error_of([&] { load_idx(dir.path() / "short"); });
  expect_contains(msg, {"short", "expected at least 4 bytes", "found 2"});
}

TEST(DataIdxTest, GzNameButNotGzipData) {
  TempDir dir;
  write_file(dir.path() / "labels-idx1-ubyte.gz", idx_bytes({5}, labels(5)));
  const auto msg = input_error_of([&] { load_idx(dir.path() / "labels-idx1-ubyte.gz", 1); });
  // The file starts 00 00 08 01: say so, next to the magic that was expected.
  expect_contains(msg,
                  {"labels-idx1-ubyte.gz", "not gzip", "expected the gzip magic 1f 8b", "found"});
}

TEST(DataIdxTest, TruncatedGzip) {
  TempDir dir;
  const auto whole = gzip_bytes(idx_bytes({50, 8, 8}, pixels(50, 8, 8)));
  ASSERT_GT(whole.size(), 40u);
  for (const std::size_t keep : {whole.size() / 2, whole.size() - 4, std::size_t{12}}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " of " + std::to_string(whole.size()));
    std::vector<std::uint8_t> cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(keep));
    write_file(dir.path() / "images.gz", cut);
    const auto msg = input_error_of([&] { load_idx(dir.path() / "images.gz", 3); });
    expect_contains(msg, {"images.gz", "truncated"});
  }
}

TEST(DataIdxTest, GarbageAfterTheGzipData) {
  TempDir dir;
  auto bytes = gzip_bytes(idx_bytes({4}, labels(4)));
  const std::size_t end = bytes.size();
  bytes.insert(bytes.end(), {'j', 'u', 'n', 'k'});
  write_file(dir.path() / "labels.gz", bytes);
  const auto msg = input_error_of([&] { load_idx(dir.path() / "labels.gz", 1); });
  expect_contains(msg, {"labels.gz", "after the gzip data", "offset " + std::to_string(end)});
}

TEST(DataIdxTest, WrongMagicNumber) {
  TempDir dir;
  auto bytes = idx_bytes({2, 2, 2}, pixels(2, 2, 2));
  bytes[0] = 0x12;
  bytes[1] = 0x34;
  write_file(dir.path() / "images", bytes);
  const auto msg = input_error_of([&] { load_idx(dir.path() / "images", 3); });
  expect_contains(msg, {"images", "expected magic number 0x00000803", "found 0x12340803"});
}

TEST(DataIdxTest, LabelsFileWhereImagesWereExpected) {
  // The magic's last byte is the number of dimensions: a labels file has 1, images need 3.
  TempDir dir;
  write_file(dir.path() / "train-labels-idx1-ubyte", idx_bytes({6}, labels(6)));
  const auto msg = input_error_of([&] { load_idx(dir.path() / "train-labels-idx1-ubyte", 3); });
  expect_contains(msg, {"train-labels-idx1-ubyte", "3 dimensions",
                        "expected magic number 0x00000803", "found 0x00000801"});
}

TEST(DataIdxTest, WrongTypeByte) {
  TempDir dir;
  // 0x0D is IDX's float: 4 bytes an item, which the loader must refuse rather than misread.
  write_file(dir.path() / "floats", idx_bytes({2}, std::vector<std::uint8_t>(8, 0), 0x0D));
  const auto msg = input_error_of([&] { load_idx(dir.path() / "floats", 1); });
  expect_contains(msg,
                  {"floats", "expected unsigned-byte data (IDX type 0x08)", "found type 0x0D"});
}

TEST(DataIdxTest, TruncatedHeader) {
  TempDir dir;
  // Three dimensions need 4 + 12 header bytes; give the magic and one dimension.
  write_file(dir.path() / "images", std::vector<std::uint8_t>{0, 0, 8, 3, 0, 0, 0, 9});
  const auto msg = input_error_of([&] { load_idx(dir.path() / "images", 3); });
  expect_contains(msg, {"images", "expected 16 bytes", "found 8"});
}

TEST(DataIdxTest, HeaderClaimingMoreThanTheFileHoldsThrowsInsteadOfAllocating) {
  TempDir dir;
  // 2^31 images of 28x28 is 1.7 TB: the loader must compare with the ~1 KB it has, not allocate.
  const std::vector<std::uint8_t> data(1000, 7);
  for (const bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "raw");
    const std::string name = gzip ? "images.gz" : "images";
    write_file(dir.path() / name, maybe_gzip(idx_bytes({1u << 31, 28, 28}, data), gzip));
    const auto msg = input_error_of([&] { load_idx(dir.path() / name, 3); });
    // gzip: a claim beyond what deflate can pack into the file is refused before decompressing.
    expect_contains(msg, {name, "2147483648x28x28", gzip ? "holds at most" : "holds 1000"});
  }
}

TEST(DataIdxTest, HeaderWhoseProductOverflowsIsRejected) {
  // 65536^4 = 2^64 wraps to 0 in 64 bits, which would match a file with no data at all.
  TempDir dir;
  write_file(dir.path() / "wrap", idx_bytes({65536, 65536, 65536, 65536}, {}));
  const auto msg = input_error_of([&] { load_idx(dir.path() / "wrap"); });
  expect_contains(msg, {"wrap", "65536x65536x65536x65536", "holds 0"});
  // And the largest dimensions IDX can state, with a little data.
  write_file(dir.path() / "max",
             idx_bytes({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, std::vector<std::uint8_t>(64, 1)));
  const auto msg2 = input_error_of([&] { load_idx(dir.path() / "max", 3); });
  expect_contains(msg2, {"max", "4294967295x4294967295x4294967295", "holds 64"});
}

TEST(DataIdxTest, HeaderClaimingLessThanTheFileHolds) {
  TempDir dir;
  auto bytes = idx_bytes({2, 2, 2}, pixels(2, 2, 2));
  bytes.insert(bytes.end(), {1, 2, 3});
  for (const bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "raw");
    const std::string name = gzip ? "images.gz" : "images";
    write_file(dir.path() / name, maybe_gzip(bytes, gzip));
    const auto msg = input_error_of([&] { load_idx(dir.path() / name, 3); });
    // gzip: decompression stops at the header's size, so the loader never learns the rest.
    expect_contains(msg, {name, "2x2x2 = 8 bytes", gzip ? "holds more" : "holds 11"});
  }
}

// --- Fashion-MNIST -------------------------------------------------------------------------

TEST(DataIdxTest, GzipHeaderThenMoreDataThanItClaimsStopsAtTheClaim) {
  // The header says 2 images of 2x2, the member holds 1 MB: decompression stops at 24 bytes.
  std::vector<std::uint8_t> raw = idx_bytes({2, 2, 2}, pixels(2, 2, 2));
  raw.resize(1 << 20, 0);
  const auto msg = input_error_of([&] { parse_idx(gzip_bytes(raw), "big.gz", 3); });
  expect_contains(msg, {"big.gz: header claims 2x2x2 = 8 bytes of data but the file holds more "
                        "(decompression stopped there)"});
}

TEST(DataIdxTest, GzipHeaderSplitAcrossMembersIsRead) {
  // `cat a.gz b.gz`: the header's bytes come from two members, the data from a third.
  const std::vector<std::uint8_t> raw = idx_bytes({3, 2, 2}, pixels(3, 2, 2));
  std::vector<std::uint8_t> file;
  for (auto [b, e] : {std::pair<std::size_t, std::size_t>{0, 2}, {2, 9}, {9, raw.size()}}) {
    const auto part = gzip_bytes(std::span(raw).subspan(b, e - b));
    file.insert(file.end(), part.begin(), part.end());
  }
  const IdxArray a = parse_idx(file, "parts.gz", 3);
  EXPECT_EQ(a.dims, (std::vector<std::size_t>{3, 2, 2}));
  EXPECT_EQ(a.data, pixels(3, 2, 2));
}

TEST(GunzipTest, StopsAtTheCapWithTheCallersMessage) {
  const auto gz = gzip_bytes(std::vector<std::uint8_t>(10000, 7));
  EXPECT_EQ(gunzip(gz, "x.gz", 10000), std::vector<std::uint8_t>(10000, 7));
  expect_contains(input_error_of([&] { gunzip(gz, "x.gz", 9999); }),
                  {"x.gz: gzip data decompresses to more than 9999 bytes (stopped there)"});
  expect_contains(input_error_of([&] { gunzip(gz, "x.gz", 100, "too much for the header"); }),
                  {"x.gz: too much for the header"});
}

TEST(GunzipTest, PrefixReadsOnlyWhatItIsAskedFor) {
  std::vector<std::uint8_t> raw(100000);
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(i * 31);
  const auto gz = gzip_bytes(raw);
  EXPECT_EQ(gunzip_prefix(gz, "x.gz", 10),
            std::vector<std::uint8_t>(raw.begin(), raw.begin() + 10));
  // Shorter data gives what there is; broken data the whole decoder's message.
  EXPECT_EQ(gunzip_prefix(gzip_bytes(std::vector<std::uint8_t>{1, 2}), "y.gz", 10),
            (std::vector<std::uint8_t>{1, 2}));
  auto cut = gz;
  cut.resize(20);
  expect_contains(input_error_of([&] { gunzip_prefix(cut, "cut.gz", 100000); }),
                  {"cut.gz: corrupt or truncated gzip data"});
}

TEST(GunzipTest, EmptyAndForeignData) {
  expect_contains(input_error_of([&] { gunzip({}, "e.gz"); }),
                  {"e.gz: not gzip data: expected the gzip magic 1f 8b but found an empty file"});
  const std::vector<std::uint8_t> text = {'h', 'i'};
  expect_contains(input_error_of([&] { gunzip(text, "t.gz"); }),
                  {"t.gz: not gzip data: expected the gzip magic 1f 8b but found 68 69"});
}

TEST(DataFashionMnistTest, ClassNamesInLabelOrder) {
  const std::array<std::string_view, 10> expected = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  EXPECT_EQ(fashion_mnist_classes(), expected);
}

void expect_small_set(const TrainTest& tt, const fs::path& dir, const Names& names) {
  EXPECT_EQ(tt.train.rows, 12u);
  EXPECT_EQ(tt.test.rows, 5u);
  for (const Dataset* d : {&tt.train, &tt.test}) {
    EXPECT_EQ(d->inputs, 12u);
    EXPECT_EQ(d->shape, (std::vector<std::size_t>{4, 3}));
    EXPECT_FLOAT_EQ(d->scale, 1.0f / 255.0f);
    EXPECT_TRUE(d->is_bytes());
    EXPECT_TRUE(d->values.empty());
    ASSERT_EQ(d->classes(), 10u);
    for (std::size_t c = 0; c < 10; ++c) EXPECT_EQ(d->class_names[c], fashion_mnist_classes()[c]);
  }
  EXPECT_EQ(tt.train.pixels, pixels(12, 4, 3));
  EXPECT_EQ(tt.test.pixels, pixels(5, 4, 3));
  const auto as_int = [](const std::vector<std::uint8_t>& v) {
    return std::vector<std::int32_t>(v.begin(), v.end());
  };
  EXPECT_EQ(tt.train.labels, as_int(labels(12)));
  EXPECT_EQ(tt.test.labels, as_int(labels(5)));
  EXPECT_EQ(fs::path(tt.train.source), dir / names.train_images);
  EXPECT_EQ(fs::path(tt.test.source), dir / names.test_images);
}

TEST(DataFashionMnistTest, LoadsEveryNamingStyleRawAndGzipped) {
  for (const bool dotted : {false, true})
    for (const bool gzip : {false, true}) {
      SCOPED_TRACE(std::string(dotted ? "train-images.idx3-ubyte" : "train-images-idx3-ubyte") +
                   (gzip ? ".gz" : ""));
      TempDir dir;
      const Names names = dotted ? dotted_names(gzip) : debian_names(gzip);
      write_set(dir.path(), names, gzip);
      expect_small_set(load_fashion_mnist(dir.path()), dir.path(), names);
    }
}

TEST(DataFashionMnistTest, TheTestSetAloneNeedsOnlyTheTestFiles) {
  // eval and show read only t10k-*: a folder without training files is enough for them, and
  // what they get equals the test half of the full load.
  TempDir dir;
  const Names names = debian_names(true);
  write_set(dir.path(), names, true);
  const Dataset whole = load_fashion_mnist(dir.path()).test;
  std::filesystem::remove(dir.path() / names.train_images);
  std::filesystem::remove(dir.path() / names.train_labels);
  EXPECT_THROW(load_fashion_mnist(dir.path()), InputError);
  const Dataset test = load_fashion_mnist_test(dir.path());
  EXPECT_EQ(test.rows, whole.rows);
  EXPECT_EQ(test.shape, whole.shape);
  EXPECT_EQ(test.pixels, whole.pixels);
  EXPECT_EQ(test.labels, whole.labels);
  EXPECT_EQ(test.class_names, whole.class_names);
  EXPECT_THROW(load_fashion_mnist_test(dir.path() / "missing"), InputError);
}

TEST(DataFashionMnistTest, LoadsAFolderMixingStylesAndCompression) {
  TempDir dir;
  const Names names = {"train-images-idx3-ubyte.gz", "train-labels.idx1-ubyte",
                       "t10k-images.idx3-ubyte.gz", "t10k-labels-idx1-ubyte"};
  write_file(dir.path() / names.train_images, gzip_bytes(idx_bytes({12, 4, 3}, pixels(12, 4, 3))));
  write_file(dir.path() / names.train_labels, idx_bytes({12}, labels(12)));
  write_file(dir.path() / names.test_images, gzip_bytes(idx_bytes({5, 4, 3}, pixels(5, 4, 3))));
  write_file(dir.path() / names.test_labels, idx_bytes({5}, labels(5)));
  expect_small_set(load_fashion_mnist(dir.path()), dir.path(), names);
}

TEST(DataFashionMnistTest, LoadsTheTestFixture) {
  TempDir dir;
  test::write_tiny_fashion(dir.path(), 30, 20);
  const TrainTest tt = load_fashion_mnist(dir.path());
  EXPECT_EQ(tt.train.rows, 30u);
  EXPECT_EQ(tt.test.rows, 20u);
  EXPECT_EQ(tt.train.inputs, 784u);
  for (std::size_t i = 0; i < 30; ++i) EXPECT_EQ(tt.train.labels[i], static_cast<int>(i % 10));
}

TEST(DataFashionMnistTest, MissingFolder) {
  TempDir dir;
  const fs::path missing = dir.path() / "no-such-folder";
  const auto msg = input_error_of([&] { load_fashion_mnist(missing); });
  expect_contains(msg, {"no-such-folder", "folder not found", "expected the Fashion-MNIST files"});
}

TEST(DataFashionMnistTest, FileInsteadOfFolder) {
  TempDir dir;
  test::write_text(dir.path() / "notes.txt", "hello\n");
  const auto msg = input_error_of([&] { load_fashion_mnist(dir.path() / "notes.txt"); });
  expect_contains(msg, {"notes.txt", "expected a folder", "found a file"});
}

TEST(DataFashionMnistTest, EachMissingFileIsNamed) {
  const Names names = debian_names(true);
  const std::pair<std::string, std::string> files[] = {
      {names.train_images, "train-images.idx3-ubyte[.gz]"},
      {names.train_labels, "train-labels.idx1-ubyte[.gz]"},
      {names.test_images, "t10k-images.idx3-ubyte[.gz]"},
      {names.test_labels, "t10k-labels.idx1-ubyte[.gz]"}};
  for (const auto& [file, other_style] : files) {
    SCOPED_TRACE(file);
    TempDir dir;
    write_set(dir.path(), names, true);
    fs::remove(dir.path() / file);
    const auto msg = input_error_of([&] { load_fashion_mnist(dir.path()); });
    const std::string stem = file.substr(0, file.size() - 3);  // without ".gz"
    expect_contains(msg, {dir.path().string(), "no file " + stem + "[.gz]", other_style});
  }
}

TEST(DataFashionMnistTest, EmptyFile) {
  TempDir dir;
  write_set(dir.path(), debian_names(true), true);
  write_file(dir.path() / "t10k-labels-idx1-ubyte.gz", std::vector<std::uint8_t>{});
  const auto msg = input_error_of([&] { load_fashion_mnist(dir.path()); });
  expect_contains(msg, {"t10k-labels-idx1-ubyte.gz", "empty file", "expected an IDX header"});
}

TEST(DataFashionMnistTest, CountsOfImagesAndLabelsDiffer) {
  TempDir dir;
  write_set(dir.path(), debian_names(true), true);
  write_file(dir.path() / "train-labels-idx1-ubyte.gz", gzip_bytes(idx_bytes({11}, labels(11))));
  const auto msg = input_error_of([&] { load_fashion_mnist(dir.path()); });
  expect_contains(
      msg, {"train-images-idx3-ubyte.gz", "image count 12", "train-labels-idx1-ubyte.gz has 11"});
}

TEST(DataFashionMnistTest, LabelOutOfRange) {
  TempDir dir;
  write_set(dir.path(), debian_names(false), false);
  auto bad = labels(5);
  bad[3] = 10;
  write_file(dir.path() / "t10k-labels-idx1-ubyte", idx_bytes({5}, bad));
  const auto msg = input_error_of([&] { load_fashion_mnist(dir.path()); });
  expect_contains(msg, {"t10k-labels-idx1-ubyte", "label 10 at index 3", "10 classes (0-9)"});
  bad[3] = 255;
  write_file(dir.path() / "t10k-labels-idx1-ubyte", idx_bytes({5}, bad));
  expect_contains(input_error_of([&] { load_fashion_mnist(dir.path()); }),
                  {"t10k-labels-idx1-ubyte", "label 255 at index 3"});
}

TEST(DataFashionMnistTest, TrainAndTestImagesOfDifferentSizes) {
  TempDir dir;
  write_set(dir.path(), debian_names(true), true);
  write_file(dir.path() / "t10k-images-idx3-ubyte.gz",
             gzip_bytes(idx_bytes({5, 3, 4}, pixels(5, 3, 4))));
  const auto msg = input_error_of([&] { load_fashion_mnist(dir.path()); });
  expect_contains(msg, {"t10k-images-idx3-ubyte.gz", "images are 3x4", "training images are 4x3"});
}

TEST(DataFashionMnistTest, ImagesFileWithTheWrongNumberOfDimensions) {
  TempDir dir;
  write_set(dir.path(), debian_names(true), true);
  write_file(dir.path() / "train-images-idx3-ubyte.gz",
             gzip_bytes(idx_bytes({12, 12}, pixels(12, 4, 3))));
  const auto msg = input_error_of([&] { load_fashion_mnist(dir.path()); });
  expect_contains(
      msg, {"train-images-idx3-ubyte.gz", "expected magic number 0x00000803", "found 0x00000802"});
}

TEST(DataFashionMnistTest, EmptyTrainingSetIsRejected) {
  // A header of 0 images is a well-formed IDX file but nothing to train on or to evaluate: the
  // loader must say so instead of handing on a data set whose mean loss is 0/0.
  for (const bool test_side : {false, true}) {
    SCOPED_TRACE(test_side ? "no test images" : "no training images");
    TempDir dir;
    write_set(dir.path(), debian_names(true), true, test_side ? 12 : 0, test_side ? 0 : 5);
    const auto msg = input_error_of([&] { load_fashion_mnist(dir.path()); });
    expect_contains(msg, {test_side ? "t10k-images-idx3-ubyte.gz" : "train-images-idx3-ubyte.gz"});
  }
}

// --- Dataset -------------------------------------------------------------------------------

TEST(DataDatasetTest, KeepFirstKeepsTheFirstExamplesOfBytes) {
  TempDir dir;
  write_set(dir.path(), debian_names(false), false);
  Dataset d = load_fashion_mnist(dir.path()).train;
  d.keep_first(7);
  EXPECT_EQ(d.rows, 7u);
  EXPECT_EQ(d.inputs, 12u);
  const auto all = pixels(12, 4, 3);
  EXPECT_EQ(d.pixels, std::vector<std::uint8_t>(all.begin(), all.begin() + 7 * 12));
  const auto l = labels(7);
  EXPECT_EQ(d.labels, std::vector<std::int32_t>(l.begin(), l.end()));
  EXPECT_EQ(d.shape, (std::vector<std::size_t>{4, 3}));
  EXPECT_EQ(d.classes(), 10u);
}

TEST(DataDatasetTest, KeepFirstKeepsTheFirstExamplesOfValues) {
  Dataset d;
  d.rows = 4;
  d.inputs = 2;
  d.values = {1, 2, 3, 4, 5, 6, 7, 8};
  d.labels = {0, 1, 0, 1};
  d.class_names = {"no", "yes"};
  d.keep_first(3);
  EXPECT_EQ(d.rows, 3u);
  EXPECT_EQ(d.values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{0, 1, 0}));
  EXPECT_FALSE(d.is_bytes());
}

TEST(DataDatasetTest, KeepFirstOfAllOrMoreChangesNothing) {
  TempDir dir;
  write_set(dir.path(), debian_names(false), false);
  const Dataset original = load_fashion_mnist(dir.path()).train;
  for (const std::size_t n : {std::size_t{12}, std::size_t{13}, std::size_t{1000000}}) {
    Dataset d = original;
    d.keep_first(n);
    EXPECT_EQ(d.rows, 12u);
    EXPECT_EQ(d.pixels, original.pixels);
    EXPECT_EQ(d.labels, original.labels);
  }
}

// --- The default folder --------------------------------------------------------------------

TEST(DataDefaultDirTest, HonoursSoftregData) {
  ScopedEnv env("SOFTREG_DATA", "/some/where/fashion");
  EXPECT_EQ(default_fashion_mnist_dir(), fs::path("/some/where/fashion"));
}

TEST(DataDefaultDirTest, FallsBackToDebiansFolder) {
  {
    ScopedEnv env("SOFTREG_DATA", nullptr);
    EXPECT_EQ(default_fashion_mnist_dir(), fs::path("/usr/share/datasets/fashion-mnist"));
  }
  {
    ScopedEnv env("SOFTREG_DATA", "");  // set but empty: as if unset
    EXPECT_EQ(default_fashion_mnist_dir(), fs::path("/usr/share/datasets/fashion-mnist"));
  }
}

TEST(DataDefaultDirTest, LoaderReadsTheFolderSoftregDataNames) {
  TempDir dir;
  write_set(dir.path(), debian_names(true), true);
  ScopedEnv env("SOFTREG_DATA", dir.path().c_str());
  const TrainTest tt = load_fashion_mnist(default_fashion_mnist_dir());
  EXPECT_EQ(tt.train.rows, 12u);
  EXPECT_EQ(tt.test.rows, 5u);
}

TEST(DataDefaultDirTest, EnvironmentIsRestored) {
  // The tests above must leave SOFTREG_DATA as they found it.
  const char* before = std::getenv("SOFTREG_DATA");
  const std::optional<std::string> saved =
      before ? std::optional<std::string>(before) : std::nullopt;
  { ScopedEnv env("SOFTREG_DATA", "/elsewhere"); }
  const char* after = std::getenv("SOFTREG_DATA");
  EXPECT_EQ(saved.has_value(), after != nullptr);
  if (saved && after) EXPECT_EQ(*saved, after);
}

// --- The real data set (CI has it) ----------------------------------------------------------

TEST(DataRealFashionMnistTest, LoadsTheInstalledDataSet) {
  const fs::path dir = test::real_fashion_mnist_dir();
  ASSERT_FALSE(dir.empty()) << test::no_real_fashion_mnist();
  const TrainTest tt = load_fashion_mnist(dir);
  EXPECT_EQ(tt.train.rows, 60000u);
  EXPECT_EQ(tt.test.rows, 10000u);
  for (const Dataset* d : {&tt.train, &tt.test}) {
    EXPECT_EQ(d->shape, (std::vector<std::size_t>{28, 28}));
    EXPECT_EQ(d->inputs, 784u);
    EXPECT_EQ(d->pixels.size(), d->rows * 784u);
    EXPECT_EQ(d->labels.size(), d->rows);
    EXPECT_EQ(d->classes(), 10u);
  }
  std::array<std::size_t, 10> train_counts{}, test_counts{};
  for (const std::int32_t y : tt.train.labels) {
    ASSERT_GE(y, 0);
    ASSERT_LT(y, 10);
    ++train_counts[static_cast<std::size_t>(y)];
  }
  for (const std::int32_t y : tt.test.labels) {
    ASSERT_GE(y, 0);
    ASSERT_LT(y, 10);
    ++test_counts[static_cast<std::size_t>(y)];
  }
  for (std::size_t c = 0; c < 10; ++c) {
    EXPECT_EQ(train_counts[c], 6000u) << "class " << c;
    EXPECT_EQ(test_counts[c], 1000u) << "class " << c;
  }
  // Fashion-MNIST's first training image is an ankle boot (label 9).
  EXPECT_EQ(tt.train.labels[0], 9);
}

// rows_fingerprint: any cut of a data set into parts (a process's rows each) sums to the whole
// set's, for bytes, floats and sparse rows; a changed value, label or weight, or two rows
// swapped, changes it.
TEST(DataFingerprintTest, PartsAddUpToTheWholeAndAChangeShows) {
  Dataset bytes, floats, sparse;
  for (Dataset* d : {&bytes, &floats, &sparse}) {
    d->rows = 7;
    d->inputs = 5;
    d->class_names = {"a", "b", "c"};
    for (std::size_t i = 0; i < 7; ++i) d->labels.push_back(static_cast<std::int32_t>(i % 3));
  }
  bytes.scale = 1.0f / 255;
  for (std::size_t i = 0; i < 35; ++i) bytes.pixels.push_back(static_cast<std::uint8_t>(i * 7));
  for (std::size_t i = 0; i < 35; ++i) floats.values.push_back(0.25f * static_cast<float>(i));
  floats.weights = {1, 2, 1, 0.5, 1, 1, 3};
  sparse.sparse.offsets = {0};
  for (std::uint32_t i = 0; i < 7; ++i) {
    for (std::uint32_t j = i % 2; j < 5; j += 2) {
      sparse.sparse.cols.push_back(j);
      sparse.sparse.vals.push_back(static_cast<float>(i + j));
    }
    sparse.sparse.offsets.push_back(sparse.sparse.cols.size());
  }
  const auto whole = [](const Dataset& d) {
    return fingerprint_of_rows(d.rows, rows_fingerprint(d, 0), d.inputs, d.class_names);
  };
  for (const Dataset* d : {&bytes, &floats, &sparse}) {
    for (std::size_t cut = 0; cut <= d->rows; ++cut) {
      Dataset head = d->empty_like("head"), tail = d->empty_like("tail");
      for (std::size_t i = 0; i < d->rows; ++i) (i < cut ? head : tail).append_row(*d, i);
      EXPECT_EQ(
          fingerprint_of_rows(d->rows, rows_fingerprint(tail, cut) + rows_fingerprint(head, 0),
                              d->inputs, d->class_names),
          whole(*d))
          << "cut at " << cut;
    }
    Dataset swapped = d->empty_like("swapped");
    for (const std::size_t i : {1u, 0u, 2u, 3u, 4u, 5u, 6u}) swapped.append_row(*d, i);
    EXPECT_NE(whole(swapped), whole(*d));
    Dataset relabelled = *d;
    relabelled.labels[4] = 0;
    EXPECT_NE(whole(relabelled), whole(*d));
  }
  Dataset changed = bytes;
  changed.pixels[17] ^= 1;
  EXPECT_NE(whole(changed), whole(bytes));
  changed = floats;
  changed.weights[6] = 2;
  EXPECT_NE(whole(changed), whole(floats));
  changed = sparse;
  changed.sparse.vals[3] = 0.5f;
  EXPECT_NE(whole(changed), whole(sparse));
}

// Valid UTF-8 by the standard's table: overlong forms, surrogates, code points past U+10FFFF,
// stray continuation bytes and cut sequences are not.
TEST(DataUtf8Test, ValidUtf8IsTheStandardsTable) {
  for (const char* ok : {"", "abc", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBB\xBF",
                         "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"})
    EXPECT_TRUE(valid_utf8(ok)) << ok;
  for (const auto& [bad, at] : {std::pair<const char*, std::size_t>{"\xFF", 0},
                                {"a\x80", 1},
                                {"\xC0\xAF", 0},
                                {"\xE0\x80\xAF", 0},
                                {"\xED\xA0\x80", 0},
                                {"\xF4\x90\x80\x80", 0},
                                {"ab\xE2\x82", 2},
                                {"\xC3", 0}}) {
    std::size_t where = 99;
    EXPECT_FALSE(valid_utf8(bad, &where)) << bad;
    EXPECT_EQ(where, at) << bad;
  }
}

}  // namespace
}  // namespace softreg
