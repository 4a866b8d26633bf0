// softreg's optimum against scikit-learn's (Debian's python3-sklearn): on iris, breast_cancer
// (standardised), a sparse LIBSVM file (scipy.sparse on scikit-learn's side) and the first 5000
// Fashion-MNIST images, for C in {0.01, 1, 100}, with and
// without balanced class weights and sample weights, softreg's model (--solver newton) is at
// least as good on the objective of docs/objective.md as scikit-learn's lbfgs at a tight tol,
// F_softreg <= F_sklearn + 1e-9 |F|, and for C <= 1 the coefficients agree to 1e-3 (relative,
// Frobenius). Both objectives are computed by one float64 formula on the same features
// (tests/python/compare_sklearn.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "expect.hpp"
#include "fixtures.hpp"
#include "run.hpp"
#include "softreg/data.hpp"
#include "softreg/random.hpp"

namespace softreg::test {
namespace {

namespace fs = std::filesystem;

const std::string kPython = "/usr/bin/python3";  // Debian's, with numpy and scikit-learn

// The table standardised as softreg would (--standardize), written with every feature as the
// exact decimal of its float, so that scikit-learn reads the very values softreg reads; with
// `weights`, a column w of sample weights before the label.
fs::path exact_table(const fs::path& dir, const std::string& name, bool weights) {
  Dataset d = load_csv(fs::path(SOFTREG_TEST_DATA) / name);
  standardize(d, fit_standardization(d));
  std::string text;
  for (std::size_t j = 0; j < d.inputs; ++j) text += "x" + std::to_string(j) + ",";
  text += weights ? "w,y\n" : "y\n";
  char buf[64];
  for (std::size_t i = 0; i < d.rows; ++i) {
    for (std::size_t j = 0; j < d.inputs; ++j) {
      std::snprintf(buf, sizeof buf, "%.17g,", static_cast<double>(d.values[i * d.inputs + j]));
      text += buf;
    }
    // Weights from 0.5 to 2.25, exact in binary.
    if (weights) text += std::to_string(0.5 + 0.25 * static_cast<double>(i % 8)) + ",";
    text += d.class_names[static_cast<std::size_t>(d.labels[i])] + "\n";
  }
  const fs::path f = dir / ((weights ? "w-" : "") + name);
  write_text(f, text);
  return f;
}

// A sparse LIBSVM file: 400 rows of 3 classes, 12 values a row spread over 100,000 columns
// (most never used: softreg's solvers then work over the used ones only, docs/objective.md),
// a few columns telling the classes apart.
fs::path sparse_table(const fs::path& dir) {
  Rng rng(11);
  std::string text;
  for (int i = 0; i < 400; ++i) {
    const std::uint64_t y = rng.below(3);
    text += std::to_string(y);
    std::uint64_t c = 0;
    for (int j = 0; j < 12; ++j) {
      c += 1 + rng.below(8000);
      const double v = (j == 0 ? 1.0 + static_cast<double>(y) : 0.25) * (1 + rng.below(4));
      text += " " + std::to_string(j == 0 ? 1 + y : c + 10) + ":" + std::to_string(v);
    }
    text += "\n";
  }
  const fs::path f = dir / "sparse.svm";
  write_text(f, text);
  return f;
}

struct Case {
  const char* data;  // iris.csv, breast_cancer.csv, sparse.svm or fashion
  double c;
  const char* weights;  // "", "balanced" or "sample"
};

std::string case_name(const testing::TestParamInfo<Case>& p) {
  std::string n = p.param.data;
  n = n.substr(0, n.find('.'));
  char c[32];
  std::snprintf(c, sizeof c, "%g", p.param.c);
  n += std::string("_C") + c;
  for (char& ch : n)
    if (ch == '.') ch = '_';
  if (*p.param.weights) n += std::string("_") + p.param.weights;
  return n;
}

class AgainstScikitLearn : public testing::TestWithParam<Case> {};

TEST_P(AgainstScikitLearn, SameObjectiveAtLeastAsLowSameCoefficients) {
  const Case& c = GetParam();
  TempDir dir;
  const fs::path model = dir.path() / "m.safetensors";
  char cbuf[32];
  std::snprintf(cbuf, sizeof cbuf, "%.17g", c.c);
  const std::string C = cbuf;
  const bool fashion = std::string(c.data) == "fashion";
  const bool sample = std::string(c.weights) == "sample";
  const bool balanced = std::string(c.weights) == "balanced";
  std::string data, reference;
  if (fashion) {
    const fs::path real = real_fashion_mnist_dir();
    ASSERT_FALSE(real.empty()) << no_real_fashion_mnist();
    data = "--data " + quoted(real) + " --limit 5000";
    reference = "--fashion " + quoted(real) + " --limit 5000";
  } else if (std::string(c.data) == "sparse.svm") {
    const fs::path table = sparse_table(dir.path());
    data = "--libsvm " + quoted(table) + " --test " + quoted(table);
    reference = "--libsvm " + quoted(table);
  } else {
    const fs::path table = exact_table(dir.path(), c.data, sample);
    // All the table's rows train (and, unused here, test): the rows scikit-learn fits.
    data = "--csv " + quoted(table) + " --test " + quoted(table) +
           (sample ? " --sample-weight w" : "");
    reference = "--csv " + quoted(table) + (sample ? " --weight-column w" : "");
    if (std::string(c.data) == "breast_cancer.csv") data += " --model logistic";
  }
  const std::string weights = balanced ? " --class-weight balanced" : "";
  // Newton to a gradient 10⁻⁶ of the sum (scikit-learn's scale): F within ~1e-12 of its optimum.
  const RunResult r =
      run_softreg("train " + data + weights + " --C " + C +
                  " --solver newton --tol 1e-6 --max-iter 1000 -q --out " + quoted(model));
  ASSERT_EQ(r.status, 0) << describe(r);
  ASSERT_NE(r.out.find("  converged  "), std::string::npos) << describe(r);
  const RunResult p =
      run_command(kPython + " " +
                  quoted(fs::path(SOFTREG_SOURCE_DIR) / "tests" / "python" / "compare_sklearn.py") +
                  " " + quoted(model) + " " + reference + " --C " + C + weights);
  ASSERT_EQ(p.status, 0) << describe(p);
  const auto j = nlohmann::json::parse(p.out);
  const double f_softreg = j["f_softreg"], f_sklearn = j["f_sklearn"];
  EXPECT_LE(f_softreg, f_sklearn + 1e-9 * std::abs(f_sklearn))
      << "softreg " << f_softreg << ", scikit-learn " << f_sklearn << " in " << j["n_iter"]
      << " iterations";
  if (c.c <= 1) EXPECT_LT(j["coef_relative"].get<double>(), 1e-3) << p.out;
}

INSTANTIATE_TEST_SUITE_P(
    Tables, AgainstScikitLearn,
    testing::Values(Case{"iris.csv", 0.01, ""}, Case{"iris.csv", 1, ""}, Case{"iris.csv", 100, ""},
                    Case{"iris.csv", 0.01, "balanced"}, Case{"iris.csv", 1, "balanced"},
                    Case{"iris.csv", 100, "balanced"}, Case{"iris.csv", 0.01, "sample"},
                    Case{"iris.csv", 1, "sample"}, Case{"iris.csv", 100, "sample"},
                    Case{"breast_cancer.csv", 0.01, ""}, Case{"breast_cancer.csv", 1, ""},
                    Case{"breast_cancer.csv", 100, ""}, Case{"breast_cancer.csv", 0.01, "balanced"},
                    Case{"breast_cancer.csv", 1, "balanced"},
                    Case{"breast_cancer.csv", 100, "balanced"},
                    Case{"breast_cancer.csv", 0.01, "sample"},
                    Case{"breast_cancer.csv", 1, "sample"},
                    Case{"breast_cancer.csv", 100, "sample"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(SparseRows, AgainstScikitLearn,
                         testing::Values(Case{"sparse.svm", 0.01, ""}, Case{"sparse.svm", 1, ""},
                                         Case{"sparse.svm", 100, ""},
                                         Case{"sparse.svm", 1, "balanced"}),
                         case_name);

INSTANTIATE_TEST_SUITE_P(FashionMnist5000, AgainstScikitLearn,
                         testing::Values(Case{"fashion", 0.01, ""}, Case{"fashion", 1, ""},
                                         Case{"fashion", 100, ""},
                                         Case{"fashion", 0.01, "balanced"},
                                         Case{"fashion", 1, "balanced"},
                                         Case{"fashion", 100, "balanced"}),
                         case_name);

}  // namespace
}  // namespace softreg::test
