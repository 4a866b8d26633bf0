// End-to-end tests of `softreg game`, both roles driven through piped standard input: valid,
// invalid and contradictory answers, quitting, and the end of input at every kind of prompt.
#include <gtest/gtest.h>

#include <string>

#include "run.hpp"

namespace softreg::test {
namespace {

const char* const kLessonIntro =
    "The bag holds 8 balls: 1 1 1 1 2 2 3 4.\n"
    "Think of a ball drawn from it, and I will find it with yes/no questions.\n"
    "Answer y or n (q quits).\n"
    "On average the best strategy needs 1.75 questions; none averages fewer than the entropy "
    "H = 1.75 bits.\n";

const char* const kYouAskIntro =
    "The bag holds 8 balls: 1 1 1 1 2 2 3 4.\n"
    "I draw a ball; you find it by asking \"is it in {...}?\": type the balls of the set,\n"
    "e.g. \"1 2\" asks \"Is it 1 or 2?\". 2 rounds; q quits.\n";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ------------------------------------------------------------------------- softreg asks

TEST(CliGame, AsksTheLessonsQuestionsAndAcceptsAnyCaseAndAsksAgainAfterNonsense) {
  const RunResult r = run_softreg("game", "n\nmaybe\nN\nYES\ny\nYes\n  y  \ny\nno\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, std::string(kLessonIntro) +
                       "\n"
                       "Round 1. Think of a ball.\n"
                       "Is it 1? [y/n] n\n"
                       "Is it 2? [y/n] maybe\n"
                       "Please answer y or n (q to quit).\n"
                       "Is it 2? [y/n] N\n"
                       "Is it 3? [y/n] YES\n"
                       "It is 3: I needed 3 questions; its probability is 0.125 and -log2 p = 3.\n"
                       "Am I right? [y/n] y\n"
                       "Another round? [y/n] Yes\n"
                       "\n"
                       "Round 2. Think of a ball.\n"
                       "Is it 1? [y/n]   y  \n"
                       "It is 1: I needed 1 question; its probability is 0.5 and -log2 p = 1.\n"
                       "Am I right? [y/n] y\n"
                       "Another round? [y/n] no\n"
                       "\n"
                       "I found 2 balls with 4 questions, 2 per ball.\n"
                       "On average the best strategy needs 1.75 questions; none averages fewer "
                       "than the entropy H = 1.75 bits.\n");
}

TEST(CliGame, FindsBallFourWithThreeNos) {
  const RunResult r = run_softreg("game 1 1 1 1 2 2 3 4", "n\nn\nn\ny\nn\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(
      contains(r.out,
               "Is it 1? [y/n] n\nIs it 2? [y/n] n\nIs it 3? [y/n] n\n"
               "It is 4: I needed 3 questions; its probability is 0.125 and -log2 p = 3.\n"))
      << r.out;
}

TEST(CliGame, UniformBagSplitsInHalves) {
  const RunResult r = run_softreg("game 1 2 3 4", "n\nn\ny\nn\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.out,
                       "Is it 1 or 2? [y/n] n\nIs it 3? [y/n] n\n"
                       "It is 4: I needed 2 questions; its probability is 0.25 and -log2 p = 2.\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "I found 1 ball with 2 questions, 2 per ball.\n")) << r.out;
}

TEST(CliGame, BallsCanBeWords) {
  const RunResult r = run_softreg("game red red blue green", "n\nn\ny\nn\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.out, "The bag holds 4 balls: blue green red red.\n")) << r.out;
  EXPECT_TRUE(contains(r.out,
                       "Is it red? [y/n] n\nIs it blue? [y/n] n\n"
                       "It is green: I needed 2 questions; its probability is 0.25 and -log2 p "
                       "= 2.\n"))
      << r.out;
}

TEST(CliGame, ContradictoryAnswersAreExplainedAndExitOne) {
  const RunResult r = run_softreg("game", "n\nn\ny\nn\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.out,
                       "Am I right? [y/n] n\n"
                       "That cannot be: after no to \"Is it 1?\", no to \"Is it 2?\" and yes to "
                       "\"Is it 3?\", only 3 is left. Either an answer was wrong or your ball is "
                       "not in the bag.\n"))
      << r.out;
  EXPECT_EQ(r.err, "softreg: game: contradictory answers\n");
}

TEST(CliGame, OneKindOfBallNeedsNoQuestion) {
  const RunResult r = run_softreg("game 7 7", "y\nn\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.out,
                       "Round 1. Think of a ball.\n"
                       "It is 7: I needed 0 questions; its probability is 1 and -log2 p = 0.\n"))
      << r.out;
  const RunResult denied = run_softreg("game 7", "n\n");
  EXPECT_EQ(denied.status, 1);
  EXPECT_TRUE(contains(denied.out, "That cannot be: the bag holds no other ball.")) << denied.out;
  EXPECT_EQ(denied.err, "softreg: game: contradictory answers\n");
}

TEST(CliGame, EndOfInputInTheMiddleOfAQuestionEndsCleanly) {
  const RunResult r = run_softreg("game", "n\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, std::string(kLessonIntro) +
                       "\n"
                       "Round 1. Think of a ball.\n"
                       "Is it 1? [y/n] n\n"
                       "Is it 2? [y/n] \n"
                       "No round played.\n");
}

TEST(CliGame, EndOfInputAfterARoundSummarisesIt) {
  const RunResult r = run_softreg("game", "y\ny\n");  // no answer to "Another round?"
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.out,
                       "Another round? [y/n] \n"
                       "\n"
                       "I found 1 ball with 1 question, 1 per ball.\n"))
      << r.out;
  const RunResult empty = run_softreg("game", "");
  EXPECT_EQ(empty.status, 0);
  EXPECT_TRUE(contains(empty.out, "Is it 1? [y/n] \nNo round played.\n")) << empty.out;
}

TEST(CliGame, QuitEndsTheGame) {
  const RunResult r = run_softreg("game", "Q\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.out, "Is it 1? [y/n] Q\nNo round played.\n")) << r.out;
}

TEST(CliGame, BadBagsAndOptionsExitTwo) {
  const RunResult rounds = run_softreg("game --you-ask --rounds 0");
  EXPECT_EQ(rounds.status, 2);
  EXPECT_EQ(rounds.out, "");
  EXPECT_EQ(rounds.err, "softreg: game: --rounds must be at least 1\n");
  const RunResult empty_label = run_softreg("game 1 ''");
  EXPECT_EQ(empty_label.status, 2);
  EXPECT_EQ(empty_label.out, "");
  EXPECT_EQ(empty_label.err, "softreg: a ball has an empty label\n");
  const RunResult seed = run_softreg("game --you-ask --seed minus-one");
  EXPECT_EQ(seed.status, 2);
  EXPECT_EQ(seed.out, "") << "refused before the game starts";
  EXPECT_EQ(seed.err,
            "softreg: --seed: expected a whole number from 0 to 18446744073709551615 but found "
            "minus-one (see softreg --help)\n");
}

// ------------------------------------------------------------------------- the player asks

TEST(CliGameYouAsk, AnswersQuestionsInAnyFormAndComparesWithTheOptimum) {
  // Seed 0 draws ball 2 twice (the draws are the seed's: Rng gives the same numbers everywhere).
  const RunResult r = run_softreg("game --you-ask --rounds 2 --seed 0",
                                  "1\n\n5\nis it in {3, 4}?\n4\n3\n1 2 3 4\n1\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            std::string(kYouAskIntro) +
                "\n"
                "Round 1 of 2: I have drawn a ball.\n"
                "question 1> 1\n"
                "Is it 1? No.\n"
                "question 2> \n"
                "Type the balls you ask about: \"1 2\" asks \"Is it 1 or 2?\" (q to quit).\n"
                "question 2> 5\n"
                "There is no ball 5 in the bag (it holds 1, 2, 3, 4). Ask again.\n"
                "question 2> is it in {3, 4}?\n"
                "Is it 3 or 4? No.\n"
                "It is 2: you found it with 2 questions; the best strategy needs 2 questions for "
                "it.\n"
                "\n"
                "Round 2 of 2: I have drawn a ball.\n"
                "question 1> 4\n"
                "Is it 4? No.\n"
                "question 2> 3\n"
                "Is it 3? No.\n"
                "question 3> 1 2 3 4\n"
                "Is it 1, 2, 3 or 4? Yes. (You knew that already.)\n"
                "question 4> 1\n"
                "Is it 1? No.\n"
                "It is 2: you found it with 4 questions; the best strategy needs 2 questions for "
                "it.\n"
                "\n"
                "You found 2 balls with 6 questions, 3 per ball.\n"
                "The best strategy would have asked 4 for the same balls, 2 per ball.\n"
                "On average the best strategy needs 1.75 questions; none averages fewer than "
                "the entropy H = 1.75 bits.\n");
}

TEST(CliGameYouAsk, PlaysAllRoundsWhateverTheDraws) {
  // Any three consecutive questions of 1, 2, 3, 1, 2, 3, ... ask about three different balls,
  // which finds any of the four: every round ends, whichever balls the seed draws.
  std::string input;
  for (int k = 0; k < 20; ++k) input += "1\n2\n3\n";
  for (const char* seed : {"1", "2", "12345"}) {
    const RunResult r = run_softreg(std::string("game --you-ask --seed ") + seed, input);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "Round 5 of 5: I have drawn a ball.\n")) << r.out;
    EXPECT_FALSE(contains(r.out, "Round 6")) << r.out;
    EXPECT_TRUE(contains(r.out, "\nYou found 5 balls with ")) << r.out;
  }
}

TEST(CliGameYouAsk, SameSeedSameDrawsOtherSeedOtherDraws) {
  std::string input;
  for (int k = 0; k < 20; ++k) input += "1\n2\n3\n";
  const RunResult a = run_softreg("game --you-ask --seed 9", input);
  const RunResult b = run_softreg("game --you-ask --seed 9", input);
  EXPECT_EQ(a.out, b.out);
  bool some_differ = false;
  for (const char* seed : {"1", "2", "3", "4"}) {
    some_differ = some_differ ||
                  run_softreg(std::string("game --you-ask --seed ") + seed, input).out != a.out;
  }
  EXPECT_TRUE(some_differ);
}

TEST(CliGameYouAsk, EndOfInputInTheMiddleOfARoundEndsCleanly) {
  const RunResult r = run_softreg("game --you-ask --rounds 2 --seed 0", "1\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, std::string(kYouAskIntro) +
                       "\n"
                       "Round 1 of 2: I have drawn a ball.\n"
                       "question 1> 1\n"
                       "Is it 1? No.\n"
                       "question 2> \n"
                       "No round played.\n");
}

TEST(CliGameYouAsk, EndOfInputAfterARoundSummarisesIt) {
  const RunResult r = run_softreg("game --you-ask --rounds 2 --seed 0", "1 2\n1\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.out,
                       "It is 2: you found it with 2 questions; the best strategy needs 2 "
                       "questions for it.\n"
                       "\n"
                       "Round 2 of 2: I have drawn a ball.\n"
                       "question 1> \n"
                       "\n"
                       "You found 1 ball with 2 questions, 2 per ball.\n"
                       "The best strategy would have asked 2 for the same ball, 2 per ball.\n"))
      << r.out;
}

TEST(CliGameYouAsk, QuitEndsTheGame) {
  const RunResult r = run_softreg("game --you-ask --seed 0", "quit\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.out, "question 1> quit\nNo round played.\n")) << r.out;
}

}  // namespace
}  // namespace softreg::test
