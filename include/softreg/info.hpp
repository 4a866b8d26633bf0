// Entropy, cross-entropy, KL divergence, Huffman codes and the guessing game of the lesson.
//
// The game: one player draws a ball from a bag, the other finds its number with yes/no
// questions. With balls 1, 1, 1, 1, 2, 2, 3, 4 the distribution is P = (1/2, 1/4, 1/8, 1/8) and
// the best strategy asks "Is it 1?", "Is it 2?", "Is it 3?": 1, 2, 3, 3 questions, on average
//
//   Σ_i p_i l_i = 1.75 = H(P) = -Σ_i p_i log2 p_i,
//
// the entropy. The best strategy is a Huffman code: the answers to the questions (1 = yes,
// 0 = no) are the codeword of the ball, and the number of questions is its length. Shannon's
// source coding theorem bounds the expected length L of the best code: H(P) ≤ L < H(P) + 1,
// with L = H(P) exactly when every p_i is a power of 1/2.
//
// Playing the strategy built for a distribution Q while the balls are really drawn from P costs
// on average the cross-entropy CE(P, Q) = -Σ_i p_i log2 q_i (exactly, when Q is dyadic), and
// the price of the wrong belief is the KL divergence KL(P ‖ Q) = CE(P, Q) - H(P) ≥ 0 (Gibbs'
// inequality). With the uniform strategy under the P above, CE = 2 and KL = 0.25.
//
// Weights: every function takes non-negative weights, counts or probabilities alike, and
// normalises them to sum 1 (p_i = w_i / Σ_j w_j). Weights are validated: each must be finite
// and ≥ 0, at least one must be > 0; anything else throws softreg::InputError. A ball of weight
// 0 is never drawn: it adds nothing to any sum (0 log 0 = 0) and gets no codeword.
//
// Logarithms: in base 2 the unit is the bit (one yes/no question), in base e the nat. The
// change of base is a constant factor: log2 x = ln x / ln 2, so H in nats = H in bits × ln 2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "softreg/random.hpp"

namespace softreg::info {

/// The base of the logarithm: 2 (bits) or e (nats).
enum class Base { two, e };

/// "bits" or "nats".
std::string_view unit(Base base);

/// p_i = w_i / Σ_j w_j. Throws InputError when `weights` is empty, when a weight is negative,
/// NaN or infinite, or when all are 0; the message begins with `what` and names the ball
/// (numbered from 1).
std::vector<double> normalize(std::span<const double> weights, std::string_view what = "weights");

/// H(P) = -Σ_i p_i log p_i, with 0 log 0 = 0. The average number of bits (yes/no questions)
/// needed to identify a draw from P, with a code as good as can be; 0 when one ball is certain.
double entropy(std::span<const double> p, Base base = Base::two);

/// The information of each ball, -log p_i (+infinity where p_i = 0): the number of yes/no
/// questions a ball of probability p_i deserves. H(P) is its average, Σ_i p_i (-log p_i).
std::vector<double> information(std::span<const double> p, Base base = Base::two);

/// CE(P, Q) = -Σ_i p_i log q_i: the average code length when the draws come from P but the code
/// was made for Q. Terms with p_i = 0 are 0. Where q_i = 0 but p_i > 0 the code has no word for
/// a ball that can be drawn, and CE is +infinity (returned, not thrown). P and Q must have the
/// same number of balls (InputError otherwise).
double cross_entropy(std::span<const double> p, std::span<const double> q, Base base = Base::two);

/// KL(P ‖ Q) = Σ_i p_i log(p_i / q_i) = CE(P, Q) - H(P) ≥ 0, zero only when P = Q: the extra
/// cost of believing Q when the truth is P. +infinity where CE is.
double kl_divergence(std::span<const double> p, std::span<const double> q, Base base = Base::two);

/// A Huffman code, kept as the tree of questions it stands for. Each internal node asks "is it
/// one of the balls of my `yes` child?"; the leaves are the balls. Following the answers from
/// the root to a leaf spells the ball's codeword, 1 for yes and 0 for no.
struct HuffmanCode {
  static constexpr int kNone = -1;

  struct Node {
    double weight = 0;                 // the sum of the weights of its balls (as given)
    std::vector<std::size_t> symbols;  // its balls, in increasing order
    int yes = kNone;                   // children (indices into `nodes`); kNone for a leaf
    int no = kNone;
    bool leaf() const { return yes == kNone; }
  };

  std::vector<Node> nodes;  // the root is nodes[root]; a code for one ball is a lone leaf
  int root = kNone;

  /// Per ball: its codeword, and the number of questions that find it (the codeword's length).
  /// A ball of weight 0 has no codeword: codewords[i] is empty and lengths[i] is kNone.
  std::vector<std::string> codewords;
  std::vector<int> lengths;
};

/// The Huffman code (the optimal yes/no strategy) for `weights`, validated as by normalize().
///
/// Huffman's algorithm: start with one tree per ball of positive weight; repeatedly merge the
/// two lightest trees into one whose weight is their sum, until one tree is left. Merging the
/// two lightest puts the least likely balls deepest, which is what minimises Σ p_i l_i.
///
/// Ties are broken deterministically:
///  - balls are taken in order of increasing weight, equal weights in order of index;
///  - when a ball and a merged tree weigh the same, the ball is taken first (the two-queue
///    method; among the optimal codes it gives the one with the smallest variance of lengths
///    and the shortest longest codeword);
///  - the child asked about (`yes`) is the one with fewer balls; with as many balls in each,
///    the one holding the smallest index. So {1/2, 1/4, 1/8, 1/8} asks "Is it 1?", then
///    "Is it 2?", then "Is it 3?", as the lesson does.
HuffmanCode huffman(std::span<const double> weights);

/// The lesson's table for playing `code` when the balls are drawn from the weights `p`: per
/// ball its probability p_i and its share p_i l_i of the expected number of questions
/// Σ_i p_i l_i. A ball with p_i = 0 adds 0; a ball with p_i > 0 but no codeword is never found,
/// and its share and the expected number are +infinity.
struct Play {
  std::vector<double> p;       // normalised
  std::vector<double> shares;  // p_i l_i
  double expected_length = 0;  // Σ_i p_i l_i
};
Play play(std::span<const double> p, const HuffmanCode& code);

/// Σ_i p_i l_i, the average number of questions: play(p, code).expected_length.
double expected_length(std::span<const double> p, const HuffmanCode& code);

// ------------------------------------------------------------------------------------------
// The guessing game.

/// A bag of balls: the distinct labels and how many balls carry each.
struct Bag {
  std::vector<std::string> labels;
  std::vector<double> counts;  // counts[i] > 0 balls are labelled labels[i]
  std::size_t size() const;    // the number of balls, Σ counts
};

/// The bag holding `balls` (labels, repeated: "1 1 1 1 2 2 3 4"). The distinct labels are
/// sorted: by value when all are numbers, as text otherwise. Throws InputError for no balls or
/// an empty label.
Bag make_bag(std::span<const std::string> balls);

/// Draws a ball from the bag, each of the bag's balls equally likely; returns its label's index.
std::size_t draw(const Bag& bag, Rng& rng);

/// The optimal questioner: walks the Huffman tree from the root, one answer at a time.
class Questioner {
 public:
  explicit Questioner(HuffmanCode code);

  /// True when the answers so far leave one ball (at once when only one ball is possible).
  bool done() const;
  /// The balls of the question "is it one of these?"; only while !done().
  const std::vector<std::size_t>& question() const;
  void answer(bool yes);
  /// The ball found; only when done().
  std::size_t ball() const;
  /// The number of questions answered so far.
  int questions() const { return questions_; }

 private:
  HuffmanCode code_;
  int node_;
  int questions_ = 0;
};

/// The answerer: knows the drawn ball, answers "is it one of these?" truthfully, and keeps
/// track of the balls the answers have not ruled out yet.
class Answerer {
 public:
  /// `n` distinct balls, all possible; `drawn` < n is the one to find.
  Answerer(std::size_t n, std::size_t drawn);

  /// Answers "is it one of `asked`?" (indices < n; repeats allowed) and rules out the balls the
  /// answer excludes. Throws InputError for an index ≥ n.
  bool ask(std::span<const std::size_t> asked);
  /// True when one ball is left: the asker knows it.
  bool found() const { return possible_count_ == 1; }
  /// The balls not yet ruled out, in increasing order.
  std::vector<std::size_t> possible() const;
  /// Whether the question would tell the asker anything: false when every ball still possible
  /// is asked about, or none is (the answer is known before it is given).
  bool informative(std::span<const std::size_t> asked) const;
  std::size_t drawn() const { return drawn_; }
  int questions() const { return questions_; }

 private:
  std::vector<bool> possible_;
  std::size_t possible_count_;
  std::size_t drawn_;
  int questions_ = 0;
};

}  // namespace softreg::info
