// softreg train across processes (docs/cli.md, "Across processes"): `mpirun -np P softreg
// train` with lbfgs or newton, or SGD on dense rows, writes the model file of one process, byte
// for byte, for P = 2 and 3 — Fashion-MNIST's bytes, CSV's floats, LIBSVM and text — and prints
// the same lines; SGD on sparse rows is the same run to run; a checkpoint resumes on any number of
// processes and continues exactly; a bad file that one process alone reads ends the job with exit
// 2 and one line naming that process, the file and the line; a process killed mid-run ends the
// job within seconds, naming it (bounded by a timeout: no hang).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "expect.hpp"
#include "fixtures.hpp"
#include "run.hpp"
#include "softreg/io.hpp"

namespace softreg::test {
namespace {

namespace fs = std::filesystem;

const std::string kMpirun = SOFTREG_MPIEXEC;

// mpirun as root (CI's user) with more processes than cores, quiet: only softreg's own lines.
// Open MPI's leak-free exit is not softreg's to fix: the sanitizers' leak check is off inside it.
RunResult mpirun(int processes, const std::string& args, bool quiet = true) {
  return run_command(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "ASAN_OPTIONS=detect_leaks=0 timeout 120 '" +
      kMpirun + "'" + (quiet ? " -q" : "") + " --oversubscribe -np " + std::to_string(processes) +
      " '" + SOFTREG_EXE + "' train " + args);
}

std::string bytes_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A safetensors file's tensors: the bytes after its header (the weights, not the metadata).
std::string tensors_of(const fs::path& file) {
  const std::string b = bytes_of(file);
  std::uint64_t n = 0;
  if (b.size() < 8) return {};
  std::memcpy(&n, b.data(), 8);
  return n > b.size() - 8 ? std::string() : b.substr(8 + n);
}

// The run's printed lines without the seconds, which differ run to run.
std::string without_seconds(const std::string& out) {
  return std::regex_replace(out, std::regex(R"(\d+\.\d\d s)"), "N s");
}

class Processes : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(kMpirun.empty())
        << "softreg was built without MPI: scripts/setup installs libopenmpi-dev and openmpi-bin";
  }
  // `args` with --out FILE: one process's model and lines, then P = 2 and 3 processes' the
  // same bytes and lines.
  void expect_same_model(const std::string& args) {
    TempDir dir;
    fs::create_directories(dir.path() / "1");
    const fs::path one = dir.path() / "1" / "model.safetensors";
    const RunResult plain = run_softreg("train " + args + " --out '" + one.string() + "'");
    ASSERT_EQ(plain.status, 0) << describe(plain);
    for (const int p : {2, 3}) {
      // The same file name, so that the lines saying where the model went are the same.
      const fs::path many = dir.path() / std::to_string(p) / "model.safetensors";
      fs::create_directories(many.parent_path());
      const RunResult r = mpirun(p, args + " --threads 1 --out '" + many.string() + "'");
      ASSERT_EQ(r.status, 0) << describe(r);
      EXPECT_EQ(bytes_of(many), bytes_of(one)) << p << " processes: " << args;
      EXPECT_EQ(std::regex_replace(without_seconds(r.out),
                                   std::regex("/" + std::to_string(p) + "/"), "/1/"),
                without_seconds(plain.out))
          << p << " processes";
      EXPECT_EQ(r.err, plain.err) << p << " processes";
    }
  }
};

// n LIBSVM lines in 4 classes, features 1..60 (some lines long), values not all 1.
std::string libsvm_lines(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t y = (i * 7) % 4;
    s += std::to_string(y);
    for (std::size_t j = 1 + y; j <= 60; j += 1 + (i + j) % 5)
      s += " " + std::to_string(j) + ":" +
           std::to_string(0.25 * static_cast<double>(1 + (i * j) % 4));
    s += i % 3 == 0 ? "\r\n" : "\n";
  }
  return s;
}

std::string fasttext_lines(std::size_t n) {
  const char* words[] = {"apple", "river", "stone", "cloud", "green", "quick", "seven", "light"};
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t y = (i * 5) % 3;
    s += "__label__c" + std::to_string(y);
    for (std::size_t w = 0; w < 6 + i % 9; ++w) s += std::string(" ") + words[(y * 3 + w * i) % 8];
    s += "\n";
  }
  return s;
}

// LIBSVM and fastText training and test files in `dir`; returns dir.
std::string write_sparse_sets(const fs::path& dir) {
  write_text(dir / "train.svm", libsvm_lines(2500));
  write_text(dir / "test.svm", libsvm_lines(301));
  write_text(dir / "train.ft", fasttext_lines(2200));
  write_text(dir / "test.ft", fasttext_lines(120));
  return dir.string();
}

TEST_F(Processes, FashionMnistLbfgsGivesTheOneProcessModelFile) {
  const fs::path real = real_fashion_mnist_dir();
  ASSERT_FALSE(real.empty()) << no_real_fashion_mnist();
  expect_same_model("--data '" + real.string() + "' --solver lbfgs --max-iter 12");
}

TEST_F(Processes, NewtonOnImagesGivesTheOneProcessModelFile) {
  TempDir dir;
  write_tiny_fashion(dir.path(), 3001, 200);  // 3 stripes: P = 2 holds one and two
  expect_same_model("--data '" + dir.path().string() + "' --solver newton --max-iter 4 --C 10");
}

TEST_F(Processes, LibsvmAndTextGiveTheOneProcessModelFile) {
  TempDir dir;
  const std::string d = write_sparse_sets(dir.path());
  for (const char* solver : {"lbfgs", "newton"}) {
    expect_same_model("--libsvm '" + d + "/train.svm' --test '" + d + "/test.svm' --solver " +
                      solver + " --max-iter 15 --class-weight balanced");
    expect_same_model("--text '" + d + "/train.ft' --test '" + d +
                      "/test.ft' --hash-bits 12 --solver " + solver + " --max-iter 15");
  }
}

// n CSV rows of 6 features in 3 classes, with a sample-weight column.
std::string csv_lines(std::size_t n) {
  std::string s = "f1,f2,f3,f4,f5,f6,w,species\n";
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t y = (i * 11) % 3;
    for (std::size_t j = 0; j < 6; ++j)
      s += std::to_string(static_cast<double>(y * j) * 0.5 +
                          static_cast<double>((i * 37 + j * 13) % 29) / 9.0) +
           ",";
    s += std::to_string(0.5 + static_cast<double>(i % 4) / 4) + "," +
         std::string(y == 0   ? "setosa"
                     : y == 1 ? "versicolor"
                              : "virginica") +
         "\n";
  }
  return s;
}

TEST_F(Processes, CsvFloatsGiveTheOneProcessModelFile) {
  TempDir dir;
  write_text(dir.path() / "train.csv", csv_lines(3001));  // 3 stripes of rows
  write_text(dir.path() / "test.csv", csv_lines(200));
  const std::string d = dir.path().string();
  for (const char* solver : {"lbfgs", "newton"})
    expect_same_model("--csv '" + d + "/train.csv' --test '" + d + "/test.csv' --sample-weight w " +
                      "--solver " + solver + " --max-iter 12");
  const std::string cancer = std::string(SOFTREG_TEST_DATA) + "/breast_cancer.csv";
  expect_same_model("--csv '" + cancer + "' --test '" + cancer +
                    "' --model logistic --solver lbfgs --max-iter 30 --C 0.1");
}

// Dense SGD: every step's gradient is the plain step's, bit for bit (each chunk of the batch
// computed by one process, the chunks' partial gradients added in chunk order), and so is every
// epoch's test loss (an exact sum): the same file and lines for P = 2 and 3 — Fashion-MNIST with
// the recipe's options, images whose parts are unequal or empty, CSV floats, logistic regression.
TEST_F(Processes, DenseSgdGivesTheOneProcessModelFile) {
  const fs::path real = real_fashion_mnist_dir();
  ASSERT_FALSE(real.empty()) << no_real_fashion_mnist();
  expect_same_model("--data '" + real.string() +
                    "' --epochs 2 --momentum 0.9 --schedule cosine --warmup 10 --average 2 "
                    "--batch-size 300");
  TempDir dir;
  // Whole stripes of about 1000 rows: 3001 rows are parts of two stripes and one for P = 2;
  // 700 rows are one stripe, on one process, and the others have none.
  write_tiny_fashion(dir.path() / "a", 3001, 200);
  write_tiny_fashion(dir.path() / "b", 700, 90);
  expect_same_model("--data '" + (dir.path() / "a").string() + "' --epochs 2 --batch-size 50");
  expect_same_model("--data '" + (dir.path() / "b").string() + "' --epochs 2 --batch-size 64");
  write_text(dir.path() / "train.csv", csv_lines(3001));
  write_text(dir.path() / "test.csv", csv_lines(200));
  const std::string d = dir.path().string();
  expect_same_model("--csv '" + d + "/train.csv' --test '" + d +
                    "/test.csv' --solver sgd --epochs 3 --lr 0.05");
  // 30 columns of very different sizes: a row's logits must not depend on where a process's
  // part of the test set starts.
  const std::string cancer = std::string(SOFTREG_TEST_DATA) + "/breast_cancer.csv";
  expect_same_model("--csv '" + cancer + "' --test '" + cancer +
                    "' --model logistic --solver sgd --epochs 3");
}

// Sparse SGD: local epochs on each part, then the weights averaged (docs/objective.md, "Sparse
// SGD across processes"): one process is the plain run, and for P = 2 and 3 the file and lines
// are the same run to run.
TEST_F(Processes, SparseSgdIsTheSameRunToRunForEachNumberOfProcesses) {
  TempDir dir;
  const std::string d = write_sparse_sets(dir.path());
  for (const std::string& args :
       {"--libsvm '" + d + "/train.svm' --test '" + d + "/test.svm' --solver sgd --epochs 3",
        "--text '" + d + "/train.ft' --test '" + d +
            "/test.ft' --hash-bits 12 --solver sgd --epochs 3 --momentum 0.9"}) {
    const fs::path plain_file = dir.path() / "plain.safetensors";
    const RunResult plain = run_softreg("train " + args + " --out '" + plain_file.string() + "'");
    ASSERT_EQ(plain.status, 0) << describe(plain);
    for (const int p : {1, 2, 3}) {
      std::string bytes[2], lines[2];
      for (int run = 0; run < 2; ++run) {
        const fs::path file = dir.path() / "plain.safetensors";
        const RunResult r = mpirun(p, args + " --threads 1 --out '" + file.string() + "'");
        ASSERT_EQ(r.status, 0) << describe(r);
        bytes[run] = bytes_of(file);
        lines[run] = without_seconds(r.out);
      }
      EXPECT_EQ(bytes[0], bytes[1]) << p << " processes, run to run: " << args;
      EXPECT_EQ(lines[0], lines[1]) << p << " processes, run to run";
      if (p == 1) {
        EXPECT_EQ(bytes[0], bytes_of(plain_file)) << "one process is the plain run: " << args;
        EXPECT_EQ(lines[0], without_seconds(plain.out));
      }
    }
  }
}

// --checkpoint across processes: process 0 writes the state that every process holds, and a job
// of dense rows resumed on any number of processes — or in one — continues exactly: the weights
// of an uninterrupted one-process run (dense SGD is its steps bit for bit, and the data's
// fingerprint is the same for every P).
TEST_F(Processes, ACheckpointResumesOnAnyNumberOfProcesses) {
  TempDir dir;
  write_tiny_fashion(dir.path() / "f", 3001, 200);
  write_text(dir.path() / "train.csv", csv_lines(3001));
  write_text(dir.path() / "test.csv", csv_lines(200));
  const std::string d = dir.path().string();
  const TempDir sparse_dir;
  const std::string sets = write_sparse_sets(sparse_dir.path());
  const auto train = [&](int processes, const std::string& args) {
    return processes == 1 ? run_softreg("train " + args) : mpirun(processes, args + " --threads 1");
  };
  for (const std::string& data :
       {"--data '" + d + "/f' --batch-size 50 --momentum 0.9 --average 1",
        "--csv '" + d + "/train.csv' --test '" + d + "/test.csv' --solver sgd --lr 0.05"}) {
    const RunResult whole = run_softreg("train " + data + " --epochs 3 --out '" + d + "/whole.st'");
    ASSERT_EQ(whole.status, 0) << describe(whole);
    for (const auto& [first, then] : {std::pair{2, 3}, {3, 1}, {1, 2}}) {
      const std::string ck = d + "/ck" + std::to_string(first) + std::to_string(then);
      const RunResult r1 = train(first, data + " --epochs 1 --checkpoint '" + ck + "'");
      ASSERT_EQ(r1.status, 0) << describe(r1);
      const fs::path out = dir.path() / ("resumed" + std::to_string(first) + std::to_string(then));
      const RunResult r2 =
          train(then, "--resume '" + ck + "' --epochs 3 --out '" + out.string() + "'");
      ASSERT_EQ(r2.status, 0) << describe(r2);
      EXPECT_NE(r2.out.find("resuming " + ck + " after epoch 1 of 3"), std::string::npos)
          << describe(r2);
      EXPECT_EQ(tensors_of(out), tensors_of(dir.path() / "whole.st"))
          << "1 epoch on " << first << ", resumed on " << then << ": " << data;
    }
  }
  // Sparse rows: each P averages its own local epochs, so a checkpoint continues exactly on the
  // P that wrote it (the orders are drawn afresh each epoch from the run's generator, the epoch
  // and the rank), and on another P goes on with that P's epochs, the same run to run.
  const std::string sparse = "--libsvm '" + sets + "/train.svm' --test '" + sets +
                             "/test.svm' --solver sgd --batch-size 16 --schedule constant";
  for (const std::string& options : {std::string(" --momentum 0.9"), std::string(" --average 1")}) {
    for (const int p : {2, 3}) {
      const std::string ck = d + "/sparse" + std::to_string(p);
      const RunResult whole = train(p, sparse + options + " --epochs 3 --out '" + d + "/sw.st'");
      ASSERT_EQ(whole.status, 0) << describe(whole);
      const RunResult r1 = train(p, sparse + options + " --epochs 2 --checkpoint '" + ck + "'");
      ASSERT_EQ(r1.status, 0) << describe(r1);
      const RunResult r2 = train(p, "--resume '" + ck + "' --epochs 3 --out '" + d + "/sr.st'");
      ASSERT_EQ(r2.status, 0) << describe(r2);
      EXPECT_EQ(tensors_of(dir.path() / "sr.st"), tensors_of(dir.path() / "sw.st"))
          << p << " processes, resumed on the same:" << options;
      // Resumed on another number (the checkpoint now holds 3 epochs): twice the same.
      std::string again[2];
      for (std::string& bytes : again) {
        const RunResult r3 = train(5 - p, "--resume '" + ck + "' --epochs 4 --checkpoint '" + ck +
                                              "x' --out '" + d + "/so.st'");
        ASSERT_EQ(r3.status, 0) << describe(r3);
        bytes = tensors_of(dir.path() / "so.st");
      }
      EXPECT_EQ(again[0], again[1]) << "written by " << p << ", resumed on " << 5 - p;
    }
  }

  // Another training set under the same name: refused by its fingerprint, on every P.
  write_text(dir.path() / "train.csv", csv_lines(3002));
  // (The resumed runs went on writing their checkpoints: ck23 holds 3 epochs.)
  const RunResult other = mpirun(2, "--resume '" + d + "/ck23' --epochs 4");
  EXPECT_EQ(other.status, 2) << describe(other);
  EXPECT_NE(other.err.find("the checkpoint was trained on other training data"), std::string::npos)
      << describe(other);
  // A checkpoint of an earlier softreg (its fingerprints 16 hex digits of the whole set's hash,
  // not "rows:"): refused across processes, by name, exit 2.
  Checkpoint c = load_checkpoint(d + "/ck12");
  c.notes["fingerprint.train"] = "0123456789abcdef";
  save_checkpoint(d + "/earlier.ckpt", c.state, c.notes);
  const RunResult earlier = mpirun(2, "--resume '" + d + "/earlier.ckpt' --epochs 4");
  EXPECT_EQ(earlier.status, 2) << describe(earlier);
  EXPECT_EQ(earlier.err, "softreg: --resume " + d +
                             "/earlier.ckpt: the checkpoint was written by an earlier softreg, "
                             "whose fingerprint of the data needs the whole set: resume it in one "
                             "process\n");
}

// --cache across processes: each process reads its rows of a cache that one process wrote (and
// 1/P of the file for its checksum, computed in turn), and lbfgs gives the one-process model
// file. A missing cache is not written across processes: the file is read in parts, and a line
// says so. An altered cache ends the job with exit 2, naming the process that found it.
TEST_F(Processes, ACacheIsReadInParts) {
  TempDir dir;
  const std::string d = write_sparse_sets(dir.path());
  const std::string args = "--libsvm '" + d + "/train.svm' --test '" + d +
                           "/test.svm' --solver lbfgs --max-iter 15 --cache '" + d;
  const RunResult plain = run_softreg("train " + args + "/c.cache' --out '" + d + "/one.st'");
  ASSERT_EQ(plain.status, 0) << describe(plain);
  ASSERT_NE(plain.out.find("wrote the cache"), std::string::npos) << describe(plain);
  for (const int p : {2, 3}) {
    const RunResult r = mpirun(p, args + "/c.cache' --threads 1 --out '" + d + "/many.st'");
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_NE(r.out.find("from the cache " + d + "/c.cache (each process its rows)"),
              std::string::npos)
        << describe(r);
    EXPECT_EQ(bytes_of(dir.path() / "many.st"), bytes_of(dir.path() / "one.st")) << p;
  }
  const RunResult missing = mpirun(2, args + "/none.cache' --threads 1 --out '" + d + "/m.st'");
  ASSERT_EQ(missing.status, 0) << describe(missing);
  EXPECT_NE(missing.out.find("the cache " + d +
                             "/none.cache is missing: across processes it is "
                             "not written"),
            std::string::npos)
      << describe(missing);
  EXPECT_FALSE(fs::exists(dir.path() / "none.cache"));
  EXPECT_EQ(bytes_of(dir.path() / "m.st"), bytes_of(dir.path() / "one.st"));
  // One byte changed in the middle of the cache (its columns): the checksum, which the last
  // process completes, no longer matches.
  std::string cache = bytes_of(dir.path() / "c.cache");
  cache[cache.size() / 2] ^= 0x01;
  write_text(dir.path() / "c.cache", cache);
  const RunResult altered = mpirun(3, args + "/c.cache' --threads 1");
  EXPECT_EQ(altered.status, 2) << describe(altered);
  EXPECT_EQ(altered.err, "softreg: process 2: " + d +
                             "/c.cache: not a valid softreg cache: its checksum does not match "
                             "(the file was altered or cut short)\n");
}

TEST_F(Processes, ABadLineThatOneProcessReadsEndsTheJobWithItsMessage) {
  TempDir dir;
  std::string text = libsvm_lines(900);
  text += "2 5:1 4:1\n";  // the last line, read by the last process: indices must increase
  write_text(dir.path() / "train.svm", text);
  write_text(dir.path() / "test.svm", libsvm_lines(30));
  const std::string args = "--libsvm '" + dir.path().string() + "/train.svm' --test '" +
                           dir.path().string() + "/test.svm' --solver lbfgs";
  const RunResult r = mpirun(3, args);
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_EQ(lines_of(r.err).size(), 1u) << describe(r);
  EXPECT_NE(r.err.find("softreg: process 2: " + dir.path().string() +
                       "/train.svm: line 901, pair 2: indices must increase"),
            std::string::npos)
      << describe(r);
}

// Every option a run across processes does not take yet is refused before any data is read:
// exit 2 and one line naming the option (docs/cli.md, "Across processes").
TEST_F(Processes, EveryOptionNotTakenAcrossProcessesIsRefusedByName) {
  TempDir dir;
  const std::string d = dir.path().string();
  write_text(dir.path() / "t.csv", "a,label\n1,0\n2,1\n");
  // --resume reads its checkpoint as the options are parsed, and takes the run's options from
  // it: a real one, of one process, with an option not taken across processes.
  write_tiny_fashion(dir.path() / "tiny", 100, 10);
  const RunResult first =
      run_softreg("train --data '" + d + "/tiny' --epochs 1 --validation-split 0.2 --checkpoint '" +
                  d + "/ck' --quiet");
  ASSERT_EQ(first.status, 0) << describe(first);
  // Each case carries --data or a table of its own (a clash of those is refused first, at
  // parsing). --validation* comes with --solver sgd (what it validates); a resumed run takes its
  // checkpoint's options.
  const std::string images = "--data /nonexistent ";
  const std::pair<std::string, std::string> refused[] = {
      {images + "--solver sgd --validation-split 0.1", "--validation"},
      {"--resume '" + d + "/ck' --epochs 2", "--validation"},
      {"--csv '" + d + "/t.csv'",
       "--test-split (give --test FILE: a split would need the whole file)"},
      {images + "--cv 3 --C 1,10", "--cv"},
      {images + "--stream 100", "--stream"},
      {images + "--limit 5", "--limit"},
      {images + "--standardize", "--standardize"},
      {images + "--plot '" + d + "/p.svg'", "--plot"},
      {images + "--report '" + d + "/report'", "--report"},
      {images + "--backend torch", "--backend torch"},
      {"--text - --test '" + d + "/t.txt'", "--text - (standard input cannot be read in parts)"},
  };
  for (const auto& [option, name] : refused) {
    const bool sgd = option.find("--solver sgd") != std::string::npos ||
                     option.find("--resume") != std::string::npos;
    const RunResult r = mpirun(2, option + (sgd ? "" : " --solver lbfgs"));
    EXPECT_EQ(r.status, 2) << option << ": " << describe(r);
    EXPECT_EQ(r.err, "softreg: across 2 processes (mpirun), softreg train does not take " + name +
                         " yet\n")
        << option;
  }
}

TEST_F(Processes, AProcessKilledMidRunEndsTheJobWithinSeconds) {
  const fs::path real = real_fashion_mnist_dir();
  ASSERT_FALSE(real.empty()) << no_real_fashion_mnist();
  // Process 1 is found among mpirun's children by its rank, killed 2 s into a long run, and the
  // time until mpirun returns is measured; timeout bounds the whole.
  const std::string script =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 '" +
      kMpirun + "' --oversubscribe -np 2 '" + SOFTREG_EXE + "' train --data '" + real.string() +
      "' --solver lbfgs --max-iter 100000 --tol 1e-30 --threads 1 --quiet & pid=$!\n"
      "victim=\n"
      "for i in $(seq 300); do\n"
      "  for p in $(pgrep -P $pid); do\n"
      "    grep -qz '^OMPI_COMM_WORLD_RANK=1$' /proc/$p/environ 2>/dev/null && victim=$p\n"
      "  done\n"
      "  [ -n \"$victim\" ] && break; sleep 0.1\n"
      "done\n"
      "sleep 2; kill -9 $victim; t0=$(date +%s%N)\n"
      "wait $pid; s=$?\n"
      "echo \"status $s ms $(( ($(date +%s%N) - t0) / 1000000 ))\"\n";
  TempDir dir;
  write_text(dir.path() / "kill.sh", script);
  const RunResult r = run_command("timeout 120 sh '" + (dir.path() / "kill.sh").string() + "'");
  ASSERT_EQ(r.status, 0) << "the job did not end: " << describe(r);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(status (\d+) ms (\d+))"))) << describe(r);
  EXPECT_NE(std::stoi(m[1]), 0) << "a job that lost a process fails";
  EXPECT_LT(std::stoi(m[2]), 15000) << "the others stop within seconds";
  EXPECT_NE(r.err.find("process rank 1"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("signal 9"), std::string::npos) << describe(r);
}

}  // namespace
}  // namespace softreg::test
