// Tests of the io module: safetensors model files (layout, round trip, validation), atomic file
// replacement (including saves that fail or are killed half-way), PNG decoding, area resizing.
#include "softreg/io.hpp"

#include <gtest/gtest.h>
#include <png.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cmath>
#include <csetjmp>
#include <csignal>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "softreg/error.hpp"
#include "softreg/random.hpp"
#include "softreg/safetensors.hpp"

namespace softreg {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::TempDir;

std::vector<std::uint8_t> slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

SoftmaxRegression random_model(std::size_t inputs, std::size_t classes, std::uint64_t seed) {
  SoftmaxRegression m(inputs, classes);
  Rng rng(seed);
  m.init(rng, 0.5f);
  for (float& b : m.bias()) b = static_cast<float>(rng.normal());
  return m;
}

ModelInfo fashion_info() {
  ModelInfo info;
  for (auto name : fashion_mnist_classes()) info.class_names.emplace_back(name);
  info.input_shape = {28, 28};
  info.input_scale = 1.0f / 255.0f;
  info.notes["epochs"] = "3";
  info.notes["training_options"] = R"({"lr":0.1})";
  return info;
}

// The header and the data section of a safetensors file, and back.
struct Parts {
  json header;
  std::vector<std::uint8_t> data;
};

Parts split(const std::vector<std::uint8_t>& bytes) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | bytes[static_cast<std::size_t>(i)];
  Parts p;
  p.header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  p.data.assign(bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n), bytes.end());
  return p;
}

std::vector<std::uint8_t> join(const std::string& header, const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> out;
  for (int shift = 0; shift < 64; shift += 8)
    out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(header.size()) >> shift));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<std::uint8_t> join(const Parts& p) {
  return join(p.header.dump(), p.data);
}

// Expects parsing `bytes` to throw an InputError whose one-line message starts with the file's
// name and holds `part`.
void expect_invalid(const std::vector<std::uint8_t>& bytes, const std::string& part) {
  try {
    parse_model_file(bytes, "m.safetensors");
    ADD_FAILURE() << "accepted; expected an error with \"" << part << "\"";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("m.safetensors: ", 0), 0u) << m;
    EXPECT_NE(m.find(part), std::string::npos) << m << "\nshould contain: " << part;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

// ------------------------------------------------------------------------------ layout

TEST(ModelFile, LayoutIsSafetensorsWithNnLinearNames) {
  SoftmaxRegression m(3, 2);
  const float w[] = {1.0f, -2.5f, 0.125f, 3.0f, 0.0f, -0.0f};
  const float b[] = {0.5f, -1.0f};
  std::copy(std::begin(w), std::end(w), m.weight().begin());
  std::copy(std::begin(b), std::end(b), m.bias().begin());
  ModelInfo info;
  info.class_names = {"no", "yes"};
  info.input_shape = {3};
  info.input_scale = 1.0f;
  info.notes["epochs"] = "7";
  const auto bytes = model_file_bytes(m, info);

  ASSERT_GE(bytes.size(), 8u);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | bytes[static_cast<std::size_t>(i)];
  EXPECT_EQ(n % 8, 0u) << "the header is padded so the data starts 8-byte aligned";
  ASSERT_EQ(bytes.size(), 8 + n + 4 * (6 + 2));
  const std::string text(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  EXPECT_EQ(text.front(), '{');
  EXPECT_EQ(text.find_last_not_of(' '), text.rfind('}')) << "padding is spaces after the JSON";
  const json h = json::parse(text);
  EXPECT_EQ(h["weight"], json::parse(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})"));
  EXPECT_EQ(h["bias"], json::parse(R"({"dtype":"F32","shape":[2],"data_offsets":[24,32]})"));
  const json& meta = h["__metadata__"];
  for (const auto& [key, value] : meta.items())
    EXPECT_TRUE(value.is_string()) << key << " must be text (safetensors: Dict[str, str])";
  EXPECT_EQ(meta["format"], "softreg");
  EXPECT_EQ(meta["format_version"], "1");
  EXPECT_EQ(meta["output"], "softmax");
  EXPECT_EQ(meta["class_names"], R"(["no","yes"])");
  EXPECT_EQ(meta["input_shape"], "[3]");
  EXPECT_EQ(meta["input_scale"], "1");
  EXPECT_EQ(meta["epochs"], "7");
  EXPECT_EQ(meta["created_by"].get<std::string>().rfind("softreg ", 0), 0u);
  EXPECT_FALSE(meta.contains("input_mean")) << "no standardisation, no key";

  // The data: W row-major, then b, float32 little-endian.
  const std::uint8_t* data = bytes.data() + 8 + n;
  for (std::size_t i = 0; i < 8; ++i) {
    const float expected = i < 6 ? w[i] : b[i - 6];
    const auto bits = std::bit_cast<std::uint32_t>(expected);
    for (std::size_t byte = 0; byte < 4; ++byte)
      EXPECT_EQ(data[4 * i + byte], static_cast<std::uint8_t>(bits >> (8 * byte)))
          << "float " << i << " byte " << byte;
  }
}

TEST(ModelFile, InputScaleIsTheShortestTextOfTheFloat) {
  const auto bytes = model_file_bytes(random_model(784, 10, 1), fashion_info());
  EXPECT_EQ(split(bytes).header["__metadata__"]["input_scale"], "0.003921569");
  EXPECT_EQ(parse_model_file(bytes, "m").info.input_scale, 1.0f / 255.0f);
}

// ------------------------------------------------------------------------------ round trip

TEST(ModelFile, SaveThenLoadIsBitIdenticalAndPredictsTheSame) {
  TempDir dir;
  const SoftmaxRegression m = random_model(784, 10, 42);
  const ModelInfo info = fashion_info();
  const fs::path file = dir.path() / "m.safetensors";
  save_model(file, m, info);
  const SavedModel loaded = load_model(file);

  ASSERT_EQ(loaded.model.inputs(), 784u);
  ASSERT_EQ(loaded.model.classes(), 10u);
  EXPECT_EQ(std::memcmp(loaded.model.weight().data(), m.weight().data(), 784 * 10 * 4), 0);
  EXPECT_EQ(std::memcmp(loaded.model.bias().data(), m.bias().data(), 10 * 4), 0);
  EXPECT_EQ(loaded.info.class_names, info.class_names);
  EXPECT_EQ(loaded.info.input_shape, info.input_shape);
  EXPECT_EQ(loaded.info.input_scale, info.input_scale);
  EXPECT_TRUE(loaded.info.input_mean.empty());
  EXPECT_EQ(loaded.info.notes.at("epochs"), "3");
  EXPECT_EQ(loaded.info.notes.at("training_options"), R"({"lr":0.1})");
  EXPECT_EQ(loaded.info.notes.count("created_by"), 1u);

  Matrix<float> x(37, 784);
  Rng rng(7);
  for (float& v : x.data) v = static_cast<float>(rng.uniform());
  const Matrix<float> a = m.logits(x), b = loaded.model.logits(x);
  EXPECT_EQ(std::memcmp(a.data.data(), b.data.data(), a.data.size() * 4), 0);
  EXPECT_EQ(m.predict(x), loaded.model.predict(x));

  // Saving what was loaded gives the same bytes again.
  const fs::path again = dir.path() / "again.safetensors";
  save_model(again, loaded.model, loaded.info);
  EXPECT_EQ(slurp(again), slurp(file));
}

TEST(ModelFile, LogisticModelHasOneRowAndTwoClasses) {
  SoftmaxRegression m(4, 2, Output::logistic);
  Rng rng(2);
  m.init(rng, 1.0f);
  ModelInfo info;
  info.class_names = {"benign", "malignant"};
  info.input_shape = {4};
  const auto bytes = model_file_bytes(m, info);
  const Parts p = split(bytes);
  EXPECT_EQ(p.header["weight"]["shape"], json::parse("[1,4]"));
  EXPECT_EQ(p.header["bias"]["shape"], json::parse("[1]"));
  EXPECT_EQ(p.header["__metadata__"]["output"], "logistic");
  const SavedModel s = parse_model_file(bytes, "m");
  EXPECT_EQ(s.model.output(), Output::logistic);
  EXPECT_EQ(s.model.classes(), 2u);
  EXPECT_EQ(std::vector<float>(s.model.weight().begin(), s.model.weight().end()),
            std::vector<float>(m.weight().begin(), m.weight().end()));
  // One row with "softmax", or two rows with "logistic", is inconsistent.
  Parts q = p;
  q.header["__metadata__"]["output"] = "softmax";
  expect_invalid(join(q), "a softmax model has a row per class, at least 2");
  q.header["__metadata__"]["output"] = "probit";
  expect_invalid(join(q), "expected \"softmax\" or \"logistic\"");
}

TEST(ModelFile, StandardisationRoundTripsAndIsApplied) {
  SoftmaxRegression m = random_model(3, 2, 5);
  ModelInfo info;
  info.class_names = {"a", "b"};
  info.input_shape = {3};
  info.input_mean = {0.5f, -1.0f, 0.1f};
  info.input_std = {2.0f, 0.25f, 1.0f};
  const SavedModel s = parse_model_file(model_file_bytes(m, info), "m");
  EXPECT_EQ(s.info.input_mean, info.input_mean);
  EXPECT_EQ(s.info.input_std, info.input_std);

  Dataset d;
  d.rows = 1;
  d.inputs = 3;
  d.values = {1.5f, 0.0f, 0.1f};
  std::vector<float> buffer;
  const Features f = model_features(s.info, d, buffer);
  ASSERT_NE(f.floats, nullptr);
  EXPECT_EQ(f.scale, 1.0f);
  EXPECT_FLOAT_EQ(f.floats[0], 0.5f);  // (1.5 - 0.5) / 2
  EXPECT_FLOAT_EQ(f.floats[1], 4.0f);  // (0 + 1) / 0.25
  EXPECT_FLOAT_EQ(f.floats[2], 0.0f);
}

TEST(ModelFile, RefusesToWriteWhatCannotBeRead) {
  SoftmaxRegression m = random_model(784, 10, 1);
  ModelInfo info = fashion_info();
  info.class_names.pop_back();
  EXPECT_THROW(model_file_bytes(m, info), std::invalid_argument);
  info = fashion_info();
  info.input_shape = {28, 27};
  EXPECT_THROW(model_file_bytes(m, info), std::invalid_argument);
  info = fashion_info();
  info.notes["format"] = "mine";
  EXPECT_THROW(model_file_bytes(m, info), std::invalid_argument);
  m.weight()[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(model_file_bytes(m, fashion_info()), std::invalid_argument)
      << "nothing NaN is ever saved";
}

// ------------------------------------------------------------------------------ validation

class ModelFileInvalid : public testing::Test {
 protected:
  std::vector<std::uint8_t> good_ = model_file_bytes(random_model(784, 10, 3), fashion_info());
  Parts parts_ = split(good_);
};

TEST_F(ModelFileInvalid, TheGoodFileIsAccepted) {
  EXPECT_NO_THROW(parse_model_file(good_, "m.safetensors"));
  EXPECT_NO_THROW(parse_model_file(join(parts_), "m.safetensors")) << "unpadded header";
}

TEST_F(ModelFileInvalid, TooShortOrEmpty) {
  expect_invalid({}, "empty file");
  expect_invalid({1, 2, 3}, "expected at least 8 bytes");
}

TEST_F(ModelFileInvalid, HeaderLengthPastTheEnd) {
  auto bytes = good_;
  bytes[7] = 0x80;  // 2^63 + ...
  expect_invalid(bytes, "runs past the end of the file");
  bytes.resize(200);
  bytes[7] = 0;
  expect_invalid(bytes, "runs past the end of the file");
}

TEST_F(ModelFileInvalid, TruncatedData) {
  auto bytes = good_;
  bytes.resize(bytes.size() - 1);
  expect_invalid(bytes, "truncated");
}

TEST_F(ModelFileInvalid, InvalidOrDeepJson) {
  expect_invalid(join("{\"weight\": {\"dtype\": \"F3", parts_.data), "invalid JSON in the header");
  // The header is read as a stream: a wrong value is refused where it stands.
  expect_invalid(join("{\"weight\": [1, 2", parts_.data), "tensor \"weight\": expected an object");
  expect_invalid(join("[1, 2]", parts_.data), "JSON object");
  // A hostile header nested 100000 deep: an error, not a stack overflow.
  expect_invalid(
      join("{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}", parts_.data),
      "tensor \"a\": expected an object");
}

TEST_F(ModelFileInvalid, TensorEntries) {
  auto with = [&](const char* tensor, const char* key, json value) {
    Parts p = parts_;
    p.header[tensor][key] = std::move(value);
    return join(p);
  };
  expect_invalid(with("weight", "dtype", "I32"),
                 "tensor \"weight\": expected dtype F32 but found I32");
  expect_invalid(with("weight", "dtype", "Q4"), "unknown dtype \"Q4\"");
  expect_invalid(with("weight", "shape", {10, -784}), "non-negative whole numbers");
  expect_invalid(with("weight", "shape", {10, 785}), "needs 31400");
  expect_invalid(with("weight", "shape", {std::uint64_t{1} << 62, 1u << 30}),
                 "needs more than the file holds");
  expect_invalid(with("bias", "data_offsets", {31360, 99999}), "past the end of the data section");
  expect_invalid(with("bias", "data_offsets", {31400, 31360}), "begin is past end");
  expect_invalid(with("bias", "data_offsets", {31320, 31360}), "overlap");
  expect_invalid(with("bias", "data_offsets", {31360}), "expected [begin, end]");
  expect_invalid(with("bias", "extra", 1), "unexpected field \"extra\"");
  expect_invalid(with("bias", "shape", {5, 2}), "tensor \"bias\": expected shape [10]");
}

TEST_F(ModelFileInvalid, HolesAndMissingTensors) {
  Parts p = parts_;
  p.header.erase("bias");
  p.data.resize(31360);
  expect_invalid(join(p), "no tensor \"bias\"");
  p = parts_;
  p.data.push_back(0);
  expect_invalid(join(p), "the data section holds 31401 bytes but the tensors use 31400");
  // An extra tensor in a well-formed file is fine: other tools may add some.
  p = parts_;
  p.header["extra"] = {{"dtype", "U8"}, {"shape", {2}}, {"data_offsets", {31400, 31402}}};
  p.data.insert(p.data.end(), {1, 2});
  EXPECT_NO_THROW(parse_model_file(join(p), "m"));
}

TEST_F(ModelFileInvalid, Metadata) {
  auto with = [&](const char* key, json value) {
    Parts p = parts_;
    if (value.is_null())
      p.header["__metadata__"].erase(key);
    else
      p.header["__metadata__"][key] = std::move(value);
    return join(p);
  };
  Parts p = parts_;
  p.header.erase("__metadata__");
  expect_invalid(join(p), "no __metadata__");
  expect_invalid(with("epochs", 3), "__metadata__ \"epochs\": expected text");
  expect_invalid(with("format", "pt"), "expected \"softreg\" but found \"pt\"");
  expect_invalid(with("format_version", "2"), "reads version 1 but found \"2\"");
  expect_invalid(with("class_names", nullptr), "no \"class_names\"");
  expect_invalid(with("class_names", R"(["a","b"])"), "2 names but the model has 10 classes");
  // Read as a stream: the first thing wrong is what the message names.
  expect_invalid(with("class_names", "[1,2"),
                 "class_names: expected names (text) but found a number");
  expect_invalid(with("class_names", R"(["a","b")"), "class_names: expected a JSON list of names");
  expect_invalid(with("class_names", R"(["a",["b"]])"), "expected names (text) but found a list");
  expect_invalid(with("input_shape", "[28,27]"), "input_shape 28x27 but weight has 784 inputs");
  expect_invalid(with("input_shape", "[784,0]"), "whole numbers > 0");
  expect_invalid(with("input_scale", "-1"), "input_scale: expected a number > 0");
  expect_invalid(with("input_scale", "1e99"), "input_scale: expected a number > 0");
  expect_invalid(with("input_mean", "[0]"), "come together");
  // The notes that describe the inputs must fit W: a text pipeline's 2^hash_bits columns (predict
  // would read W past its end), one name per input.
  const std::string text =
      R"({"tokenizer":"softreg-words-1","ngrams":2,"hash":"xxh3_64","seed":0,"hash_bits":24,)"
      R"("weighting":"binary","norm":"none"})";
  expect_invalid(with("text_features", text),
                 "__metadata__ text_features: hash_bits 24 means 16777216 inputs but the model has "
                 "input_shape 28x28 (weight: 784 inputs)");
  expect_invalid(with("text_features", "{"), "the model's text_features are not JSON");
  expect_invalid(with("feature_names", R"(["a","b","c"])"),
                 "__metadata__ feature_names: 3 names but the model has 784 inputs");
  expect_invalid(with("feature_names", "[1]"), "feature_names: expected a JSON list of names");
}

TEST(ModelFile, RefusesToWriteNotesThatDoNotFitTheInputs) {
  const SoftmaxRegression m = random_model(784, 10, 1);
  ModelInfo info = fashion_info();
  TextOptions text;
  text.hash_bits = 10;
  info.notes["text_features"] = text_options_note(text);
  EXPECT_THROW(model_file_bytes(m, info), std::invalid_argument);
  info = fashion_info();
  info.notes["feature_names"] = R"(["a"])";
  EXPECT_THROW(model_file_bytes(m, info), std::invalid_argument);
}

TEST_F(ModelFileInvalid, NonFiniteWeights) {
  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    Parts p = parts_;
    const auto bits = std::bit_cast<std::uint32_t>(bad);
    const std::size_t at = 4 * (784 * 2 + 5);  // W[2][5]
    for (std::size_t i = 0; i < 4; ++i) p.data[at + i] = static_cast<std::uint8_t>(bits >> (8 * i));
    expect_invalid(join(p), "value " + std::string(std::isnan(bad) ? "nan" : "inf") + " at [2, 5]");
  }
}

// ------------------------------------------------------------------------------ atomic files

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicWrite, ReplacesTheFileAndLeavesNothingElse) {
  TempDir dir;
  const fs::path file = dir.path() / "out.bin";
  const std::vector<std::uint8_t> a = {1, 2, 3}, b(100000, 7);
  write_file_atomic(file, a);
  EXPECT_EQ(slurp(file), a);
  write_file_atomic(file, b);
  EXPECT_EQ(slurp(file), b);
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.bin"});
}

TEST(AtomicWrite, FolderThatCannotTakeTheFile) {
  TempDir dir;
  const fs::path not_a_folder = dir.path() / "plain-file";
  test::write_text(not_a_folder, "x");
  const std::vector<std::uint8_t> bytes = {1};
  // At write time (after check_writable) a folder that cannot take the file is a failure at run
  // time: softreg::Error, not the user's InputError.
  auto error_of = [&](const fs::path& file) -> std::string {
    try {
      write_file_atomic(file, bytes);
    } catch (const InputError& e) {
      return std::string("InputError: ") + e.what();
    } catch (const Error& e) {
      return e.what();
    }
    return "(written)";
  };
  EXPECT_EQ(error_of(not_a_folder / "m.safetensors"),
            (not_a_folder / "m.safetensors").string() + ": " + not_a_folder.string() +
                " is not a folder; the file was not changed");
  EXPECT_EQ(error_of(dir.path() / "missing" / "m"),
            (dir.path() / "missing" / "m").string() + ": folder " +
                (dir.path() / "missing").string() + " does not exist; the file was not changed");
  EXPECT_EQ(error_of(dir.path()),
            dir.path().string() + ": expected a file but found a folder; nothing was written");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"plain-file"});
}

TEST(AtomicWrite, CheckWritableTouchesNothing) {
  TempDir dir;
  const fs::path file = dir.path() / "m.safetensors";
  EXPECT_NO_THROW(check_writable(file, "--out"));
  EXPECT_TRUE(names_in(dir.path()).empty());
  test::write_text(dir.path() / "f", "x");
  try {
    check_writable(dir.path() / "f" / "m.safetensors", "--out");
    ADD_FAILURE() << "accepted a folder that is a file";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("m.safetensors"), std::string::npos) << m;
    EXPECT_NE(m.find("is not a folder"), std::string::npos) << m;
    EXPECT_NE(m.find("(--out)"), std::string::npos) << m;
  }
  try {
    check_writable(dir.path() / "nowhere" / "m.safetensors", "--out");
    ADD_FAILURE() << "accepted a missing folder";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
}

TEST(AtomicWrite, ReadOnlyFolderKeepsThePreviousFile) {
  TempDir dir;
  const fs::path file = dir.path() / "m.safetensors";
  const std::vector<std::uint8_t> old = {9, 8, 7};
  write_file_atomic(file, old);
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec |
                                  fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  // Root writes through any permission bits: as root, the child becomes user nobody first (and
  // not being able to is a failure: the check would not run).
  const pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(77);
    try {
      write_file_atomic(file, std::vector<std::uint8_t>(10, 1));
    } catch (const InputError&) {
      _exit(2);
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  fs::permissions(dir.path(), fs::perms::owner_all);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_NE(WEXITSTATUS(status), 77) << "running as root, but cannot become user nobody (65534)";
  EXPECT_EQ(WEXITSTATUS(status), 1) << "a folder that refuses the file at write time is Error";
  EXPECT_EQ(slurp(file), old);
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"m.safetensors"});
}

// Runs write_file_atomic(file, bytes) in a child process whose file size limit is `limit` bytes,
// so the write fails part-way (root or not). With SIGXFSZ ignored the write returns EFBIG and the
// save fails cleanly; with the default action the kernel kills the child mid-write. Returns the
// child's wait status.
int write_in_child_with_file_limit(const fs::path& file, const std::vector<std::uint8_t>& bytes,
                                   rlim_t limit, bool ignore_sigxfsz) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (ignore_sigxfsz) std::signal(SIGXFSZ, SIG_IGN);
    rlimit rl{limit, limit};
    setrlimit(RLIMIT_FSIZE, &rl);
    try {
      write_file_atomic(file, bytes);
    } catch (const InputError&) {
      _exit(2);
    } catch (const Error&) {
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(AtomicWrite, FailedWriteKeepsThePreviousFile) {
  TempDir dir;
  const fs::path file = dir.path() / "m.safetensors";
  const auto old = model_file_bytes(random_model(784, 10, 1), fashion_info());
  write_file_atomic(file, old);
  const auto bigger = std::vector<std::uint8_t>(1 << 20, 0xAB);
  const int status = write_in_child_with_file_limit(file, bigger, 64 * 1024, true);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 1) << "the save must fail with softreg::Error";
  EXPECT_EQ(slurp(file), old);
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"m.safetensors"})
      << "the temporary file is removed";
}

TEST(AtomicWrite, KilledDuringTheWriteKeepsThePreviousFile) {
  TempDir dir;
  const fs::path file = dir.path() / "m.safetensors";
  const auto old = model_file_bytes(random_model(784, 10, 1), fashion_info());
  write_file_atomic(file, old);
  const auto bigger = std::vector<std::uint8_t>(1 << 20, 0xAB);
  const int status = write_in_child_with_file_limit(file, bigger, 64 * 1024, false);
  ASSERT_TRUE(WIFSIGNALED(status))
      << "the child should die of SIGXFSZ mid-write; status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGXFSZ);
  EXPECT_EQ(slurp(file), old) << "the previous model must be byte-identical";
  EXPECT_NO_THROW(load_model(file));
  // The dead process's partial temporary file is left behind, and harms nothing.
  EXPECT_EQ(names_in(dir.path()).size(), 2u);
  write_file_atomic(file, bigger);
  EXPECT_EQ(slurp(file), bigger);
}

// ------------------------------------------------------------------------------ safetensors

std::string safetensors_error(const std::string& header, std::size_t data_bytes = 0) {
  try {
    parse_safetensors(join(header, std::vector<std::uint8_t>(data_bytes)), "s.safetensors");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Safetensors, ContainersOfAnyTensorsAndMetadataRoundTrip) {
  const std::vector<std::uint8_t> a = {1, 2, 3, 4, 5, 6, 7, 8}, b = {9, 10};
  const auto bytes = safetensors_bytes(
      {{"k", "v"}, {"empty", ""}},
      {{"a", "F64", {1}, a}, {"b", "U8", {2, 1}, b}, {"none", "F32", {0, 5}, {}}});
  const SafetensorsFile f = parse_safetensors(bytes, "s");
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.tensors[1].name, "b");
  EXPECT_EQ(f.tensors[1].shape, (std::vector<std::size_t>{2, 1}));
  EXPECT_TRUE(std::equal(b.begin(), b.end(), f.tensors[1].data.begin(), f.tensors[1].data.end()));
  EXPECT_EQ(f.find("none")->data.size(), 0u);
  EXPECT_EQ(f.find("missing"), nullptr);
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{{"k", "v"}, {"empty", ""}}));
  // A container of nothing is the object "{}" (padded), not JSON's null, and reads back empty.
  const auto empty = safetensors_bytes({}, {});
  EXPECT_EQ(std::string(empty.begin() + 8, empty.begin() + 10), "{}");
  const SafetensorsFile none = parse_safetensors(empty, "empty");
  EXPECT_TRUE(none.tensors.empty());
  EXPECT_FALSE(none.has_metadata);
}

TEST(Safetensors, HeadersBeyondTheLimitsAreRefusedAsTheyAreRead) {
  std::string many = "{";
  for (std::size_t i = 0; i <= kMaxTensors; ++i)
    many += (i ? "," : "") + ("\"t" + std::to_string(i) +
                              "\":{\"dtype\":\"U8\",\"shape\":[0],"
                              "\"data_offsets\":[0,0]}");
  EXPECT_EQ(safetensors_error(many + "}"), "s.safetensors: more than 1024 tensors in the header");
  std::string keys = "{\"__metadata__\":{";
  for (std::size_t i = 0; i <= kMaxMetadataKeys; ++i)
    keys += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":\"\"");
  EXPECT_EQ(safetensors_error(keys + "}}"),
            "s.safetensors: __metadata__ holds more than 4096 keys");
  std::string rank = "{\"x\":{\"dtype\":\"U8\",\"shape\":[";
  for (std::size_t i = 0; i <= kMaxTensorRank; ++i) rank += (i ? ",1" : "1");
  EXPECT_EQ(safetensors_error(rank + "],\"data_offsets\":[0,1]}}", 1),
            "s.safetensors: tensor \"x\": shape has more than 32 dimensions");
}

TEST(Safetensors, EveryWrongValueIsNamedWhereItStands) {
  EXPECT_EQ(safetensors_error(R"({"x":{"dtype":"U8","dtype":"U8"}})"),
            "s.safetensors: invalid header: the key 'dtype' appears twice in one JSON object");
  EXPECT_EQ(safetensors_error(R"({"__metadata__":{"a":{"b":"c"}}})"),
            "s.safetensors: __metadata__ \"a\": expected text (safetensors metadata values are "
            "strings) but found an object");
  EXPECT_EQ(safetensors_error(R"({"x":{"dtype":7}})"),
            "s.safetensors: tensor \"x\": dtype: expected text but found a number");
  EXPECT_EQ(safetensors_error(R"({"x":{"shape":[1,[2]]}})"),
            "s.safetensors: tensor \"x\": shape: expected a list of non-negative whole numbers "
            "but found a list");
  EXPECT_EQ(safetensors_error(R"({"x":{"shape":[1.5]}})"),
            "s.safetensors: tensor \"x\": shape: expected a list of non-negative whole numbers "
            "but found 1.5");
  EXPECT_EQ(safetensors_error(R"({"x":{"data_offsets":[0,1,2]}})"),
            "s.safetensors: tensor \"x\": data_offsets: expected [begin, end], two non-negative "
            "whole numbers");
  EXPECT_EQ(safetensors_error(R"({"x":{"dtype":"U8","shape":[2]}})"),
            "s.safetensors: tensor \"x\": data_offsets missing: expected [begin, end], two "
            "non-negative whole numbers");
  EXPECT_EQ(safetensors_error(R"({"x":{"dtype":"U8","shape":[0,7],"data_offsets":[0,0]}} x)"),
            "s.safetensors: invalid JSON in the header: parse error at line 1, column 57: syntax "
            "error while parsing value - invalid literal; last read: '0]}} x'; expected end of "
            "input");
  // nlohmann stops at a NUL as at the end of input; every other reader refuses what follows it.
  EXPECT_EQ(safetensors_error(std::string("{}\0{\"x\":1}", 10)),
            "s.safetensors: the header holds a NUL byte at offset 10: expected JSON text");
}

// ------------------------------------------------------------------------------ PNG

// Writes a PNG with libpng's classic API, for the colour types encode_png does not make
// (palette, 1-bit gray). Rows of `samples` are packed as PNG stores them.
std::vector<std::uint8_t> classic_png(png_uint_32 rows, png_uint_32 cols, int color_type,
                                      int bit_depth, const std::vector<std::uint8_t>& samples,
                                      const std::vector<png_color>& palette = {},
                                      int interlace = PNG_INTERLACE_NONE) {
  static std::vector<std::uint8_t> out;
  out.clear();
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return {};
  }
  png_set_write_fn(
      png, nullptr,
      [](png_structp, png_bytep data, png_size_t n) { out.insert(out.end(), data, data + n); },
      [](png_structp) {});
  png_set_IHDR(png, info, cols, rows, bit_depth, color_type, interlace,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!palette.empty()) png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  png_write_info(png, info);
  const std::size_t row_bytes = samples.size() / rows;
  const int passes = png_set_interlace_handling(png);
  for (int pass = 0; pass < passes; ++pass)
    for (png_uint_32 r = 0; r < rows; ++r)
      png_write_row(png, const_cast<png_bytep>(samples.data() + r * row_bytes));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

TEST(Png, GrayEightBitIsReadExactly) {
  std::vector<std::uint8_t> px(3 * 5);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 17);
  const GrayImage g = decode_png_gray(encode_png(3, 5, 1, 8, px), "g.png");
  ASSERT_EQ(g.rows, 3u);
  ASSERT_EQ(g.cols, 5u);
  for (std::size_t i = 0; i < px.size(); ++i) EXPECT_EQ(g.pixels[i], px[i]) << i;
}

// docs/formats.md: 16-bit samples become v × 255 / 65535, rounded (libpng's png_set_scale_16),
// not the high byte (png_set_strip_16: v >> 8).
TEST(Png, SixteenBitGrayBecomesEightBitRounded) {
  // v × 255 / 65535 = v / 257: its fraction is j / 257, never exactly one half, so rounding is
  // to the nearest, without ties. The nearest to a tie are v = 257 k + 128, which rounds down
  // (k + 0.498), and v = 257 k + 129, which rounds up (k + 0.502).
  const struct {
    int v, want;
  } cases[] = {{0, 0},       {1, 0},       {128, 0},     {129, 1},
               {257, 1},     {385, 1},     {386, 2},     {25828, 100},
               {25829, 101}, {32767, 127}, {32768, 128}, {65406, 254},
               {65407, 255}, {65534, 255}, {65535, 255}, {200 * 257 + 200, 201}};
  std::vector<std::uint8_t> px;
  for (const auto& c : cases) {
    px.push_back(static_cast<std::uint8_t>(c.v >> 8));
    px.push_back(static_cast<std::uint8_t>(c.v & 0xff));
  }
  const std::size_t n = std::size(cases);
  const GrayImage g = decode_png_gray(encode_png(1, n, 1, 16, px), "g16.png");
  ASSERT_EQ(g.pixels.size(), n);
  for (std::size_t i = 0; i < n; ++i)
    EXPECT_EQ(g.pixels[i], static_cast<float>(cases[i].want)) << "v = " << cases[i].v;

  // Every 16-bit value, against round(v × 255 / 65535) computed here in integers: (v × 255 +
  // 32767) / 65535 rounds half up, and there are no halves.
  std::vector<std::uint8_t> all(2 * 65536);
  for (std::size_t v = 0; v < 65536; ++v) {
    all[2 * v] = static_cast<std::uint8_t>(v >> 8);
    all[2 * v + 1] = static_cast<std::uint8_t>(v & 0xff);
  }
  const GrayImage every = decode_png_gray(encode_png(256, 256, 1, 16, all), "all16.png");
  ASSERT_EQ(every.pixels.size(), 65536u);
  std::size_t wrong = 0;
  for (std::size_t v = 0; v < 65536; ++v) {
    const float want = static_cast<float>((v * 255 + 32767) / 65535);
    if (every.pixels[v] != want && ++wrong <= 5)
      ADD_FAILURE() << "v = " << v << ": " << every.pixels[v] << " instead of " << want;
  }
  EXPECT_EQ(wrong, 0u);
}

TEST(Png, ColourIsConvertedToLuma) {
  // Pure red, green, blue, white, and a mid gray: 0.299 R + 0.587 G + 0.114 B.
  const std::vector<std::uint8_t> rgb = {255, 0,   0,   0,   255, 0,  0, 0,
                                         255, 255, 255, 255, 90,  90, 90};
  const GrayImage g = decode_png_gray(encode_png(1, 5, 3, 8, rgb), "c.png");
  const double expected[] = {0.299 * 255, 0.587 * 255, 0.114 * 255, 255, 90};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_NEAR(g.pixels[i], expected[i], 1e-3) << i;
}

// A transparent pixel shows a white background: gray = luma × α + 255 × (1 − α), α = A / 255,
// computed in double and stored as a float. Each expected value below is that sum as one exact
// fraction over 255 (or 255000, for the luma's thousandths), divided once in double and rounded
// to float: what the formula gives, computed another way.
TEST(Png, TransparencyShowsWhite) {
  // RGBA: opaque black, fully transparent black, half-transparent black (α = 128/255: 255 × 127
  // / 255 = 127 exactly), and a colour at α = 64/255.
  const std::vector<std::uint8_t> rgba = {0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128, 200, 100, 50, 64};
  const GrayImage g = decode_png_gray(encode_png(1, 4, 4, 8, rgba), "a.png");
  EXPECT_EQ(g.pixels[0], 0.0f);
  EXPECT_EQ(g.pixels[1], 255.0f);
  EXPECT_EQ(g.pixels[2], 127.0f);
  // luma 0.299 × 200 + 0.587 × 100 + 0.114 × 50 = 124.2 = 124200/1000:
  // (124200 × 64 + 255000 × 191) / 255000.
  EXPECT_EQ(g.pixels[3], static_cast<float>((124200.0 * 64 + 255000.0 * 191) / 255000.0));
  // Gray + alpha: opaque, transparent, and half-transparent gray 40: (40 × 128 + 255 × 127) / 255.
  const std::vector<std::uint8_t> ga = {40, 255, 40, 0, 40, 128};
  const GrayImage h = decode_png_gray(encode_png(1, 3, 2, 8, ga), "ga.png");
  EXPECT_EQ(h.pixels[0], 40.0f);
  EXPECT_EQ(h.pixels[1], 255.0f);
  EXPECT_EQ(h.pixels[2], static_cast<float>((40.0 * 128 + 255.0 * 127) / 255.0));
  EXPECT_NE(h.pixels[2], 40.0f) << "alpha ignored";
}

TEST(Png, PaletteAndOneBitImages) {
  const std::vector<png_color> palette = {{10, 10, 10}, {200, 200, 200}, {255, 0, 0}};
  const auto pal = classic_png(1, 3, PNG_COLOR_TYPE_PALETTE, 8, {2, 0, 1}, palette);
  ASSERT_FALSE(pal.empty());
  const GrayImage p = decode_png_gray(pal, "p.png");
  EXPECT_NEAR(p.pixels[0], 0.299 * 255, 1e-3);
  EXPECT_NEAR(p.pixels[1], 10.0, 1e-3);
  EXPECT_NEAR(p.pixels[2], 200.0, 1e-3);
  // 1-bit gray, 8 pixels in one byte: 1 0 1 1 0 0 0 1.
  const auto bits = classic_png(1, 8, PNG_COLOR_TYPE_GRAY, 1, {0b10110001});
  const GrayImage b = decode_png_gray(bits, "b.png");
  const float expected[] = {255, 0, 255, 255, 0, 0, 0, 255};
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(b.pixels[i], expected[i]) << i;
}

TEST(Png, InterlacedImagesAreReadWhole) {
  // Adam7 sends the pixels in seven passes; the decoder must put every one in its place.
  std::vector<std::uint8_t> px(13 * 11);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 37 % 256);
  const auto png = classic_png(13, 11, PNG_COLOR_TYPE_GRAY, 8, px, {}, PNG_INTERLACE_ADAM7);
  ASSERT_FALSE(png.empty());
  const GrayImage g = decode_png_gray(png, "i.png");
  ASSERT_EQ(g.rows, 13u);
  ASSERT_EQ(g.cols, 11u);
  for (std::size_t i = 0; i < px.size(); ++i) EXPECT_EQ(g.pixels[i], px[i]) << i;
}

TEST(Png, TextAndProfileChunksAreSkippedUnread) {
  // A text chunk that claims 700 MB (found by fuzzing: libpng allocated what it claimed) and an
  // ICC profile in a gray image: neither is needed for the pixels, and neither is read.
  std::vector<std::uint8_t> png = encode_png(1, 2, 1, 8, std::vector<std::uint8_t>{3, 4});
  const std::uint8_t chunk[] = {0x2a, 0x00, 0x00, 0x00, 't', 'E', 'X', 't', 'k', 0, 'v'};
  png.insert(png.begin() + 33, std::begin(chunk), std::end(chunk));  // after IHDR
  try {
    decode_png_gray(png, "t.png");
    ADD_FAILURE() << "a file that ends inside a chunk was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("t.png: invalid PNG"), std::string::npos) << e.what();
  }
}

TEST(Png, ImagesAboveTheLimitAreRefusedFromTheHeader) {
  // 10000 x 7000 pixels claimed, no data: refused before anything is allocated for them.
  auto png = encode_png(1, 1, 1, 8, std::vector<std::uint8_t>{0});
  const std::uint8_t w[] = {0, 0, 0x27, 0x10}, h[] = {0, 0, 0x1b, 0x58};  // big-endian
  std::copy(std::begin(w), std::end(w), png.begin() + 16);
  std::copy(std::begin(h), std::end(h), png.begin() + 20);
  // IHDR's CRC covers the sizes: fix it so that only the size is wrong.
  const std::uint32_t crc = static_cast<std::uint32_t>(crc32(0, png.data() + 12, 17));
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
  try {
    decode_png_gray(png, "big.png");
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "big.png: image of 10000x7000 pixels is larger than the 64 megapixels softreg reads");
  }
}

TEST(Png, BadFilesAreInputErrorsNamingTheFile) {
  TempDir dir;
  const auto good = encode_png(20, 20, 1, 8, std::vector<std::uint8_t>(400, 9));
  test::write_file(dir.path() / "cut.png", std::span(good).first(good.size() - 20));
  test::write_text(dir.path() / "text.png", "hello, not a PNG");
  for (const char* name : {"cut.png", "text.png", "missing.png"}) {
    SCOPED_TRACE(name);
    try {
      read_png_gray(dir.path() / name);
      ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

// ------------------------------------------------------------------------------ resizing

GrayImage image(std::size_t rows, std::size_t cols, std::vector<float> pixels) {
  return {rows, cols, std::move(pixels)};
}

TEST(ResizeArea, IntegerFactorAveragesBlocks) {
  const GrayImage g = image(2, 4, {0, 2, 4, 6, 8, 10, 12, 14});
  const GrayImage r = resize_area(g, 1, 2);
  EXPECT_EQ(r.pixels, (std::vector<float>{5, 9}));  // (0+2+8+10)/4, (4+6+12+14)/4
}

TEST(ResizeArea, FractionalCoverageIsWeighted) {
  // 3 columns to 2: output 0 covers input 0 and half of input 1; output 1 the other half and 2.
  const GrayImage r = resize_area(image(1, 3, {30, 60, 90}), 1, 2);
  EXPECT_FLOAT_EQ(r.pixels[0], (30 + 0.5f * 60) / 1.5f);
  EXPECT_FLOAT_EQ(r.pixels[1], (0.5f * 60 + 90) / 1.5f);
}

TEST(ResizeArea, UpscalingRepeatsAndAnyResizeKeepsTheMean) {
  const GrayImage up = resize_area(image(1, 2, {10, 20}), 2, 4);
  EXPECT_EQ(up.pixels, (std::vector<float>{10, 10, 20, 20, 10, 10, 20, 20}));
  GrayImage g;
  g.rows = 37;
  g.cols = 101;
  Rng rng(3);
  double sum = 0;
  for (std::size_t i = 0; i < g.rows * g.cols; ++i) {
    g.pixels.push_back(static_cast<float>(rng.uniform() * 255));
    sum += g.pixels.back();
  }
  const GrayImage r = resize_area(g, 28, 28);
  double rsum = 0;
  for (float v : r.pixels) rsum += v;
  EXPECT_NEAR(rsum / 784, sum / (37 * 101), 1e-3);
}

TEST(ResizeArea, ScaledUpFashionImageComesBack) {
  // A 28x28 image scaled up 10x by repetition shrinks back to itself exactly.
  GrayImage small;
  small.rows = small.cols = 28;
  for (std::size_t i = 0; i < 784; ++i) small.pixels.push_back(static_cast<float>(i * 7 % 256));
  GrayImage big;
  big.rows = big.cols = 280;
  for (std::size_t r = 0; r < 280; ++r)
    for (std::size_t c = 0; c < 280; ++c) big.pixels.push_back(small.pixels[r / 10 * 28 + c / 10]);
  const GrayImage back = resize_area(big, 28, 28);
  for (std::size_t i = 0; i < 784; ++i) EXPECT_NEAR(back.pixels[i], small.pixels[i], 1e-3) << i;
}

TEST(ImageForModel, InvertsWhenTheBorderIsLight) {
  // A dark square on a light background.
  GrayImage g;
  g.rows = g.cols = 4;
  g.pixels = {250, 250, 250, 250, 250, 0, 0, 250, 250, 0, 0, 250, 250, 250, 250, 250};
  EXPECT_DOUBLE_EQ(border_mean(g), 250.0);
  bool inverted = false;
  const GrayImage a = image_for_model(g, 2, 2, Invert::automatic, &inverted);
  EXPECT_TRUE(inverted);
  for (float v : a.pixels) EXPECT_FLOAT_EQ(v, 255 - (250 * 3 + 0) / 4.0f);
  const GrayImage n = image_for_model(g, 2, 2, Invert::no, &inverted);
  EXPECT_FALSE(inverted);
  EXPECT_FLOAT_EQ(n.pixels[0], (250 * 3) / 4.0f);
  // Dark border: left alone by auto, inverted by yes.
  for (float& v : g.pixels) v = 255 - v;
  image_for_model(g, 2, 2, Invert::automatic, &inverted);
  EXPECT_FALSE(inverted);
  image_for_model(g, 2, 2, Invert::yes, &inverted);
  EXPECT_TRUE(inverted);
}

}  // namespace
}  // namespace softreg
