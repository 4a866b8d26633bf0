// Tests of the info module: the lesson's numbers exactly, Shannon's bounds on random
// distributions, Huffman's optimality against an independent reference, and the game's pieces.
#include "softreg/info.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "softreg/error.hpp"
#include "softreg/random.hpp"

namespace softreg::info {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

const std::vector<double> kUniform{1, 1, 1, 1};
const std::vector<double> kLessonBag{4, 2, 1, 1};  // balls 1, 1, 1, 1, 2, 2, 3, 4

// Random positive weights for n balls. Drawn as doubles, they are not powers of 1/2 (checked
// where it matters), so the Huffman code cannot reach the entropy exactly.
std::vector<double> random_weights(Rng& rng, std::size_t n) {
  std::vector<double> w(n);
  for (double& x : w) x = 0.01 + rng.uniform();
  return w;
}

bool dyadic(const std::vector<double>& p) {
  return std::all_of(p.begin(), p.end(), [](double x) {
    int exponent = 0;
    return std::frexp(x, &exponent) == 0.5;  // x = 0.5 * 2^e exactly
  });
}

// The cost of an optimal prefix code, Σ_i w_i l_i, the way Huffman's proof counts it: every merge
// of two trees adds one question for each ball below, so the cost is the sum of the weights of
// all merged trees. Any optimal code has this cost, whatever its tie-breaking.
double reference_huffman_cost(const std::vector<double>& weights) {
  std::priority_queue<double, std::vector<double>, std::greater<>> heap;
  for (const double w : weights) {
    if (w > 0) heap.push(w);
  }
  double cost = 0;
  while (heap.size() > 1) {
    const double a = heap.top();
    heap.pop();
    const double b = heap.top();
    heap.pop();
    cost += a + b;
    heap.push(a + b);
  }
  return cost;
}

// The code the header's tie-breaking rules give, built another way: every tree in one list,
// the lightest taken by a linear scan for the least (weight, merged trees after balls, then
// balls by index and merged trees by age); the child asked about (codeword 1) has fewer balls,
// then the smallest ball. info.cpp's two queues must give exactly these codewords.
std::vector<std::string> reference_codewords(const std::vector<double>& weights) {
  struct Tree {
    double weight;
    bool merged;
    std::size_t order;  // a ball's index, or a merged tree's age
    std::vector<std::size_t> balls;
    std::vector<std::pair<std::size_t, std::string>> paths;  // ball -> codeword below this tree
  };
  std::vector<Tree> trees;
  for (std::size_t i = 0; i < weights.size(); ++i)
    if (weights[i] > 0) trees.push_back({weights[i], false, i, {i}, {{i, ""}}});
  std::size_t age = 0;
  while (trees.size() > 1) {
    auto take = [&] {
      std::size_t best = 0;
      for (std::size_t t = 1; t < trees.size(); ++t) {
        const Tree &a = trees[t], &b = trees[best];
        if (std::tie(a.weight, a.merged, a.order) < std::tie(b.weight, b.merged, b.order)) best = t;
      }
      Tree tree = std::move(trees[best]);
      trees.erase(trees.begin() + static_cast<std::ptrdiff_t>(best));
      return tree;
    };
    Tree a = take(), b = take();
    const bool a_asked = a.balls.size() != b.balls.size()
                             ? a.balls.size() < b.balls.size()
                             : *std::min_element(a.balls.begin(), a.balls.end()) <
                                   *std::min_element(b.balls.begin(), b.balls.end());
    Tree parent{a.weight + b.weight, true, age++, {}, {}};
    for (Tree* child : {&a, &b}) {
      const char answer = (child == &a) == a_asked ? '1' : '0';
      parent.balls.insert(parent.balls.end(), child->balls.begin(), child->balls.end());
      for (auto& [ball, path] : child->paths) parent.paths.emplace_back(ball, answer + path);
    }
    trees.push_back(std::move(parent));
  }
  std::vector<std::string> codewords(weights.size());
  for (const auto& [ball, path] : trees.front().paths) codewords[ball] = path;
  return codewords;
}

// ------------------------------------------------------------------------------ entropy

TEST(InfoEntropy, LessonUniformOverFourIsTwoBits) {
  EXPECT_EQ(entropy(kUniform), 2.0);
  EXPECT_EQ(entropy(std::vector<double>{0.25, 0.25, 0.25, 0.25}), 2.0);
}

TEST(InfoEntropy, LessonBagIsOnePointSevenFiveBits) {
  // -(1/2 log2 1/2 + 1/4 log2 1/4 + 2 · 1/8 log2 1/8) = 1/2 + 1/2 + 3/4: every term is exact.
  EXPECT_EQ(entropy(kLessonBag), 1.75);
  EXPECT_EQ(entropy(std::vector<double>{0.5, 0.25, 0.125, 0.125}), 1.75);
}

TEST(InfoEntropy, CertainOutcomeIsZeroAndZeroWeightsAddNothing) {
  EXPECT_EQ(entropy(std::vector<double>{0, 5, 0}), 0.0);
  EXPECT_EQ(entropy(std::vector<double>{3, 0, 3}), 1.0);  // 0 log 0 = 0
}

TEST(InfoEntropy, NatsAreBitsTimesLn2) {
  EXPECT_EQ(entropy(kUniform, Base::e), std::log(4.0));
  Rng rng(7);
  for (int trial = 0; trial < 100; ++trial) {
    const auto w = random_weights(rng, 2 + rng.below(15));
    const double bits = entropy(w, Base::two);
    const double nats = entropy(w, Base::e);
    // Both are sums of at most 16 positive terms, each within a few ulps of exact: they agree to
    // ~16 · 4 · 2^-53 ≈ 1e-14 relative. A wrong factor (log2 e, or no factor) is off by 44%.
    EXPECT_NEAR(nats, bits * std::numbers::ln2, 1e-13 * nats);
  }
}

TEST(InfoEntropy, InformationIsMinusLogOfEachProbability) {
  EXPECT_EQ(information(kLessonBag), (std::vector<double>{1, 2, 3, 3}));
  const auto with_zero = information(std::vector<double>{1, 0, 1});
  EXPECT_EQ(with_zero, (std::vector<double>{1, kInf, 1}));
}

TEST(InfoEntropy, RejectsInvalidWeights) {
  EXPECT_THROW(entropy(std::vector<double>{}), InputError);
  EXPECT_THROW(entropy(std::vector<double>{0, 0, 0}), InputError);
  EXPECT_THROW(entropy(std::vector<double>{1, -1}), InputError);
  EXPECT_THROW(entropy(std::vector<double>{1, std::nan("")}), InputError);
  EXPECT_THROW(entropy(std::vector<double>{1, kInf}), InputError);
  EXPECT_THROW(huffman(std::vector<double>{1, -1}), InputError);
  EXPECT_THROW(huffman(std::vector<double>{0}), InputError);
}

TEST(InfoEntropy, ErrorNamesTheBallAndTheProblem) {
  try {
    normalize(std::vector<double>{4, -2, 1}, "strategy");
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "strategy: ball 2 has weight -2; weights must be finite and non-negative");
  }
  try {
    normalize(std::vector<double>{0, 0});
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "weights: all weights are 0; at least one must be positive");
  }
}

TEST(InfoEntropy, NormalizeDividesByTheSum) {
  EXPECT_EQ(normalize(kLessonBag), (std::vector<double>{0.5, 0.25, 0.125, 0.125}));
}

// ------------------------------------------------------------------------------ cross-entropy

TEST(InfoCrossEntropy, LessonUniformStrategyUnderTheBagCostsTwo) {
  EXPECT_EQ(cross_entropy(kLessonBag, kUniform), 2.0);
  EXPECT_EQ(kl_divergence(kLessonBag, kUniform), 0.25);
  // The other way round: the bag's strategy in the uniform game, 1/4 (1 + 2 + 3 + 3) = 2.25.
  EXPECT_EQ(cross_entropy(kUniform, kLessonBag), 2.25);
  EXPECT_EQ(kl_divergence(kUniform, kLessonBag), 0.25);
}

TEST(InfoCrossEntropy, OfADistributionWithItselfIsItsEntropy) {
  EXPECT_EQ(cross_entropy(kLessonBag, kLessonBag), entropy(kLessonBag));
  EXPECT_EQ(kl_divergence(kLessonBag, kLessonBag), 0.0);
}

TEST(InfoCrossEntropy, IsAtLeastTheEntropyOnRandomDistributions) {
  Rng rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 2 + rng.below(10);
    const auto p = random_weights(rng, n);
    const auto q = random_weights(rng, n);
    const double h = entropy(p);
    const double ce = cross_entropy(p, q);
    const double kl = kl_divergence(p, q);
    EXPECT_GE(ce, h) << "Gibbs' inequality, trial " << trial;
    EXPECT_GT(kl, 0.0) << "P != Q, trial " << trial;
    // KL = CE - H; the two are computed by different sums of at most 11 terms each of size ≤ 8
    // bits (q ≥ 0.01/11), so they agree to well under 1e-12.
    EXPECT_NEAR(kl, ce - h, 1e-12);
    EXPECT_NEAR(cross_entropy(p, q, Base::e), ce * std::numbers::ln2, 1e-12);
  }
}

TEST(InfoCrossEntropy, IsInfiniteWhereQIsZeroButPIsNot) {
  EXPECT_EQ(cross_entropy(std::vector<double>{1, 1}, std::vector<double>{1, 0}), kInf);
  EXPECT_EQ(kl_divergence(std::vector<double>{1, 1}, std::vector<double>{1, 0}), kInf);
  // A ball that is never drawn costs nothing, whatever Q thinks of it.
  EXPECT_EQ(cross_entropy(std::vector<double>{1, 0}, std::vector<double>{1, 0}), 0.0);
  EXPECT_EQ(cross_entropy(std::vector<double>{1, 0}, std::vector<double>{1, 1}), 1.0);
}

TEST(InfoCrossEntropy, RejectsMismatchedOrInvalidInputs) {
  EXPECT_THROW(cross_entropy(kLessonBag, std::vector<double>{1, 1}), InputError);
  EXPECT_THROW(kl_divergence(kLessonBag, std::vector<double>{1, 1, 1}), InputError);
  EXPECT_THROW(cross_entropy(kLessonBag, std::vector<double>{1, 1, -1, 1}), InputError);
  EXPECT_THROW(cross_entropy(kLessonBag, std::vector<double>{0, 0, 0, 0}), InputError);
}

// ------------------------------------------------------------------------------ Huffman

TEST(InfoHuffman, LessonUniformNeedsTwoQuestionsForEveryBall) {
  const HuffmanCode code = huffman(kUniform);
  EXPECT_EQ(code.lengths, (std::vector<int>{2, 2, 2, 2}));
  EXPECT_EQ(code.codewords, (std::vector<std::string>{"11", "10", "01", "00"}));
  EXPECT_EQ(expected_length(kUniform, code), 2.0);
}

TEST(InfoHuffman, LessonBagAsksIsItOneThenTwoThenThree) {
  const HuffmanCode code = huffman(kLessonBag);
  EXPECT_EQ(code.lengths, (std::vector<int>{1, 2, 3, 3}));
  EXPECT_EQ(code.codewords, (std::vector<std::string>{"1", "01", "001", "000"}));
  const Play best = play(kLessonBag, code);
  EXPECT_EQ(best.p, (std::vector<double>{0.5, 0.25, 0.125, 0.125}));
  EXPECT_EQ(best.shares, (std::vector<double>{0.5, 0.5, 0.375, 0.375}));
  EXPECT_EQ(best.expected_length, 1.75);
  EXPECT_EQ(best.expected_length, entropy(kLessonBag));

  Questioner questioner(code);
  ASSERT_FALSE(questioner.done());
  EXPECT_EQ(questioner.question(), (std::vector<std::size_t>{0}));  // "Is it 1?"
  questioner.answer(false);
  EXPECT_EQ(questioner.question(), (std::vector<std::size_t>{1}));  // "Is it 2?"
  questioner.answer(false);
  EXPECT_EQ(questioner.question(), (std::vector<std::size_t>{2}));  // "Is it 3?"
  questioner.answer(false);
  ASSERT_TRUE(questioner.done());
  EXPECT_EQ(questioner.ball(), 3u);
  EXPECT_EQ(questioner.questions(), 3);
}

TEST(InfoHuffman, LessonUniformStrategyPlayedInTheBagGameCostsTheCrossEntropy) {
  const Play played = play(kLessonBag, huffman(kUniform));
  EXPECT_EQ(played.shares, (std::vector<double>{1, 0.5, 0.25, 0.25}));
  EXPECT_EQ(played.expected_length, 2.0);
  EXPECT_EQ(played.expected_length, cross_entropy(kLessonBag, kUniform));
}

TEST(InfoHuffman, BoundsOnRandomNonDyadicDistributions) {
  Rng rng(3);
  for (int trial = 0; trial < 300; ++trial) {
    const auto w = random_weights(rng, 2 + rng.below(20));
    ASSERT_FALSE(dyadic(normalize(w)));
    const HuffmanCode code = huffman(w);
    const double h = entropy(w);
    const double length = expected_length(w, code);
    EXPECT_LE(h, length) << "trial " << trial;
    EXPECT_LT(length, h + 1) << "trial " << trial;
  }
}

TEST(InfoHuffman, CostIsOptimalAsAnIndependentReferenceComputesIt) {
  Rng rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<double> w(1 + rng.below(30));
    for (double& x : w) x = static_cast<double>(rng.below(20));  // integer counts: exact sums,
    if (std::all_of(w.begin(), w.end(), [](double x) { return x == 0; })) w[0] = 1;  // many ties
    const HuffmanCode code = huffman(w);
    double cost = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (w[i] > 0) cost += w[i] * code.lengths[i];
    }
    EXPECT_EQ(cost, reference_huffman_cost(w)) << "trial " << trial;
  }
}

TEST(InfoHuffman, IsAPrefixCodeWhoseLengthsFillTheKraftSum) {
  Rng rng(9);
  for (int trial = 0; trial < 100; ++trial) {
    const auto w = random_weights(rng, 2 + rng.below(20));
    const HuffmanCode code = huffman(w);
    // A full binary tree: Σ 2^-l_i = 1 exactly (dyadic fractions add exactly in a double).
    double kraft = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      ASSERT_EQ(code.codewords[i].size(), static_cast<std::size_t>(code.lengths[i]));
      kraft += std::ldexp(1.0, -code.lengths[i]);
    }
    EXPECT_EQ(kraft, 1.0);
    for (std::size_t i = 0; i < w.size(); ++i) {
      for (std::size_t j = 0; j < w.size(); ++j) {
        if (i == j) continue;
        EXPECT_NE(code.codewords[j].rfind(code.codewords[i], 0), 0u)
            << code.codewords[i] << " is a prefix of " << code.codewords[j];
      }
    }
  }
}

TEST(InfoHuffman, TiesPreferBallsToMergedTreesAndSmallerSetsAsQuestions) {
  // {2, 2, 1, 1}: after merging 3 and 4 (weight 2), three trees weigh 2. Taking the balls first
  // gives 2, 2, 2, 2 questions; taking the merged tree first would give 2, 1, 3, 3 (also
  // optimal, 2 on average, but with a longer longest codeword).
  const HuffmanCode code = huffman(std::vector<double>{2, 2, 1, 1});
  EXPECT_EQ(code.lengths, (std::vector<int>{2, 2, 2, 2}));
  EXPECT_EQ(code.codewords, (std::vector<std::string>{"11", "10", "01", "00"}));
  // Three equal balls: 1 and 2 merge first, so ball 3 stands alone and is asked about first.
  const HuffmanCode three = huffman(std::vector<double>{1, 1, 1});
  EXPECT_EQ(three.codewords, (std::vector<std::string>{"01", "00", "1"}));
  // Six equal balls, by hand: 1+2, 3+4, 5+6 (balls before merged trees), then {1,2}+{3,4}
  // (the older trees), then {5,6} against {1,2,3,4}: the smaller set is asked about first.
  EXPECT_EQ(huffman(std::vector<double>(6, 1.0)).codewords,
            (std::vector<std::string>{"011", "010", "001", "000", "11", "10"}));
  EXPECT_EQ(reference_codewords(std::vector<double>(6, 1.0)),
            (std::vector<std::string>{"011", "010", "001", "000", "11", "10"}));
}

TEST(InfoHuffman, CodewordsFollowTheDocumentedTieBreakingOnManyTies) {
  // Small whole weights tie often (balls with balls, balls with merged trees, merged trees with
  // each other): every codeword must be the one the header's rules give.
  Rng rng(11);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<double> w(1 + rng.below(16));
    for (double& x : w) x = static_cast<double>(rng.below(5));
    if (std::all_of(w.begin(), w.end(), [](double x) { return x == 0; })) w[0] = 1;
    EXPECT_EQ(huffman(w).codewords, reference_codewords(w)) << "trial " << trial;
  }
  // And on weights without ties, where only the "asked about" rule decides.
  for (int trial = 0; trial < 100; ++trial) {
    const auto w = random_weights(rng, 2 + rng.below(20));
    EXPECT_EQ(huffman(w).codewords, reference_codewords(w)) << "trial " << trial;
  }
}

TEST(InfoHuffman, OneBallNeedsNoQuestionAndZeroWeightsGetNoCodeword) {
  const HuffmanCode one = huffman(std::vector<double>{0, 5, 0});
  EXPECT_EQ(one.lengths, (std::vector<int>{HuffmanCode::kNone, 0, HuffmanCode::kNone}));
  EXPECT_EQ(one.codewords, (std::vector<std::string>{"", "", ""}));
  EXPECT_EQ(expected_length(std::vector<double>{0, 5, 0}, one), 0.0);
  Questioner questioner(one);
  EXPECT_TRUE(questioner.done());
  EXPECT_EQ(questioner.ball(), 1u);
  // The strategy for a Q that rules out ball 1 never finds it: infinitely many questions.
  const Play played = play(kLessonBag, huffman(std::vector<double>{0, 1, 1, 1}));
  EXPECT_EQ(played.shares[0], kInf);
  EXPECT_EQ(played.expected_length, kInf);
}

TEST(InfoHuffman, QuestionerFindsEveryBallWithItsCodewordLength) {
  Rng rng(13);
  for (int trial = 0; trial < 50; ++trial) {
    const auto w = random_weights(rng, 1 + rng.below(12));
    const HuffmanCode code = huffman(w);
    for (std::size_t ball = 0; ball < w.size(); ++ball) {
      Questioner questioner(code);
      std::string answers;
      while (!questioner.done()) {
        const auto& asked = questioner.question();
        const bool yes = std::find(asked.begin(), asked.end(), ball) != asked.end();
        answers += yes ? '1' : '0';
        questioner.answer(yes);
      }
      EXPECT_EQ(questioner.ball(), ball);
      EXPECT_EQ(questioner.questions(), code.lengths[ball]);
      EXPECT_EQ(answers, code.codewords[ball]);
    }
  }
}

// ------------------------------------------------------------------------------ the game

TEST(InfoGame, BagCountsItsLabelsInNumericOrder) {
  const std::vector<std::string> balls{"4", "1", "2", "1", "10", "1", "2", "1"};
  const Bag bag = make_bag(balls);
  EXPECT_EQ(bag.labels, (std::vector<std::string>{"1", "2", "4", "10"}));
  EXPECT_EQ(bag.counts, (std::vector<double>{4, 2, 1, 1}));
  EXPECT_EQ(bag.size(), 8u);
}

TEST(InfoGame, BagOfWordsIsInTextOrder) {
  const std::vector<std::string> balls{"red", "blue", "red", "10"};
  const Bag bag = make_bag(balls);
  EXPECT_EQ(bag.labels, (std::vector<std::string>{"10", "blue", "red"}));
  EXPECT_EQ(bag.counts, (std::vector<double>{1, 1, 2}));
  EXPECT_THROW(make_bag(std::vector<std::string>{}), InputError);
  EXPECT_THROW(make_bag(std::vector<std::string>{"1", ""}), InputError);
}

TEST(InfoGame, DrawsFollowTheBagAndTheSeed) {
  const std::vector<std::string> balls{"1", "1", "1", "1", "2", "2", "3", "4"};
  const Bag bag = make_bag(balls);
  Rng rng(42);
  const int n = 80000;
  std::vector<int> seen(4, 0);
  for (int k = 0; k < n; ++k) ++seen[draw(bag, rng)];
  // Binomial counts: n p ± 5 sqrt(n p (1 - p)); the widest (p = 1/2) is ± 707.
  const std::vector<double> p{0.5, 0.25, 0.125, 0.125};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(seen[i], n * p[i], 5 * std::sqrt(n * p[i] * (1 - p[i]))) << "ball " << i + 1;
  }
  Rng a(7);
  Rng b(7);
  for (int k = 0; k < 100; ++k) EXPECT_EQ(draw(bag, a), draw(bag, b));
}

TEST(InfoGame, AnswererAnswersTruthfullyAndRulesBallsOut) {
  Answerer answerer(4, 2);  // ball "3" drawn
  EXPECT_EQ(answerer.possible(), (std::vector<std::size_t>{0, 1, 2, 3}));
  const std::vector<std::size_t> one_two{0, 1};
  EXPECT_TRUE(answerer.informative(one_two));
  EXPECT_FALSE(answerer.ask(one_two));
  EXPECT_EQ(answerer.possible(), (std::vector<std::size_t>{2, 3}));
  EXPECT_FALSE(answerer.found());
  // Asking about balls already ruled out tells nothing, and neither does asking about all.
  EXPECT_FALSE(answerer.informative(one_two));
  const std::vector<std::size_t> all{0, 1, 2, 3};
  EXPECT_FALSE(answerer.informative(all));
  const std::vector<std::size_t> three{2};
  EXPECT_TRUE(answerer.informative(three));
  EXPECT_TRUE(answerer.ask(three));
  EXPECT_TRUE(answerer.found());
  EXPECT_EQ(answerer.possible(), (std::vector<std::size_t>{2}));
  EXPECT_EQ(answerer.questions(), 2);
  const std::vector<std::size_t> bad{4};
  EXPECT_THROW(answerer.ask(bad), InputError);
}

TEST(InfoGame, AnswererIsFoundAfterANoThatLeavesOneBall) {
  Answerer answerer(2, 1);
  const std::vector<std::size_t> first{0};
  EXPECT_FALSE(answerer.ask(first));
  EXPECT_TRUE(answerer.found());
  EXPECT_EQ(answerer.questions(), 1);
}

}  // namespace
}  // namespace softreg::info
