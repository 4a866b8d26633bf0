// End-to-end tests of `softreg eval`, and of how eval and predict meet bad model files: every
// malformed file is one line on stderr naming the file and the problem, and exit status 2.
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
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
using nlohmann::json;

// The last epoch's "test acc D.DDDD" of train's output.
std::string last_test_acc(const std::string& train_out) {
  static const std::regex epoch(R"(^epoch \d+  loss \S+  train acc \S+  test acc (\d\.\d{4}) )");
  std::string acc;
  for (const auto& line : lines_of(train_out)) {
    std::smatch m;
    if (std::regex_search(line, m, epoch)) acc = m[1];
  }
  return acc;
}

// --- eval equals train ---------------------------------------------------------------------

// Trains with --out, then checks that eval reports the accuracy train printed for its last epoch,
// and that eval's numbers hold together (stderr, per class, confusion matrix).
void check_eval_matches_train(const fs::path& data, const std::string& train_options,
                              std::size_t test_rows) {
  TempDir dir;
  const fs::path model = dir.path() / "m.safetensors";
  const RunResult t =
      run_softreg("train --data " + quoted(data) + " " + train_options + " --out " + quoted(model));
  ASSERT_EQ(t.status, 0) << describe(t);
  EXPECT_NE(t.out.find("saved the model to " + model.string()), std::string::npos) << t.out;
  const std::string train_acc = last_test_acc(t.out);
  ASSERT_FALSE(train_acc.empty()) << t.out;

  const RunResult e = run_softreg("eval --model " + quoted(model) + " --data " + quoted(data));
  ASSERT_EQ(e.status, 0) << describe(e);
  EXPECT_EQ(e.err, "");
  std::smatch m;
  static const std::regex acc_line(R"(accuracy (\d\.\d{4}) ± (\d\.\d{4}))");
  ASSERT_TRUE(std::regex_search(e.out, m, acc_line)) << e.out;
  EXPECT_EQ(m[1].str(), train_acc) << "eval:\n" << e.out << "train:\n" << t.out;

  const RunResult j =
      run_softreg("eval --json --model " + quoted(model) + " --data " + quoted(data));
  ASSERT_EQ(j.status, 0) << describe(j);
  ASSERT_EQ(lines_of(j.out).size(), 1u) << j.out;
  const json r = json::parse(j.out);
  const double p = r["accuracy"].get<double>();
  char four[16];
  std::snprintf(four, sizeof four, "%.4f", p);
  EXPECT_EQ(four, train_acc);
  EXPECT_EQ(r["examples"].get<std::size_t>(), test_rows);
  EXPECT_NEAR(r["stderr"].get<double>(), std::sqrt(p * (1 - p) / static_cast<double>(test_rows)),
              1e-12);
  std::snprintf(four, sizeof four, "%.4f", r["stderr"].get<double>());
  EXPECT_EQ(m[2].str(), four);
  // The confusion matrix: rows sum to each class's examples; the diagonal gives the accuracies.
  const auto& cm = r["confusion"];
  ASSERT_EQ(cm.size(), 10u);
  std::size_t total = 0, correct = 0;
  for (std::size_t t_ = 0; t_ < 10; ++t_) {
    std::size_t row = 0;
    for (std::size_t q = 0; q < 10; ++q) row += cm[t_][q].get<std::size_t>();
    total += row;
    correct += cm[t_][t_].get<std::size_t>();
    const auto& c = r["classes"][t_];
    EXPECT_EQ(c["examples"].get<std::size_t>(), row);
    if (row > 0)
      EXPECT_DOUBLE_EQ(
          c["accuracy"].get<double>(),
          static_cast<double>(cm[t_][t_].get<std::size_t>()) / static_cast<double>(row));
  }
  EXPECT_EQ(total, test_rows);
  EXPECT_DOUBLE_EQ(p, static_cast<double>(correct) / static_cast<double>(total));
  EXPECT_EQ(r["classes"][9]["name"], "Ankle boot");
}

TEST(EvalCli, AccuracyEqualsTrainsLastEpochOnTheTinySet) {
  TempDir data;
  write_tiny_fashion(data.path(), 500, 100);
  check_eval_matches_train(data.path(), "--epochs 3 --seed 5", 100);
}

TEST(EvalCli, AccuracyEqualsTrainsLastEpochOnFashionMnist) {
  const fs::path real = real_fashion_mnist_dir();
  ASSERT_FALSE(real.empty()) << no_real_fashion_mnist();
  check_eval_matches_train(real, "--limit 5000 --epochs 2", 10000);
}

TEST(EvalCli, PrintsPerClassAccuracyAndAnAlignedConfusionMatrix) {
  TempDir dir;
  write_tiny_fashion(dir.path(), 500, 100);
  const fs::path model = dir.path() / "m.safetensors";
  ASSERT_EQ(
      run_softreg("train -q --epochs 2 --data " + quoted(dir.path()) + " --out " + quoted(model))
          .status,
      0);
  const RunResult e =
      run_softreg("eval --model " + quoted(model) + " --data " + quoted(dir.path()));
  ASSERT_EQ(e.status, 0) << describe(e);
  const auto lines = lines_of(e.out);
  // The per-class table names every class.
  for (auto name : fashion_mnist_classes())
    EXPECT_NE(e.out.find(std::string(name) + " "), std::string::npos) << name << "\n" << e.out;
  // The confusion matrix: a header of the predicted classes 0..9, then one row per true class,
  // all as long as the header, each ending in a right-aligned count.
  std::size_t at = 0;
  while (at < lines.size() && lines[at].rfind("confusion matrix", 0) != 0) ++at;
  ASSERT_LT(at + 11, lines.size() + 1) << e.out;
  const std::string& header = lines[at + 1];
  EXPECT_TRUE(std::regex_match(header, std::regex(R"(^ +0 +1 +2 +3 +4 +5 +6 +7 +8 +9$)")))
      << header;
  std::size_t total = 0;
  for (std::size_t t = 0; t < 10; ++t) {
    const std::string& row = lines[at + 2 + t];
    EXPECT_EQ(row.size(), header.size()) << "row " << t << " is not aligned:\n" << e.out;
    EXPECT_EQ(row.rfind(std::to_string(t) + " " + std::string(fashion_mnist_classes()[t]), 0), 0u)
        << row;
    const std::string label = std::to_string(t) + " " + std::string(fashion_mnist_classes()[t]);
    std::istringstream cells(row.substr(std::min(label.size(), row.size())));
    std::size_t cell_count = 0;
    for (std::size_t v = 0; cells >> v; ++cell_count) total += v;
    EXPECT_EQ(cell_count, 10u) << row;
  }
  EXPECT_EQ(total, 100u) << e.out;
}

TEST(EvalCli, JsonGivesNullForTheAccuracyOfAClassWithoutExamples) {
  // Five test images, labelled 0 to 4 (the tiny set labels image i with i % 10): classes 5 to 9
  // have none, and their accuracy is 0/0, which docs/cli.md says --json gives as null (not 0, a
  // class the model always gets wrong, nor NaN, which is not JSON).
  TempDir dir;
  write_tiny_fashion(dir.path(), 500, 5);
  const fs::path model = dir.path() / "m.safetensors";
  const RunResult t =
      run_softreg("train -q --epochs 2 --data " + quoted(dir.path()) + " --out " + quoted(model));
  ASSERT_EQ(t.status, 0) << describe(t);
  const RunResult e =
      run_softreg("eval --json --model " + quoted(model) + " --data " + quoted(dir.path()));
  ASSERT_EQ(e.status, 0) << describe(e);
  const json r = json::parse(e.out);
  EXPECT_EQ(r["examples"], 5);
  ASSERT_EQ(r["classes"].size(), 10u);
  for (std::size_t k = 0; k < 10; ++k) {
    SCOPED_TRACE("class " + std::to_string(k));
    const json& c = r["classes"][k];
    EXPECT_EQ(c["name"], std::string(fashion_mnist_classes()[k]));
    if (k < 5) {
      EXPECT_EQ(c["examples"], 1);
      ASSERT_TRUE(c["accuracy"].is_number()) << c.dump();
      EXPECT_EQ(c["accuracy"].get<double>(), r["confusion"][k][k].get<double>());
    } else {
      EXPECT_EQ(c["examples"], 0);
      EXPECT_TRUE(c["accuracy"].is_null()) << c.dump();
      EXPECT_EQ(r["confusion"][k], json(std::vector<int>(10, 0)));
    }
  }
}

TEST(EvalCli, ModelIsRequired) {
  expect_rejected(run_softreg("eval"), {"--model"});
}

// --- malformed model files -----------------------------------------------------------------

// A valid model of Fashion-MNIST's shape, as bytes: the base every malformed case spoils.
std::vector<std::uint8_t> good_model_bytes() {
  SoftmaxRegression m(784, 10);
  Rng rng(1);
  m.init(rng);
  ModelInfo info;
  for (auto name : fashion_mnist_classes()) info.class_names.emplace_back(name);
  info.input_shape = {28, 28};
  info.input_scale = 1.0f / 255.0f;
  return model_file_bytes(m, info);
}

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

// Edits the header of the good model.
std::vector<std::uint8_t> with_header(const std::function<void(json&)>& edit) {
  Parts p = split(good_model_bytes());
  edit(p.header);
  return join(p);
}

struct BadModel {
  const char* name;
  std::function<std::vector<std::uint8_t>()> bytes;
  std::vector<std::string> parts;  // what stderr must say, besides the file's name
};

void PrintTo(const BadModel& b, std::ostream* os) {
  *os << b.name;
}

const BadModel kBadModels[] = {
    {"Empty", [] { return std::vector<std::uint8_t>{}; }, {"empty file"}},
    {"ShorterThanTheHeaderLength",
     [] {
       return std::vector<std::uint8_t>{8, 0, 0};
     },
     {"expected at least 8 bytes", "found 3"}},
    {"TruncatedData",
     [] {
       auto b = good_model_bytes();
       b.resize(b.size() * 3 / 5);
       return b;
     },
     {"tensor \"", "truncated"}},
    {"HeaderLengthPastTheEnd",
     [] {
       auto b = good_model_bytes();
       const std::uint64_t n = b.size();
       for (int i = 0; i < 8; ++i)
         b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
       return b;
     },
     {"header length " + std::to_string(good_model_bytes().size()), "runs past the end"}},
    {"NotAModelAtAll",
     [] {
       const std::string text = "epoch,loss\n1,0.5\n";
       return std::vector<std::uint8_t>(text.begin(), text.end());
     },
     {"header length", "runs past the end", "not a safetensors file"}},
    {"InvalidJson",
     [] {
       return join(std::string("{\"weight\": {\"dtype\": \"F32\",,}}"),
                   split(good_model_bytes()).data);
     },
     {"invalid JSON in the header"}},
    {"DuplicateKey",
     [] {
       // A second "bias" entry first: a reader keeping the first and one keeping the last would
       // read different tensors from the same file.
       const Parts p = split(good_model_bytes());
       const std::string header = p.header.dump();
       return join("{\"bias\":{\"dtype\":\"F32\",\"shape\":[10],\"data_offsets\":[0,40]}," +
                       header.substr(1),
                   p.data);
     },
     {"the key 'bias' appears twice"}},
    {"OffsetsOutOfRange",
     [] { return with_header([](json& h) {
            h["bias"]["data_offsets"] = {31360, 40000};
          }); },
     {"tensor \"bias\"", "data_offsets [31360, 40000]", "past the end of the data section"}},
    {"OffsetsReversed",
     [] { return with_header([](json& h) {
            h["bias"]["data_offsets"] = {31400, 31360};
          }); },
     {"tensor \"bias\"", "begin is past end"}},
    {"OffsetsOverlap",
     [] { return with_header([](json& h) {
            h["bias"]["data_offsets"] = {31000, 31040};
          }); },
     {"tensors \"weight\" and \"bias\" overlap"}},
    {"WrongDtype",
     [] { return with_header([](json& h) { h["weight"]["dtype"] = "I32"; }); },
     {"tensor \"weight\"", "expected dtype F32 but found I32"}},
    {"HalfPrecision",
     [] {
       return with_header([](json& h) {
         h["weight"]["dtype"] = "F16";
         h["weight"]["shape"] = {10, 1568};
       });
     },
     {"expected dtype F32 but found F16"}},
    {"MissingTensor",
     [] {
       Parts p = split(good_model_bytes());
       p.header.erase("bias");
       p.data.resize(31360);
       return join(p);
     },
     {"no tensor \"bias\""}},
    {"ShapeDoesNotMatchItsBytes",
     [] { return with_header([](json& h) {
            h["weight"]["shape"] = {10, 785};
          }); },
     {"tensor \"weight\"", "31360 bytes", "needs 31400"}},
    {"BiasDoesNotMatchWeight",
     [] { return with_header([](json& h) {
            h["bias"]["shape"] = {5, 2};
          }); },
     {"tensor \"bias\": expected shape [10]", "found [5,2]"}},
    {"ClassNamesDoNotMatch",
     [] {
       return with_header([](json& h) { h["__metadata__"]["class_names"] = R"(["a","b","c"])"; });
     },
     {"class_names: 3 names but the model has 10 classes"}},
    {"InputShapeDoesNotMatch",
     [] { return with_header([](json& h) { h["__metadata__"]["input_shape"] = "[28,27]"; }); },
     {"input_shape 28x27 but weight has 784 inputs"}},
    {"MetadataValueNotText",
     [] { return with_header([](json& h) { h["__metadata__"]["input_scale"] = 0.0039; }); },
     {"__metadata__ \"input_scale\": expected text", "found a number"}},
    {"NoMetadata",
     [] { return with_header([](json& h) { h.erase("__metadata__"); }); },
     {"no __metadata__", "not a softreg model"}},
    {"NewerFormatVersion",
     [] { return with_header([](json& h) { h["__metadata__"]["format_version"] = "2"; }); },
     {"format_version", "found \"2\""}},
    {"NaNWeight",
     [] {
       Parts p = split(good_model_bytes());
       const auto bits = std::bit_cast<std::uint32_t>(std::numeric_limits<float>::quiet_NaN());
       for (std::size_t i = 0; i < 4; ++i)
         p.data[4 * 3 + i] = static_cast<std::uint8_t>(bits >> (8 * i));
       return join(p);
     },
     {"tensor \"weight\"", "nan at [0, 3]", "not finite"}},
};

class ModelFileCli : public testing::TestWithParam<BadModel> {
 protected:
  void SetUp() override {
    write_tiny_fashion(dir_.path(), 50, 20);
    write_file(model_, GetParam().bytes());
  }
  TempDir dir_;
  fs::path model_ = dir_.path() / "bad.safetensors";
};

TEST_P(ModelFileCli, EvalExitsTwoNamingTheFile) {
  auto parts = GetParam().parts;
  parts.push_back(model_.string() + ": ");
  expect_rejected(run_softreg("eval --model " + quoted(model_) + " --data " + quoted(dir_.path())),
                  parts);
}

TEST_P(ModelFileCli, PredictExitsTwoNamingTheFile) {
  auto parts = GetParam().parts;
  parts.push_back(model_.string() + ": ");
  expect_rejected(run_softreg("predict --model " + quoted(model_) + " " +
                              quoted(dir_.path() / "t10k-images-idx3-ubyte.gz")),
                  parts);
}

INSTANTIATE_TEST_SUITE_P(EvalCli, ModelFileCli, testing::ValuesIn(kBadModels),
                         [](const testing::TestParamInfo<BadModel>& info) {
                           return std::string(info.param.name);
                         });

TEST(EvalCli, ModelThatDoesNotFitTheData) {
  // A model of 8x8 images evaluated on 28x28 ones.
  TempDir small, big;
  write_tiny_fashion(small.path(), 100, 20, 8, 8);
  write_tiny_fashion(big.path(), 100, 20);
  const fs::path model = small.path() / "m8.safetensors";
  ASSERT_EQ(
      run_softreg("train -q --epochs 1 --data " + quoted(small.path()) + " --out " + quoted(model))
          .status,
      0);
  expect_rejected(run_softreg("eval --model " + quoted(model) + " --data " + quoted(big.path())),
                  {model.string(), "expects inputs of shape 8x8", "28x28"});
  expect_rejected(run_softreg("predict --model " + quoted(model) + " " +
                              quoted(big.path() / "t10k-images-idx3-ubyte.gz")),
                  {"t10k-images-idx3-ubyte.gz", "20x28x28", "expects examples of 8x8"});
}

// --- train --out: what is saved, and saves that cannot or do not finish ----------------------

class TrainOut : public testing::Test {
 protected:
  void SetUp() override { write_tiny_fashion(dir_.path(), 300, 50); }
  std::string train(const std::string& options) {
    return "'" SOFTREG_EXE "' train --data " + quoted(dir_.path()) + " " + options;
  }
  // A model saved by an earlier run: what a failed save must leave as it was.
  std::string save_previous(const fs::path& model) {
    const RunResult r = run_command(train("-q --epochs 1 --out " + quoted(model)));
    EXPECT_EQ(r.status, 0) << describe(r);
    return slurp(model);
  }
  TempDir dir_;
};

TEST_F(TrainOut, RecordsHowTheModelWasTrained) {
  const fs::path model = dir_.path() / "m.safetensors";
  const RunResult r =
      run_command(train("--epochs 2 --lr 0.2 --seed 9 --limit 200 --out " + quoted(model)));
  ASSERT_EQ(r.status, 0) << describe(r);
  const SavedModel saved = load_model(model);
  const auto& notes = saved.info.notes;
  EXPECT_EQ(saved.info.input_shape, (std::vector<std::size_t>{28, 28}));
  EXPECT_EQ(saved.info.input_scale, 1.0f / 255.0f);
  EXPECT_EQ(saved.info.class_names.at(0), "T-shirt/top");
  const json options = json::parse(notes.at("training_options"));
  EXPECT_EQ(options["epochs"], 2);
  EXPECT_EQ(options["lr"], 0.2);
  EXPECT_EQ(options["seed"], 9);
  EXPECT_EQ(options["limit"], 200);
  EXPECT_EQ(options["batch_size"], 256);
  EXPECT_EQ(options["backend"], "native");
  EXPECT_EQ(notes.at("epochs"), "2");
  EXPECT_EQ(notes.at("training_examples"), "200");
  EXPECT_EQ(notes.at("created_by").rfind("softreg ", 0), 0u);
  char acc[16];
  std::snprintf(acc, sizeof acc, "%.4f", std::stod(notes.at("test_accuracy")));
  EXPECT_EQ(acc, last_test_acc(r.out));
  for (const char* key : {"train_loss", "train_accuracy", "test_loss"})
    EXPECT_TRUE(std::isfinite(std::stod(notes.at(key)))) << key;
}

TEST_F(TrainOut, FolderThatIsAFileFailsBeforeTraining) {
  write_text(dir_.path() / "plain", "x");
  const RunResult r = run_command(train("--epochs 1 --out " + quoted(dir_.path() / "plain" / "m")));
  expect_rejected(r, {"plain", "is not a folder", "(--out)"});  // stdout empty: no epoch ran
  expect_rejected(run_command(train("--epochs 1 --out " + quoted(dir_.path() / "no" / "m"))),
                  {"does not exist", "(--out)"});
  expect_rejected(run_command(train("--epochs 1 --out " + quoted(dir_.path()))),
                  {"found a folder", "(--out)"});
}

TEST_F(TrainOut, ReadOnlyFolderFailsBeforeTrainingAndKeepsThePreviousModel) {
  const fs::path folder = dir_.path() / "models";
  fs::create_directory(folder);
  const fs::path model = folder / "m.safetensors";
  const std::string previous = save_previous(model);
  ASSERT_FALSE(previous.empty());
  fs::permissions(folder, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  // Root writes through permission bits: run as user nobody then (setpriv, util-linux, which
  // every Debian has). As root, not being able to is a failure: the check would not run.
  std::string as_user;
  if (geteuid() == 0) {
    const RunResult can =
        run_command("setpriv --reuid=65534 --regid=65534 --clear-groups '" SOFTREG_EXE "' --help");
    ASSERT_EQ(can.status, 0) << "running as root, but cannot run softreg as user nobody with "
                                "setpriv (is the build folder closed to other users?)\n"
                             << describe(can);
    as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  }
  const RunResult r = run_command(as_user + train("--epochs 1 --out " + quoted(model)));
  fs::permissions(folder, fs::perms::owner_all);
  expect_rejected(r, {"m.safetensors", "cannot create a file in folder", "(--out)"});
  EXPECT_TRUE(slurp(model) == previous);
}

TEST_F(TrainOut, SaveThatFailsPartWayKeepsThePreviousModel) {
  const fs::path model = dir_.path() / "m.safetensors";
  const std::string previous = save_previous(model);
  // A 10-20 KB file size limit (ulimit -f counts 512- or 1024-byte blocks, by shell) stops the
  // 32 KB model part-way, root or not. SIGXFSZ ignored: the write fails with EFBIG.
  const RunResult r = run_command("ulimit -f 20; trap '' XFSZ; " +
                                  train("-q --epochs 2 --seed 4 --out " + quoted(model)));
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("m.safetensors: writing failed"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("the file was not changed"), std::string::npos) << describe(r);
  EXPECT_TRUE(slurp(model) == previous);
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_.path()))
    files += e.path().filename().string().find(".tmp-") != std::string::npos;
  EXPECT_EQ(files, 0u) << "the temporary file is removed";
}

TEST_F(TrainOut, KilledDuringTheSaveKeepsThePreviousModel) {
  const fs::path model = dir_.path() / "m.safetensors";
  const std::string previous = save_previous(model);
  // The default action of SIGXFSZ: the kernel kills softreg in the middle of writing the model.
  // run_command's subshell `( ... )` reports that as 128 + SIGXFSZ = 153, and softreg, killed,
  // says nothing. Any other status is another end: an error (1, 2), or a run that finished.
  const RunResult r =
      run_command("ulimit -f 20; " + train("-q --epochs 2 --seed 4 --out " + quoted(model)));
  EXPECT_EQ(r.signal, 0) << describe(r);
  EXPECT_EQ(r.status, 128 + SIGXFSZ) << describe(r);
  EXPECT_EQ(r.err, "") << describe(r);
  EXPECT_TRUE(slurp(model) == previous) << "the previous model must be byte-identical";
  // docs/formats.md: a process killed in the middle leaves at most a stale .NAME.tmp-* file.
  std::size_t stale = 0;
  for (const auto& e : fs::directory_iterator(dir_.path()))
    stale += e.path().filename().string().rfind(".m.safetensors.tmp-", 0) == 0;
  EXPECT_LE(stale, 1u);
  const RunResult e =
      run_softreg("eval --json --model " + quoted(model) + " --data " + quoted(dir_.path()));
  ASSERT_EQ(e.status, 0) << describe(e);
  EXPECT_EQ(json::parse(e.out)["examples"], 50);
}

TEST_F(TrainOut, DivergedTrainingSavesNothing) {
  const fs::path model = dir_.path() / "m.safetensors";
  const std::string previous = save_previous(model);
  // docs/cli.md: exit 1, a message that names the epoch and suggests a smaller --lr, nothing
  // saved (the summary line is not printed either: the run did not finish).
  const std::regex diverged(
      R"(softreg: training diverged: the loss became (NaN|infinity) in epoch 1 \(batch \d of 2\); try a )"
      R"(smaller learning rate, e\.g\. --lr 3e\+37\n)");
  const RunResult r = run_command(train("-q --epochs 3 --lr 3e38 --out " + quoted(model)));
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_EQ(r.out, "") << describe(r);
  EXPECT_TRUE(std::regex_match(r.err, diverged)) << describe(r);
  EXPECT_TRUE(slurp(model) == previous);
  const fs::path fresh = dir_.path() / "fresh.safetensors";
  const RunResult f = run_command(train("-q --epochs 3 --lr 3e38 --out " + quoted(fresh)));
  EXPECT_EQ(f.status, 1) << describe(f);
  EXPECT_TRUE(std::regex_match(f.err, diverged)) << describe(f);
  EXPECT_FALSE(fs::exists(fresh));
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_.path()))
    files += e.path().filename().string().find(".tmp-") != std::string::npos;
  EXPECT_EQ(files, 0u) << "no temporary file either";
}

TEST(EvalCli, MissingModelFileOrFolder) {
  TempDir dir;
  expect_rejected(run_softreg("eval --model " + quoted(dir.path() / "none.safetensors")),
                  {"none.safetensors", "no such file"});
  expect_rejected(run_softreg("eval --model " + quoted(dir.path())),
                  {dir.path().string(), "found a folder"});
}

}  // namespace
}  // namespace softreg::test
