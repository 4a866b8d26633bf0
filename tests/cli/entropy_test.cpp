// End-to-end tests of `softreg entropy`: the lesson's tables as a user sees them.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "run.hpp"

namespace softreg::test {
namespace {

const char* const kLessonTable =
    "The best strategy for P, a Huffman code (codeword: the answers, 1 = yes, 0 = no):\n"
    "\n"
    "   ball  probability  questions  product  codeword\n"
    "      1          0.5          1      0.5         1\n"
    "      2         0.25          2      0.5        01\n"
    "      3        0.125          3    0.375       001\n"
    "      4        0.125          3    0.375       000\n"
    "  total                             1.75\n"
    "\n"
    "expected number of questions: 1.75\n"
    "entropy H(P) = -Σ p log2 p = 1.75 bits\n";

const char* const kUniformStrategyTable =
    "\n"
    "Playing the best strategy for Q while the balls are drawn from P:\n"
    "\n"
    "   ball  probability     q  questions  product  codeword\n"
    "      1          0.5  0.25          2        1        11\n"
    "      2         0.25  0.25          2      0.5        10\n"
    "      3        0.125  0.25          2     0.25        01\n"
    "      4        0.125  0.25          2     0.25        00\n"
    "  total                                      2\n"
    "\n"
    "expected number of questions: 2\n"
    "cross-entropy CE(P, Q) = -Σ p log2 q = 2 bits\n"
    "KL divergence KL(P ‖ Q) = CE(P, Q) - H(P) = 0.25 bits\n";

TEST(CliEntropy, LessonBagTable) {
  const RunResult r = run_softreg("entropy 4 2 1 1");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, kLessonTable);
  EXPECT_EQ(r.err, "");
}

TEST(CliEntropy, LessonUniformTable) {
  const RunResult r = run_softreg("entropy 1 1 1 1");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "The best strategy for P, a Huffman code (codeword: the answers, 1 = yes, 0 = no):\n"
            "\n"
            "   ball  probability  questions  product  codeword\n"
            "      1         0.25          2      0.5        11\n"
            "      2         0.25          2      0.5        10\n"
            "      3         0.25          2      0.5        01\n"
            "      4         0.25          2      0.5        00\n"
            "  total                                2\n"
            "\n"
            "expected number of questions: 2\n"
            "entropy H(P) = -Σ p log2 p = 2 bits\n");
}

TEST(CliEntropy, LessonUniformStrategyInTheBagGame) {
  const RunResult r = run_softreg("entropy 4 2 1 1 --strategy 1 1 1 1");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, std::string(kLessonTable) + kUniformStrategyTable);
}

TEST(CliEntropy, BallsProbabilitiesAndFractionsGiveTheSameTable) {
  EXPECT_EQ(run_softreg("entropy --balls 1 1 1 1 2 2 3 4").out, kLessonTable);
  EXPECT_EQ(run_softreg("entropy --balls 4 1 2 1 3 1 2 1").out, kLessonTable);
  EXPECT_EQ(run_softreg("entropy 0.5 0.25 0.125 0.125").out, kLessonTable);
  EXPECT_EQ(run_softreg("entropy 1/2 1/4 1/8 1/8").out, kLessonTable);
}

TEST(CliEntropy, NatsUseTheNaturalLogarithm) {
  const RunResult r = run_softreg("entropy 4 2 1 1 --strategy 1 1 1 1 --base e");
  EXPECT_EQ(r.status, 0);
  // 1.75 ln 2 = 1.2130, 2 ln 2 = 1.386, 0.25 ln 2 = 0.1733; questions stay questions.
  EXPECT_NE(r.out.find("expected number of questions: 1.75\n"
                       "entropy H(P) = -Σ p ln p = 1.213 nats\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("cross-entropy CE(P, Q) = -Σ p ln q = 1.386 nats\n"
                       "KL divergence KL(P ‖ Q) = CE(P, Q) - H(P) = 0.1733 nats\n"),
            std::string::npos)
      << r.out;
}

TEST(CliEntropy, StrategyThatRulesOutAPossibleBallCostsInfinity) {
  const RunResult r = run_softreg("entropy 4 2 1 1 --strategy 1 1 1 0");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("      4        0.125       0      never      inf         -\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("expected number of questions: inf\n"
                       "cross-entropy CE(P, Q) = -Σ p log2 q = inf bits\n"
                       "KL divergence KL(P ‖ Q) = CE(P, Q) - H(P) = inf bits\n"),
            std::string::npos)
      << r.out;
}

TEST(CliEntropy, ZeroWeightBallIsNeverAskedAbout) {
  const RunResult r = run_softreg("entropy 1 0 1");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("      2            0          -        0         -\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("entropy H(P) = -Σ p log2 p = 1 bits\n"), std::string::npos) << r.out;
}

TEST(CliEntropy, Json) {
  const RunResult r = run_softreg("entropy 4 2 1 1 --strategy 1 1 1 1 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["unit"], "bits");
  EXPECT_EQ(j["entropy"], 1.75);
  EXPECT_EQ(j["expected_questions"], 1.75);
  ASSERT_EQ(j["balls"].size(), 4u);
  EXPECT_EQ(j["balls"][3]["ball"], "4");
  EXPECT_EQ(j["balls"][3]["probability"], 0.125);
  EXPECT_EQ(j["balls"][3]["questions"], 3);
  EXPECT_EQ(j["balls"][3]["product"], 0.375);
  EXPECT_EQ(j["balls"][3]["codeword"], "000");
  EXPECT_EQ(j["strategy"]["cross_entropy"], 2.0);
  EXPECT_EQ(j["strategy"]["kl_divergence"], 0.25);
  EXPECT_EQ(j["strategy"]["expected_questions"], 2.0);
  EXPECT_EQ(j["strategy"]["balls"][0]["q"], 0.25);
  EXPECT_EQ(j["strategy"]["balls"][0]["questions"], 2);
}

TEST(CliEntropy, JsonInfinityIsNull) {
  const RunResult r = run_softreg("entropy 1 1 --strategy 1 0 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["strategy"]["cross_entropy"].is_null());
  EXPECT_TRUE(j["strategy"]["kl_divergence"].is_null());
  EXPECT_TRUE(j["strategy"]["balls"][1]["questions"].is_null());
  EXPECT_EQ(j["entropy"], 1.0);
}

struct BadInput {
  const char* args;
  const char* err;
};

class CliEntropyBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliEntropyBadInput, ExitsTwoWithAMessage) {
  const RunResult r = run_softreg(GetParam().args);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, GetParam().err);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliEntropyBadInput,
    ::testing::Values(
        BadInput{"entropy 4 -2 1 1",
                 "softreg: weights: ball 2 has weight -2; weights must be finite and "
                 "non-negative\n"},
        BadInput{"entropy 4 nan",
                 "softreg: weights: ball 2 has weight nan; weights must be finite and "
                 "non-negative\n"},
        BadInput{"entropy inf 1",
                 "softreg: weights: ball 1 has weight inf; weights must be finite and "
                 "non-negative\n"},
        BadInput{"entropy 0 0 0",
                 "softreg: weights: all weights are 0; at least one must be positive\n"},
        BadInput{"entropy 4 two",
                 "softreg: weights: 'two' is not a number (expected e.g. 4, 0.25 or 1/4)\n"},
        BadInput{"entropy 1/0 1",
                 "softreg: weights: '1/0' is not a number (expected e.g. 4, 0.25 or 1/4)\n"},
        BadInput{"entropy 4 2 1 1 --strategy 1 1 1",
                 "softreg: strategy: 3 weights given but there are 4 balls\n"},
        BadInput{"entropy 4 2 1 1 --strategy 1 1 -1 1",
                 "softreg: strategy: ball 3 has weight -1; weights must be finite and "
                 "non-negative\n"},
        BadInput{"entropy 4 2 1 1 --strategy 0 0 0 0",
                 "softreg: strategy: all weights are 0; at least one must be positive\n"},
        BadInput{"entropy",
                 "softreg: entropy: give the balls' weights (softreg entropy 4 2 1 1) or the "
                 "bag's contents (softreg entropy --balls 1 1 1 1 2 2 3 4)\n"},
        BadInput{"entropy 1 2 --balls 1 2",
                 "softreg: entropy: give either weights (4 2 1 1) or --balls (1 1 1 1 2 2 3 4), "
                 "not both\n"},
        BadInput{"entropy 1 2 --base 10",
                 "softreg: --base: 10 not in {2,e} (see softreg --help)\n"}));

}  // namespace
}  // namespace softreg::test
