// Reading in parts (data.hpp, "Reading in parts"): P processes (threads here) each read their
// part of an IDX, LIBSVM or text file, and the parts are the whole loader's data set, cut in
// order — every example once, the same classes and features — for P = 1 to 5 on files of 1,
// P - 1, P + 1 and many examples, with CRLF and very long lines; an error in one part ends every
// process with the whole loader's message, naming the process and the line in the whole file.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixtures.hpp"
#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/objective.hpp"
#include "thread_comm.hpp"

namespace softreg {
namespace {

// The parts appended in rank order.
Dataset joined(const std::vector<Dataset>& parts) {
  Dataset all = parts.front().empty_like(parts.front().source);
  for (const Dataset& p : parts)
    for (std::size_t i = 0; i < p.rows; ++i) all.append_row(p, i);
  return all;
}

void expect_same(const Dataset& got, const Dataset& want, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.inputs, want.inputs);
  EXPECT_EQ(got.class_names, want.class_names);
  EXPECT_EQ(got.labels, want.labels);
  EXPECT_EQ(got.pixels, want.pixels);
  EXPECT_EQ(got.values, want.values);
  EXPECT_EQ(got.weights, want.weights);
  EXPECT_EQ(got.sparse.offsets, want.sparse.offsets);
  EXPECT_EQ(got.sparse.cols, want.sparse.cols);
  EXPECT_EQ(got.sparse.vals, want.sparse.vals);
  EXPECT_EQ(got.shape, want.shape);
}

// Every process's result of load(comm), in rank order; the first process's InputError, if any
// (every process must throw the same one).
template <typename Load>
std::vector<Dataset> in_parts(int processes, Load load, std::string* error = nullptr) {
  std::vector<Dataset> parts(static_cast<std::size_t>(processes));
  std::vector<std::string> errors(parts.size());
  test::ThreadGroup(processes).run([&](const Comm& comm) {
    try {
      parts[static_cast<std::size_t>(comm.rank())] = load(comm);
    } catch (const InputError& e) {
      errors[static_cast<std::size_t>(comm.rank())] = e.what();
    }
  });
  for (const std::string& e : errors) EXPECT_EQ(e, errors.front()) << "every process the same";
  if (error != nullptr)
    *error = errors.front();
  else
    EXPECT_EQ(errors.front(), "");
  return parts;
}

// n LIBSVM lines of labels "a".."e" ("z" only on line 3: a class one part sees alone), one
// line of 300 KB, some CRLF, a comment and a blank line.
std::string libsvm_text(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += i == 2 ? "z" : std::string(1, static_cast<char>('a' + i % 5));
    if (i == 4) {
      for (int j = 1; j <= 30000; ++j) s += " " + std::to_string(j) + ":0.5";
    } else {
      s += " " + std::to_string(1 + i % 7) + ":1 " + std::to_string(10 + i % 3) + ":2.5";
    }
    s += i % 4 == 1 ? "\r\n" : "\n";
    if (i == 6) s += "# a comment\n\n";
  }
  return s;
}

std::string fasttext_text(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += "__label__" + std::string(1, static_cast<char>('p' + i % 3)) + " word" +
         std::to_string(i % 11) + " and more words";
    if (i == 3)
      for (int j = 0; j < 40000; ++j) s += " w" + std::to_string(j % 97);
    s += i % 3 == 0 ? "\r\n" : "\n";
  }
  return s;
}

TEST(ReadInParts, LibsvmAndTextPartsAreTheWholeFileInOrder) {
  test::TempDir dir;
  TextOptions text;
  text.hash_bits = 12;
  for (std::uint32_t processes = 1; processes <= 5; ++processes)
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{processes - 1},
                                std::size_t{processes + 1}, std::size_t{37}}) {
      const auto svm = dir.path() / "t.svm";
      const auto ft = dir.path() / "t.ft";
      test::write_text(svm, libsvm_text(n));
      test::write_text(ft, fasttext_text(n));
      if (n < 2) {
        // No rows, or one class: the whole loader's error, from every part.
        std::string whole, error;
        try {
          load_libsvm(svm);
        } catch (const InputError& e) {
          whole = e.what();
        }
        in_parts(
            static_cast<int>(processes),
            [&](const Comm& c) { return load_sparse_part(svm, SparseFormat::libsvm, {}, c); },
            &error);
        ASSERT_FALSE(whole.empty());
        EXPECT_TRUE(error.ends_with(whole)) << error << " | " << whole;
        continue;
      }
      const std::string what =
          std::to_string(n) + " lines, " + std::to_string(processes) + " parts";
      expect_same(joined(in_parts(static_cast<int>(processes),
                                  [&](const Comm& c) {
                                    return load_sparse_part(svm, SparseFormat::libsvm, {}, c);
                                  })),
                  load_libsvm(svm), "libsvm, " + what);
      expect_same(joined(in_parts(static_cast<int>(processes),
                                  [&](const Comm& c) {
                                    return load_sparse_part(ft, SparseFormat::text, text, c);
                                  })),
                  load_text(ft, text), "text, " + what);
      // A test file read with the training classes and features.
      const Dataset whole = load_libsvm(svm);
      expect_same(joined(in_parts(static_cast<int>(processes),
                                  [&](const Comm& c) {
                                    return load_sparse_part(svm, SparseFormat::libsvm, {}, c,
                                                            whole.class_names, 9);
                                  })),
                  load_libsvm(svm, 9, whole.class_names), "libsvm with classes, " + what);
    }
}

// n CSV rows of 5 features, a label of 3 names and a sample weight, CRLF on some lines, a quoted
// number, a blank line.
std::string csv_text(std::size_t n) {
  std::string s = "a,b,\"c\",d,e,weight,kind\n";
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < 5; ++j)
      s += (j == 2 && i % 7 == 0
                ? "\"" + std::to_string(0.5 * static_cast<double>(i * j)) + "\""
                : std::to_string(static_cast<double>((i * 31 + j * 17) % 101) / 7)) +
           ",";
    s += std::to_string(1 + i % 3) + "," +
         std::string(i % 3 == 0   ? "cat"
                     : i % 3 == 1 ? "dog"
                                  : "emu");
    s += i % 5 == 0 ? "\r\n" : "\n";
    if (i == 3) s += "\n";
  }
  return s;
}

TEST(ReadInParts, CsvPartsAreTheWholeFileAndTrainingPartsAreWholeStripes) {
  test::TempDir dir;
  const auto file = dir.path() / "t.csv";
  CsvOptions o;
  o.weight_column = "weight";
  for (int processes = 1; processes <= 5; ++processes)
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t(processes - 1),
                                std::size_t(processes + 1), std::size_t{3001}}) {
      test::write_text(file, csv_text(n));
      const std::string what = std::to_string(n) + " rows, " + std::to_string(processes) + " parts";
      std::string whole_error;
      Dataset whole;
      try {
        whole = load_csv(file, o);
      } catch (const InputError& e) {
        whole_error = e.what();
      }
      std::string error;
      const std::vector<Dataset> parts = in_parts(
          processes, [&](const Comm& c) { return load_csv_part(file, o, c); }, &error);
      if (!whole_error.empty()) {
        EXPECT_TRUE(error.ends_with(whole_error)) << what << ": " << error << " | " << whole_error;
        continue;
      }
      ASSERT_EQ(error, "") << what;
      expect_same(joined(parts), whole, "csv, " + what);
      const std::vector<Dataset> stripes = in_parts(processes, [&](const Comm& c) {
        Dataset d = load_csv_part(file, o, c, [](std::size_t classes) { return classes; });
        const RowRange want = objective_rows(n, 5, 3, static_cast<std::uint32_t>(processes),
                                             static_cast<std::uint32_t>(c.rank()));
        EXPECT_EQ(d.rows, want.size()) << "whole stripes, " << what;
        return d;
      });
      expect_same(joined(stripes), whole, "csv in stripes, " + what);
      EXPECT_EQ(stripes.front().feature_names, whole.feature_names);
    }
  // A bad value read by the last part: the whole loader's message, from every process.
  std::string bad = csv_text(50);
  bad.insert(bad.rfind("\n", bad.size() - 2) + 1, "1,2,x,4,5,1,cat\n");
  test::write_text(file, bad);
  std::string whole, error;
  try {
    load_csv(file, o);
  } catch (const InputError& e) {
    whole = e.what();
  }
  in_parts(
      3, [&](const Comm& c) { return load_csv_part(file, o, c); }, &error);
  EXPECT_EQ(error, "process 2: " + whole);
  // A quoted field holding line ends: read as the whole file reads it, or refused by name where
  // a cut falls inside it — never misread.
  std::string quoted = "x,label\n1,\"a";
  for (int i = 0; i < 400; ++i) quoted += "\nmore text of the label";
  quoted += "\"\n2,b\n3,a\n";
  test::write_text(file, quoted);
  const Dataset q = load_csv(file);
  int refused = 0;
  for (int processes = 1; processes <= 4; ++processes) {
    const std::vector<Dataset> parts = in_parts(
        processes, [&](const Comm& c) { return load_csv_part(file, {}, c); }, &error);
    if (error.empty()) {
      expect_same(joined(parts), q, "quoted, " + std::to_string(processes) + " parts");
    } else {
      ++refused;
      EXPECT_NE(error.find("a quoted field holds a line end where the file is cut"),
                std::string::npos)
          << error;
    }
  }
  EXPECT_GT(refused, 0) << "a cut falls inside the 400-line field for some P";
}

TEST(ReadInParts, ABadLineInOnePartEndsEveryProcessWithItsMessage) {
  test::TempDir dir;
  const auto svm = dir.path() / "bad.svm";
  std::string s = libsvm_text(40);
  const std::size_t at = s.find("\n", s.size() * 3 / 4);
  s.insert(at + 1, "b 3:1 2:1\n");  // indices must increase
  test::write_text(svm, s);
  std::string whole;
  try {
    load_libsvm(svm);
  } catch (const InputError& e) {
    whole = e.what();
  }
  ASSERT_NE(whole.find("line "), std::string::npos);
  std::string error;
  in_parts(
      3, [&](const Comm& c) { return load_sparse_part(svm, SparseFormat::libsvm, {}, c); }, &error);
  EXPECT_EQ(error, "process 2: " + whole);
  // A file of one class, and a missing file.
  test::write_text(svm, "a 1:1\na 2:1\na 1:1\n");
  in_parts(
      2, [&](const Comm& c) { return load_sparse_part(svm, SparseFormat::libsvm, {}, c); }, &error);
  EXPECT_NE(error.find("only one class ('a')"), std::string::npos) << error;
  in_parts(
      2,
      [&](const Comm& c) {
        return load_sparse_part(dir.path() / "none.svm", SparseFormat::libsvm, {}, c);
      },
      &error);
  EXPECT_NE(error.find("process 0: "), std::string::npos) << error;
  EXPECT_NE(error.find("none.svm"), std::string::npos) << error;
  // A gzip'd file: no part of a deflate stream can be read alone.
  const std::string text = libsvm_text(20);
  test::write_file(svm, test::gzip_bytes(std::span(
                            reinterpret_cast<const std::uint8_t*>(text.data()), text.size())));
  in_parts(
      2, [&](const Comm& c) { return load_sparse_part(svm, SparseFormat::libsvm, {}, c); }, &error);
  EXPECT_EQ(error, "process 0: " + svm.string() +
                       ": gzip data: across processes each reads its own lines, so give the file "
                       "uncompressed");
}

// Found by fuzz_parts: blank lines before a CSV header went with it to every part, whose first
// data row was then taken for the header; a header line ended by a lone CR held rows that every
// part read.
TEST(ReadInParts, ACsvHeaderAfterBlankLinesOrEndedByALoneCrIsNotReadTwice) {
  test::TempDir dir;
  const auto file = dir.path() / "t.csv";
  test::write_text(file, "\n\r\na,label\n1,x\n2,y\n3,x\n4,y\n");
  const Dataset whole = load_csv(file);
  for (int processes = 1; processes <= 3; ++processes) {
    std::string error;
    const std::vector<Dataset> parts = in_parts(
        processes, [&](const Comm& c) { return load_csv_part(file, {}, c); }, &error);
    ASSERT_EQ(error, "") << processes;
    expect_same(joined(parts), whole, std::to_string(processes) + " parts");
  }
  test::write_text(file, "a,label\r1,x\r2,y\n3,x\n");
  std::string error;
  in_parts(
      2, [&](const Comm& c) { return load_csv_part(file, {}, c); }, &error);
  EXPECT_EQ(error, "process 0: " + file.string() +
                       ": line 1: a line ends in a lone CR: across processes, lines end in LF or "
                       "CR LF");
}

TEST(ReadInParts, FashionMnistPartsAreTheWholeInOrder) {
  for (const bool gzip : {true, false}) {
    test::TempDir dir;
    test::write_tiny_fashion(dir.path(), 3001, 7, 28, 28, gzip);  // 3 stripes of training rows
    const TrainTest whole = load_fashion_mnist(dir.path());
    for (int processes = 1; processes <= 5; ++processes) {
      std::vector<Dataset> tests;
      const std::vector<Dataset> trains = in_parts(processes, [&](const Comm& c) {
        TrainTest tt = load_fashion_mnist_part(dir.path(), c, 10);
        const RowRange want = objective_rows(3001, 784, 10, static_cast<std::uint32_t>(processes),
                                             static_cast<std::uint32_t>(c.rank()));
        EXPECT_EQ(tt.train.rows, want.size()) << "whole stripes of the objective";
        return tt.train;
      });
      const std::vector<Dataset> test_parts = in_parts(processes, [&](const Comm& c) {
        return load_fashion_mnist_part(dir.path(), c, 10).test;
      });
      const std::string what = std::to_string(processes) + (gzip ? " parts, gzip" : " parts");
      expect_same(joined(trains), whole.train, "train, " + what);
      expect_same(joined(test_parts), whole.test, "test, " + what);
    }
  }
}

TEST(ReadInParts, AnIdxFileThatEndsEarlyOrHoldsMoreIsAnErrorOfThePartThatSeesIt) {
  test::TempDir dir;
  std::vector<std::uint8_t> data(10 * 4);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
  const auto take = [](const std::vector<std::size_t>& dims) { return RowRange{0, dims[0]}; };
  const auto file = dir.path() / "a.idx.gz";
  // 10 items of 2 x 2 claimed, 9 given.
  test::write_file(file, test::gzip_bytes(test::idx_bytes({10, 2, 2}, std::span(data).first(36))));
  EXPECT_THROW(load_idx_part(file, 3, take), InputError);
  const auto head = [](const std::vector<std::size_t>&) { return RowRange{0, 2}; };
  EXPECT_EQ(load_idx_part(file, 3, head).data.size(), 8u) << "the first items are there";
  // Every item there but the stream cut before its end (the trailer gone): truncated, as the
  // whole loader says, for the part that ends at the last item (found by fuzz_idx).
  std::vector<std::uint8_t> cut = test::gzip_bytes(test::idx_bytes({10, 2, 2}, data));
  cut.resize(cut.size() - 8);
  test::write_file(file, cut);
  EXPECT_THROW(parse_idx(cut, "cut", 3), InputError);
  EXPECT_THROW(load_idx_part(file, 3, take), InputError);
  EXPECT_EQ(load_idx_part(file, 3, head).data.size(), 8u);
  // 10 claimed, 11 given: the part with the last item says so.
  std::vector<std::uint8_t> more(44, 1);
  test::write_file(file, test::gzip_bytes(test::idx_bytes({10, 2, 2}, more)));
  EXPECT_THROW(load_idx_part(file, 3, take), InputError);
  const auto raw = dir.path() / "a.idx";
  test::write_file(raw, test::idx_bytes({10, 2, 2}, more));
  EXPECT_THROW(load_idx_part(raw, 3, head), InputError) << "a raw file's size is checked";
  test::write_file(raw, test::idx_bytes({10, 2, 2}, data));
  const IdxArray part = load_idx_part(raw, 3, [](const auto&) { return RowRange{3, 5}; });
  EXPECT_EQ(part.data, std::vector<std::uint8_t>(data.begin() + 12, data.begin() + 20));
  EXPECT_EQ(part.dims, (std::vector<std::size_t>{10, 2, 2}));
}

}  // namespace
}  // namespace softreg
