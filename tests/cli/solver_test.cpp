// softreg train --solver lbfgs | newton through the CLI (docs/cli.md, docs/objective.md): the
// lines it prints, convergence and its warning, what the model file records, the penalty's
// three spellings, weights, --init and --cv, and every bad value refused with one line.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "expect.hpp"
#include "fixtures.hpp"
#include "run.hpp"
#include "softreg/io.hpp"

namespace softreg::test {
namespace {

namespace fs = std::filesystem;

const std::string kData = SOFTREG_TEST_DATA;
const std::string kIris = "--csv '" + kData + "/iris.csv' --standardize";
const std::string kCancer = "--csv '" + kData + "/breast_cancer.csv' --standardize";

RunResult train(const std::string& args) {
  return run_softreg("train " + args);
}

// The summary line's objective, iterations and convergence.
struct Summary {
  double objective = NAN;
  int iterations = -1;
  bool converged = false;
  double test_accuracy = NAN;
};

Summary summary_of(const std::string& out) {
  static const std::regex line(
      R"(^trained (lbfgs|newton) on \d+ examples in \d+\.\d\d s: objective (\S+)  iterations (\d+)  (converged|not converged)  train acc \d\.\d{4}  test acc (\d\.\d{4})$)");
  Summary s;
  for (const std::string& l : lines_of(out)) {
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    s.objective = std::stod(m[2]);
    s.iterations = std::stoi(m[3]);
    s.converged = m[4] == "converged";
    s.test_accuracy = std::stod(m[5]);
  }
  return s;
}

TEST(SolverCli, TablesDefaultToLbfgsAtCOneAndPrintEveryIteration) {
  const RunResult r = train(kIris);
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.err, "");
  const auto lines = lines_of(r.out);
  const std::regex iter(
      R"(^iter (\d+)  objective (\d+\.\d{10})  grad (\d\.\de[+-]\d\d)  step \S+  \(\d+\.\d\d s\)$)");
  int n = 0;
  double previous = INFINITY;
  for (const std::string& l : lines) {
    std::smatch m;
    if (!std::regex_match(l, m, iter)) continue;
    EXPECT_EQ(std::stoi(m[1]), ++n) << l;
    EXPECT_LE(std::stod(m[2]), previous) << "the objective never rises: " << l;
    previous = std::stod(m[2]);
  }
  const Summary s = summary_of(r.out);
  EXPECT_TRUE(s.converged) << r.out;
  EXPECT_EQ(s.iterations, n) << "one line per iteration";
  EXPECT_EQ(lines.size(), static_cast<std::size_t>(n) + 1) << r.out;
  EXPECT_GE(s.test_accuracy, 0.9);
  // --C 1 is the default: the same run (the same lines but for their times, which a loaded
  // machine changes).
  const std::regex seconds(R"(\d+\.\d\d s\b)");
  EXPECT_EQ(std::regex_replace(train(kIris + " --C 1").out, seconds, "(s)"),
            std::regex_replace(r.out, seconds, "(s)"));
}

TEST(SolverCli, LbfgsAndNewtonReachTheSameObjective) {
  for (const std::string data : {kIris, kCancer + " --model logistic"}) {
    SCOPED_TRACE(data);
    const Summary l =
        summary_of(train(data + " --solver lbfgs --tol 1e-6 --max-iter 10000 -q").out);
    const Summary n = summary_of(train(data + " --solver newton --tol 1e-6 -q").out);
    ASSERT_TRUE(l.converged && n.converged);
    EXPECT_NEAR(l.objective, n.objective, 1e-8 * n.objective);
    EXPECT_LT(n.iterations, l.iterations);
  }
}

TEST(SolverCli, NotConvergingWarnsAndExitsZero) {
  const RunResult r = train(kIris + " --max-iter 3 --tol 1e-10 -q");
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_FALSE(summary_of(r.out).converged) << r.out;
  EXPECT_EQ(summary_of(r.out).iterations, 3);
  EXPECT_TRUE(std::regex_match(
      r.err,
      std::regex(
          R"(softreg: warning: lbfgs did not converge: it reached --max-iter after 3 iterations, grad \S+ > --tol 1e-10 \(raise --max-iter, or --tol\)\n)")))
      << r.err;
}

TEST(SolverCli, ThePenaltysThreeSpellingsAreOneObjective) {
  // iris's training split has 120 rows: C = 0.5 is λ = 1 / (0.5 * 120) = 1/60.
  const Summary c = summary_of(train(kIris + " --C 0.5 --tol 1e-6 -q").out);
  const Summary l2 = summary_of(train(kIris + " --l2 0.016666666666666666 --tol 1e-6 -q").out);
  const Summary wd =
      summary_of(train(kIris + " --weight-decay 0.016666666666666666 --tol 1e-6 -q").out);
  EXPECT_DOUBLE_EQ(c.objective, l2.objective);
  EXPECT_DOUBLE_EQ(wd.objective, l2.objective);
  // A weaker penalty fits the training data closer: a lower objective.
  EXPECT_LT(summary_of(train(kIris + " --C 10 -q").out).objective, c.objective);
}

TEST(SolverCli, TheModelFileRecordsTheSolverAndItsResult) {
  TempDir dir;
  const fs::path model = dir.path() / "m.safetensors";
  const RunResult r = train(kIris + " --solver newton --C 2 -q --out " + quoted(model));
  ASSERT_EQ(r.status, 0) << describe(r);
  const auto notes = load_model(model).info.notes;
  EXPECT_EQ(notes.at("solver"), "newton");
  EXPECT_EQ(notes.at("C"), "2");
  EXPECT_DOUBLE_EQ(std::stod(notes.at("lambda")), 1.0 / (2.0 * 120));
  EXPECT_EQ(notes.at("converged"), "true");
  EXPECT_EQ(std::stoi(notes.at("iterations")), summary_of(r.out).iterations);
  // The summary prints 12 significant digits; the file keeps every bit.
  EXPECT_NEAR(std::stod(notes.at("objective")), summary_of(r.out).objective, 1e-12);
  EXPECT_LE(std::stod(notes.at("gradient")), 1e-4);
  const auto options = nlohmann::json::parse(notes.at("training_options"));
  EXPECT_EQ(options["solver"], "newton");
  EXPECT_EQ(options["C"], 2);
  EXPECT_EQ(options["tol"], 1e-4);
}

TEST(SolverCli, TwoRowSoftmaxAtCIsLogisticAt2C) {
  // docs/objective.md: the softmax penalty is smallest at W0 = -W1, where it is half the
  // logistic one of w = W1 - W0; so softmax at λ is logistic at λ / 2, with the same objective.
  TempDir dir;
  const fs::path s = dir.path() / "s.safetensors", l = dir.path() / "l.safetensors";
  const RunResult rs = train(kCancer + " --solver newton --C 1 --tol 1e-7 -q --out " + quoted(s));
  const RunResult rl =
      train(kCancer + " --model logistic --solver newton --C 2 --tol 1e-7 -q --out " + quoted(l));
  ASSERT_TRUE(summary_of(rs.out).converged && summary_of(rl.out).converged);
  EXPECT_NEAR(summary_of(rs.out).objective, summary_of(rl.out).objective,
              1e-9 * summary_of(rl.out).objective);
  const SavedModel softmax = load_model(s), logistic = load_model(l);
  const auto W = softmax.model.weight(), w = logistic.model.weight();
  const std::size_t d = w.size();
  double diff = 0, norm = 0, antisymmetry = 0;
  for (std::size_t j = 0; j < d; ++j) {
    diff = std::max(diff, double{std::abs((W[d + j] - W[j]) - w[j])});
    norm = std::max(norm, double{std::abs(w[j])});
    antisymmetry = std::max(antisymmetry, double{std::abs(W[d + j] + W[j])});
  }
  // Both at |S grad| <= 1e-7 of their optimum, stored as float: equal to 1e-5 of the largest.
  EXPECT_LT(diff, 1e-5 * norm);
  EXPECT_LT(antisymmetry, 1e-5 * norm) << "W0 = -W1 at the optimum";
  EXPECT_NEAR(softmax.model.bias()[1] - softmax.model.bias()[0], logistic.model.bias()[0],
              1e-5 * std::max(1.0f, std::abs(logistic.model.bias()[0])));
}

TEST(SolverCli, InitFromAConvergedModelConvergesAtOnce) {
  TempDir dir;
  const fs::path model = dir.path() / "m.safetensors";
  ASSERT_EQ(train(kCancer + " --model logistic --tol 1e-6 -q --out " + quoted(model)).status, 0);
  for (const char* solver : {"lbfgs", "newton"}) {
    const RunResult r = train(kCancer + " --model logistic --tol 1e-6 -q --solver " +
                              std::string(solver) + " --init " + quoted(model));
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_LE(summary_of(r.out).iterations, 2) << r.out;
    EXPECT_TRUE(summary_of(r.out).converged) << r.out;
  }
}

TEST(SolverCli, ClassWeightsChangeTheObjectiveAsScikitLearnsDo) {
  // Weights of 1 for every class are no weights; "balanced" on breast cancer (212 malignant,
  // 357 benign) is another objective.
  const Summary plain = summary_of(train(kCancer + " --tol 1e-6 -q").out);
  const Summary ones =
      summary_of(train(kCancer + " --tol 1e-6 -q --class-weight malignant=1,benign=1").out);
  const Summary balanced =
      summary_of(train(kCancer + " --tol 1e-6 -q --class-weight balanced").out);
  EXPECT_DOUBLE_EQ(ones.objective, plain.objective);
  EXPECT_NE(balanced.objective, plain.objective);
  EXPECT_TRUE(balanced.converged);
}

TEST(SolverCli, SampleWeightsOfACsvColumn) {
  TempDir dir;
  // iris with a weight column: every weight 2 is the same objective as none, F being a mean (at
  // a fixed λ: with --C, λ = 1 / (C S) would halve as S doubles).
  const auto rows = lines_of(slurp(kData + "/iris.csv"));
  std::string doubled = rows[0];
  doubled =
      doubled.substr(0, doubled.rfind(',')) + ",w," + doubled.substr(doubled.rfind(',') + 1) + "\n";
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto comma = rows[i].rfind(',');
    doubled += rows[i].substr(0, comma) + ",2" + rows[i].substr(comma) + "\n";
  }
  write_text(dir.path() / "w.csv", doubled);
  const std::string csv =
      "--csv " + quoted(dir.path() / "w.csv") + " --standardize --l2 0.01 --tol 1e-6 -q";
  const Summary weighted = summary_of(train(csv + " --sample-weight w").out);
  const Summary plain = summary_of(train(kIris + " --l2 0.01 --tol 1e-6 -q").out);
  ASSERT_TRUE(weighted.converged && plain.converged);
  // Both stop within ~1e-8 of a zero gradient (each at its own S): F - F* <= n |g|² / 2λ ~ 1e-13.
  EXPECT_NEAR(weighted.objective, plain.objective, 1e-12);
}

TEST(SolverCli, EvalAndPredictDropTheTrainingTablesWeightColumn) {
  TempDir dir;
  write_text(dir.path() / "t.csv", "x,w,y\n0,1,a\n1,2,b\n0.2,1,a\n0.9,0.5,b\n0.1,1,a\n0.8,3,b\n");
  const fs::path table = dir.path() / "t.csv", model = dir.path() / "m.safetensors";
  ASSERT_EQ(train("--csv " + quoted(table) + " --test " + quoted(table) +
                  " --sample-weight w -q --out " + quoted(model))
                .status,
            0);
  EXPECT_EQ(load_model(model).info.notes.at("sample_weight_column"), "w");
  const RunResult e = run_softreg("eval --model " + quoted(model) + " --csv " + quoted(table));
  EXPECT_EQ(e.status, 0) << describe(e);
  EXPECT_NE(e.out.find("(6 examples)"), std::string::npos) << e.out;
  const RunResult p = run_softreg("predict --model " + quoted(model) + " --csv " + quoted(table));
  EXPECT_EQ(p.status, 0) << describe(p);
  EXPECT_EQ(lines_of(p.out).size(), 6u) << p.out;
}

TEST(SolverCli, CrossValidationPrintsThePathAndTrainsTheBest) {
  const RunResult r = train(kIris + " --cv 3 --C 0.001,1,100 -q");
  ASSERT_EQ(r.status, 0) << describe(r);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], "C            accuracy           iterations");
  const std::regex row(R"(^(\S+) +(\d\.\d{4}) ± (\d\.\d{4}) +(\d+\.\d)( +best)?$)");
  int best = -1;
  for (int i = 1; i <= 3; ++i) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[static_cast<std::size_t>(i)], m, row))
        << lines[static_cast<std::size_t>(i)];
    if (m[5].matched) best = i;
  }
  // C = 0.001 shrinks every weight to almost nothing: it cannot be the best of the three.
  EXPECT_NE(best, 1) << r.out;
  EXPECT_NE(best, -1) << r.out;
  EXPECT_TRUE(summary_of(r.out).converged);
}

TEST(SolverCli, CrossValidationFindsTheBestCKnownByConstruction) {
  // 80 rows of class a at x1 < 0 and 20 of b at x1 > 0, far apart: with C = 1e-6 the penalty
  // leaves W at almost 0 and the intercept calls every row a (80% right); C = 100 and 10000
  // separate the classes (100%). Of equals the strongest penalty is chosen: C = 100.
  TempDir dir;
  std::string text = "x1,x2,y\n";
  for (int i = 0; i < 100; ++i) {
    const bool b = i % 5 == 4;
    text += std::to_string(b ? 3.0 + (i % 7) * 0.25 : -3.0 - (i % 11) * 0.25) + "," +
            std::to_string((i * 37 % 17) / 17.0 - 0.5) + "," + (b ? "b" : "a") + "\n";
  }
  write_text(dir.path() / "t.csv", text);
  // All 100 rows train (--test names the same file): every fold has 16 a and 4 b.
  const RunResult r = train("--csv " + quoted(dir.path() / "t.csv") + " --test " +
                            quoted(dir.path() / "t.csv") + " --cv 5 --C 1e-6,100,10000 -q");
  ASSERT_EQ(r.status, 0) << describe(r);
  const auto lines = lines_of(r.out);
  ASSERT_GE(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[1].substr(0, 30), "1e-06        0.8000 ± 0.0000 ") << r.out;
  EXPECT_EQ(lines[2].substr(0, 30), "100          1.0000 ± 0.0000 ") << r.out;
  EXPECT_NE(lines[2].find("best"), std::string::npos) << r.out;
  EXPECT_EQ(lines[3].substr(0, 30), "10000        1.0000 ± 0.0000 ") << r.out;
  EXPECT_EQ(lines[3].find("best"), std::string::npos) << r.out;
}

// ------------------------------------------------------------------ bad input

struct Bad {
  const char* name;
  std::string args;
  std::string message;
};

class SolverCliBad : public testing::TestWithParam<Bad> {};

TEST_P(SolverCliBad, ExitsTwoWithOneLine) {
  expect_rejected(train(GetParam().args), {GetParam().message});
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SolverCliBad,
    testing::Values(
        Bad{"NegativeL2", kIris + " --l2 -1",
            "softreg: --l2: expected a finite number >= 0 but found -1"},
        Bad{"NanL2", kIris + " --l2 nan",
            "softreg: --l2: expected a finite number >= 0 but found nan"},
        Bad{"ZeroC", kIris + " --C 0", "softreg: --C: expected a finite number > 0 but found 0"},
        Bad{"NegativeC", kIris + " --C -2",
            "softreg: --C: expected a finite number > 0 but found -2"},
        Bad{"NanC", kIris + " --C nan", "softreg: --C: expected a finite number > 0 but found nan"},
        Bad{"TwoPenalties", kIris + " --C 1 --l2 0.1",
            "softreg: --l2 and --C both set the penalty: give one of --l2, --C and --weight-decay"},
        Bad{"ListWithoutCv", kIris + " --C 1,10",
            "softreg: --C 1,10: a list of values is for --cv K, which chooses among them"},
        Bad{"ZeroTol", kIris + " --tol 0", "--tol: expected a finite number > 0"},
        Bad{"NegativeTol", kIris + " --tol -1e-4", "--tol: expected a finite number > 0"},
        Bad{"UnknownSolver", kIris + " --solver adam", "--solver: adam not in {sgd,lbfgs,newton}"},
        Bad{"UnknownClass", kIris + " --class-weight virginica=2,tulip=1",
            "softreg: --class-weight: no class 'tulip' in"},
        Bad{"BadClassWeight", kIris + " --class-weight virginica=-1",
            "softreg: --class-weight: expected 'balanced' or NAME=WEIGHT,..."},
        Bad{"MissingWeightColumn", kIris + " --sample-weight w",
            "no column 'w' in the header for --sample-weight"},
        Bad{"WeightOfLibsvm", "--libsvm '" + kData + "/iris.csv' --sample-weight w",
            "softreg: --sample-weight names a column of --csv"},
        Bad{"CvOne", kIris + " --cv 1 --C 1,2", "softreg: --cv 1: expected at least 2 folds"},
        Bad{"CvBeyondTheSmallestClass", kIris + " --cv 45 --C 1,2",
            "softreg: --cv 45: class 'setosa' has 40 training rows, fewer than the folds"},
        Bad{"CvWithSgd", kIris + " --solver sgd --cv 3 --C 1,2",
            "softreg: --cv chooses the penalty of --solver lbfgs or newton, not of sgd"},
        Bad{"TorchWithLbfgs", "--solver lbfgs --backend torch",
            "softreg: --backend torch trains with SGD only: --solver lbfgs is softreg's"},
        Bad{"TorchWithSchedule", "--backend torch --schedule cosine",
            "softreg: --backend torch trains at a constant rate: --schedule cosine is softreg's"},
        Bad{"TorchWithWarmup", "--backend torch --warmup 10",
            "softreg: --backend torch trains at a constant rate: --warmup is softreg's"},
        Bad{"TorchWithAverage", "--backend torch --average 2",
            "softreg: --backend torch does not average the weights: --average is softreg's"},
        Bad{"TorchWithValidation", "--backend torch --validation-split 0.1",
            "softreg: --backend torch does not validate: --validation-split, --validation and "
            "--early-stopping are softreg's"}),
    [](const testing::TestParamInfo<Bad>& p) { return std::string(p.param.name); });

TEST(SolverCliBadWeights, ColumnValuesAreChecked) {
  TempDir dir;
  for (const auto& [name, values, message] :
       {std::tuple<const char*, std::vector<const char*>, const char*>{
            "negative",
            {"1", "-1", "1", "1"},
            "line 3, column 2 (w): expected a sample weight (a finite number >= 0) but found '-1'"},
        {"nan",
         {"1", "nan", "1", "1"},
         "line 3, column 2 (w): expected a sample weight (a finite number >= 0) but found 'nan'"},
        {"zeros", {"0", "0", "0", "0"}, "every sample weight in column 'w' is 0"}}) {
    SCOPED_TRACE(name);
    std::string text = "x,w,y\n";
    for (std::size_t i = 0; i < values.size(); ++i)
      text += std::to_string(i) + "," + values[i] + "," + (i % 2 ? "a" : "b") + "\n";
    const fs::path f = dir.path() / (std::string(name) + ".csv");
    write_text(f, text);
    expect_rejected(train("--csv " + quoted(f) + " --sample-weight w"),
                    {f.string() + ": " + message});
  }
}

TEST(SolverCliBadInit, AModelOfAnotherShapeIsRefused) {
  TempDir dir;
  const fs::path model = dir.path() / "iris.safetensors";
  ASSERT_EQ(train(kIris + " -q --out " + quoted(model)).status, 0);
  expect_rejected(train(kCancer + " --init " + quoted(model)),
                  {"softreg: --init " + model.string() +
                       ": a model of 4 inputs, 3 classes (softmax) "
                       "but",
                   "needs 30 inputs, 2 classes (softmax)"});
}

}  // namespace
}  // namespace softreg::test
