#include "softreg/info.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <utility>

#include "softreg/error.hpp"

namespace softreg::info {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// log_b x = ln x / ln b: the change of base is the constant factor 1 / ln b.
double log_in(Base base, double x) {
  return base == Base::two ? std::log2(x) : std::log(x);
}

void check_same_size(std::span<const double> p, std::span<const double> q) {
  if (p.size() != q.size()) {
    std::ostringstream message;
    message << "P has " << p.size() << " balls but Q has " << q.size()
            << ": both must give one weight per ball";
    throw InputError(message.str());
  }
}

// The value of a label when it is a number ("3", "-1.5"), for sorting the bag.
bool parse_number(const std::string& text, double& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && std::isfinite(value);
}

}  // namespace

std::string_view unit(Base base) {
  return base == Base::two ? "bits" : "nats";
}

std::vector<double> normalize(std::span<const double> weights, std::string_view what) {
  if (weights.empty()) throw InputError(std::string(what) + ": no weights given");
  double total = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double w = weights[i];
    if (!std::isfinite(w) || w < 0) {
      std::ostringstream message;
      message << what << ": ball " << i + 1 << " has weight " << w
              << "; weights must be finite and non-negative";
      throw InputError(message.str());
    }
    total += w;
  }
  if (total == 0) {
    throw InputError(std::string(what) + ": all weights are 0; at least one must be positive");
  }
  // Counts so large that their sum overflows would give 0 probabilities: refuse them too.
  if (!std::isfinite(total)) throw InputError(std::string(what) + ": the weights sum to infinity");
  std::vector<double> p(weights.size());
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = weights[i] / total;
  return p;
}

double entropy(std::span<const double> weights, Base base) {
  const std::vector<double> p = normalize(weights, "P");
  double h = 0;
  for (const double pi : p) {
    if (pi > 0) h -= pi * log_in(base, pi);  // 0 log 0 = 0: the limit of x log x at 0
  }
  return h;
}

std::vector<double> information(std::span<const double> weights, Base base) {
  std::vector<double> bits = normalize(weights, "P");
  // 0 - log rather than -log: a certain ball (p = 1) has information +0, not -0.
  for (double& b : bits) b = b > 0 ? 0.0 - log_in(base, b) : kInfinity;
  return bits;
}

double cross_entropy(std::span<const double> p_weights, std::span<const double> q_weights,
                     Base base) {
  check_same_size(p_weights, q_weights);
  const std::vector<double> p = normalize(p_weights, "P");
  const std::vector<double> q = normalize(q_weights, "Q");
  double ce = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0) continue;          // a ball never drawn costs nothing
    if (q[i] == 0) return kInfinity;  // -log 0: the code has no word for a possible ball
    ce -= p[i] * log_in(base, q[i]);
  }
  return ce;
}

double kl_divergence(std::span<const double> p_weights, std::span<const double> q_weights,
                     Base base) {
  check_same_size(p_weights, q_weights);
  const std::vector<double> p = normalize(p_weights, "P");
  const std::vector<double> q = normalize(q_weights, "Q");
  // Σ p log(p/q) term by term rather than CE - H: when Q is close to P, CE - H subtracts two
  // nearly equal numbers and keeps mostly rounding error.
  double kl = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0) continue;
    if (q[i] == 0) return kInfinity;
    kl += p[i] * log_in(base, p[i] / q[i]);
  }
  // Rounding can leave -1e-17 where the divergence is 0 (P = Q); it is never negative.
  return std::max(kl, 0.0);
}

HuffmanCode huffman(std::span<const double> weights) {
  normalize(weights, "weights");  // only to validate: the tree is built on the weights as given

  HuffmanCode code;
  code.codewords.assign(weights.size(), "");
  code.lengths.assign(weights.size(), HuffmanCode::kNone);

  // The first queue: one leaf per ball of positive weight, lightest first, equal weights in
  // order of index (a stable sort keeps the index order).
  std::vector<std::size_t> balls;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] > 0) balls.push_back(i);
  }
  std::stable_sort(balls.begin(), balls.end(),
                   [&](std::size_t a, std::size_t b) { return weights[a] < weights[b]; });
  std::vector<int> leaves;
  for (const std::size_t i : balls) {
    leaves.push_back(static_cast<int>(code.nodes.size()));
    code.nodes.push_back({weights[i], {i}, HuffmanCode::kNone, HuffmanCode::kNone});
  }

  // The second queue: the merged trees, in the order they are made. Each merge weighs at least
  // as much as the one before, so this queue is sorted too, and the lightest tree is always at
  // the front of one of the two queues: no priority queue is needed.
  std::vector<int> merged;
  std::size_t next_leaf = 0;
  std::size_t next_merged = 0;
  auto take_lightest = [&]() {
    const bool leaf_left = next_leaf < leaves.size();
    const bool merged_left = next_merged < merged.size();
    // On a tie the leaf goes first (see the header).
    if (leaf_left && (!merged_left || code.nodes[leaves[next_leaf]].weight <=
                                          code.nodes[merged[next_merged]].weight)) {
      return leaves[next_leaf++];
    }
    return merged[next_merged++];
  };

  const std::size_t trees = leaves.size();
  for (std::size_t step = 1; step < trees; ++step) {  // n trees need n - 1 merges
    const int a = take_lightest();
    const int b = take_lightest();
    const HuffmanCode::Node& na = code.nodes[a];
    const HuffmanCode::Node& nb = code.nodes[b];
    // The child asked about: fewer balls, then the smallest ball (symbols are sorted).
    const bool a_asked = na.symbols.size() != nb.symbols.size()
                             ? na.symbols.size() < nb.symbols.size()
                             : na.symbols.front() < nb.symbols.front();
    HuffmanCode::Node parent;
    parent.weight = na.weight + nb.weight;
    std::merge(na.symbols.begin(), na.symbols.end(), nb.symbols.begin(), nb.symbols.end(),
               std::back_inserter(parent.symbols));
    parent.yes = a_asked ? a : b;
    parent.no = a_asked ? b : a;
    merged.push_back(static_cast<int>(code.nodes.size()));
    code.nodes.push_back(std::move(parent));  // may move the nodes: na and nb are dead here
  }
  code.root = trees == 1 ? leaves.front() : merged.back();

  // The codewords: the answers on the path from the root, 1 for yes and 0 for no.
  std::vector<std::pair<int, std::string>> stack{{code.root, ""}};
  while (!stack.empty()) {
    auto [node, path] = std::move(stack.back());
    stack.pop_back();
    const HuffmanCode::Node& n = code.nodes[node];
    if (n.leaf()) {
      const std::size_t ball = n.symbols.front();
      code.lengths[ball] = static_cast<int>(path.size());
      code.codewords[ball] = std::move(path);
    } else {
      stack.emplace_back(n.yes, path + '1');
      stack.emplace_back(n.no, path + '0');
    }
  }
  return code;
}

Play play(std::span<const double> p_weights, const HuffmanCode& code) {
  if (p_weights.size() != code.lengths.size()) {
    std::ostringstream message;
    message << "P has " << p_weights.size() << " balls but the code has " << code.lengths.size();
    throw InputError(message.str());
  }
  Play result;
  result.p = normalize(p_weights, "P");
  result.shares.assign(result.p.size(), 0.0);
  for (std::size_t i = 0; i < result.p.size(); ++i) {
    const double pi = result.p[i];
    if (pi == 0) continue;
    // A ball the code has no word for is never found: it costs infinitely many questions.
    result.shares[i] = code.lengths[i] == HuffmanCode::kNone ? kInfinity : pi * code.lengths[i];
    result.expected_length += result.shares[i];
  }
  return result;
}

double expected_length(std::span<const double> p, const HuffmanCode& code) {
  return play(p, code).expected_length;
}

// ------------------------------------------------------------------------------------------

std::size_t Bag::size() const {
  double n = 0;
  for (const double c : counts) n += c;
  return static_cast<std::size_t>(n);
}

Bag make_bag(std::span<const std::string> balls) {
  if (balls.empty()) throw InputError("the bag is empty: give the balls, e.g. 1 1 1 1 2 2 3 4");
  std::map<std::string, double> counts;
  bool all_numbers = true;
  for (const std::string& label : balls) {
    if (label.empty()) throw InputError("a ball has an empty label");
    double value = 0;
    all_numbers = all_numbers && parse_number(label, value);
    counts[label] += 1;
  }
  Bag bag;
  for (const auto& [label, count] : counts) bag.labels.push_back(label);  // sorted as text
  if (all_numbers) {
    // By value: 2 before 10. Labels with the same value ("1", "1.0") stay in text order.
    std::stable_sort(bag.labels.begin(), bag.labels.end(),
                     [](const std::string& a, const std::string& b) {
                       double x = 0;
                       double y = 0;
                       parse_number(a, x);
                       parse_number(b, y);
                       return x < y;
                     });
  }
  for (const std::string& label : bag.labels) bag.counts.push_back(counts[label]);
  return bag;
}

std::size_t draw(const Bag& bag, Rng& rng) {
  // Number the balls 0..n-1, label by label; ball k belongs to the label whose run holds it.
  std::uint64_t k = rng.below(bag.size());
  for (std::size_t i = 0; i < bag.counts.size(); ++i) {
    const auto count = static_cast<std::uint64_t>(bag.counts[i]);
    if (k < count) return i;
    k -= count;
  }
  return bag.counts.size() - 1;  // not reached: k < Σ counts
}

Questioner::Questioner(HuffmanCode code) : code_(std::move(code)), node_(code_.root) {}

bool Questioner::done() const {
  return code_.nodes[node_].leaf();
}

const std::vector<std::size_t>& Questioner::question() const {
  return code_.nodes[code_.nodes[node_].yes].symbols;
}

void Questioner::answer(bool yes) {
  const HuffmanCode::Node& n = code_.nodes[node_];
  node_ = yes ? n.yes : n.no;
  ++questions_;
}

std::size_t Questioner::ball() const {
  return code_.nodes[node_].symbols.front();
}

Answerer::Answerer(std::size_t n, std::size_t drawn)
    : possible_(n, true), possible_count_(n), drawn_(drawn) {}

bool Answerer::ask(std::span<const std::size_t> asked) {
  std::vector<bool> in_question(possible_.size(), false);
  for (const std::size_t i : asked) {
    if (i >= possible_.size()) throw InputError("no such ball");
    in_question[i] = true;
  }
  const bool yes = in_question[drawn_];
  // "Yes" rules out every ball not asked about; "no" every ball asked about.
  possible_count_ = 0;
  for (std::size_t i = 0; i < possible_.size(); ++i) {
    possible_[i] = possible_[i] && in_question[i] == yes;
    if (possible_[i]) ++possible_count_;
  }
  ++questions_;
  return yes;
}

std::vector<std::size_t> Answerer::possible() const {
  std::vector<std::size_t> balls;
  for (std::size_t i = 0; i < possible_.size(); ++i) {
    if (possible_[i]) balls.push_back(i);
  }
  return balls;
}

bool Answerer::informative(std::span<const std::size_t> asked) const {
  std::vector<bool> in_question(possible_.size(), false);
  for (const std::size_t i : asked) {
    if (i < possible_.size()) in_question[i] = true;
  }
  std::size_t possible_and_asked = 0;
  for (std::size_t i = 0; i < possible_.size(); ++i) {
    if (possible_[i] && in_question[i]) ++possible_and_asked;
  }
  return possible_and_asked > 0 && possible_and_asked < possible_count_;
}

}  // namespace softreg::info
