// softreg entropy: the lesson's guessing-game tables.
//
//   softreg entropy 4 2 1 1                      one weight per ball (counts or probabilities)
//   softreg entropy 1/2 1/4 1/8 1/8              fractions are fine too
//   softreg entropy --balls 1 1 1 1 2 2 3 4      or the bag's contents, labels repeated
//   softreg entropy 4 2 1 1 --strategy 1 1 1 1   also play the strategy made for Q = (1,1,1,1)/4
//
// The first table is the best strategy for P (its Huffman code): per ball the probability, the
// number of questions, their product, and the codeword (the answers, 1 = yes); then the expected
// number of questions and the entropy H(P). With --strategy, the second table plays the best
// strategy for Q while the balls are drawn from P, with CE(P, Q) and KL(P ‖ Q).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "softreg/error.hpp"
#include "softreg/info.hpp"

namespace softreg::cli {

namespace {

struct EntropyOptions {
  std::vector<std::string> weights;
  std::vector<std::string> balls;
  std::vector<std::string> strategy;
  std::string base = "2";
  bool json = false;
};

// A weight as typed: a number ("0.25", "4", "1e-3") or a fraction ("1/4").
double parse_weight(const std::string& text, const std::string& what) {
  auto number = [&](std::string_view s) -> std::optional<double> {
    double value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return value;
  };
  const std::string_view s = text;
  const std::size_t slash = s.find('/');
  std::optional<double> value;
  if (slash == std::string_view::npos) {
    value = number(s);
  } else {
    const auto num = number(s.substr(0, slash));
    const auto den = number(s.substr(slash + 1));
    if (num && den && *den != 0) value = *num / *den;
  }
  if (!value) {
    throw InputError(what + ": '" + text + "' is not a number (expected e.g. 4, 0.25 or 1/4)");
  }
  return *value;
}

std::vector<double> parse_weights(const std::vector<std::string>& texts, const std::string& what) {
  std::vector<double> weights;
  for (const std::string& t : texts) weights.push_back(parse_weight(t, what));
  return weights;
}

// Numbers for people: 4 significant digits, no trailing zeros (0.5, 1.75, 0.3333, inf).
std::string fmt(double x) {
  if (std::isinf(x)) return "inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", x);
  return buffer;
}

// Numbers for programs: JSON has no infinity, so an infinite value is null.
nlohmann::json json_number(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

// A plain text table: columns right-aligned to their widest cell, two spaces apart.
class TextTable {
 public:
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const {
    std::vector<std::size_t> width;
    for (const auto& row : rows_) {
      width.resize(std::max(width.size(), row.size()), 0);
      for (std::size_t j = 0; j < row.size(); ++j) width[j] = std::max(width[j], row[j].size());
    }
    for (const auto& row : rows_) {
      std::string line;
      for (std::size_t j = 0; j < row.size(); ++j) {
        line += std::string(2 + width[j] - row[j].size(), ' ') + row[j];
      }
      line.erase(line.find_last_not_of(' ') + 1);  // an empty last cell leaves no trailing blanks
      out << line << '\n';
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

void run_entropy(const EntropyOptions& o) {
  if (!o.weights.empty() && !o.balls.empty()) {
    throw InputError(
        "entropy: give either weights (4 2 1 1) or --balls (1 1 1 1 2 2 3 4), not both");
  }
  if (o.weights.empty() && o.balls.empty()) {
    throw InputError(
        "entropy: give the balls' weights (softreg entropy 4 2 1 1) or the bag's contents "
        "(softreg entropy --balls 1 1 1 1 2 2 3 4)");
  }

  // The balls: their labels and weights.
  std::vector<std::string> labels;
  std::vector<double> weights;
  if (!o.balls.empty()) {
    const info::Bag bag = info::make_bag(o.balls);
    labels = bag.labels;
    weights = bag.counts;
  } else {
    weights = parse_weights(o.weights, "weights");
    for (std::size_t i = 0; i < weights.size(); ++i) labels.push_back(std::to_string(i + 1));
  }
  const info::Base base = o.base == "e" ? info::Base::e : info::Base::two;
  const std::string log_name = base == info::Base::two ? "log2" : "ln";
  const std::string unit(info::unit(base));

  const info::HuffmanCode code = info::huffman(weights);
  const info::Play best = info::play(weights, code);
  const double h = info::entropy(weights, base);

  std::optional<std::vector<double>> q;
  if (!o.strategy.empty()) {
    q = parse_weights(o.strategy, "strategy");
    if (q->size() != weights.size()) {
      throw InputError("strategy: " + std::to_string(q->size()) + " weights given but there are " +
                       std::to_string(weights.size()) + " balls");
    }
    info::normalize(*q, "strategy");  // to name the option in the message of a bad weight
  }

  nlohmann::json json;
  if (o.json) {
    json["unit"] = unit;
    json["balls"] = nlohmann::json::array();
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const bool coded = code.lengths[i] != info::HuffmanCode::kNone;
      json["balls"].push_back({{"ball", labels[i]},
                               {"probability", best.p[i]},
                               {"questions", coded ? nlohmann::json(code.lengths[i]) : nullptr},
                               {"product", json_number(best.shares[i])},
                               {"codeword", coded ? nlohmann::json(code.codewords[i]) : nullptr}});
    }
    json["expected_questions"] = json_number(best.expected_length);
    json["entropy"] = json_number(h);
  } else {
    std::cout << "The best strategy for P, a Huffman code (codeword: the answers, 1 = yes, 0 = no):"
                 "\n\n";
    TextTable table;
    table.add({"ball", "probability", "questions", "product", "codeword"});
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const bool coded = code.lengths[i] != info::HuffmanCode::kNone;
      table.add({labels[i], fmt(best.p[i]), coded ? std::to_string(code.lengths[i]) : "-",
                 fmt(best.shares[i]), coded ? code.codewords[i] : "-"});
    }
    table.add({"total", "", "", fmt(best.expected_length), ""});
    table.print(std::cout);
    std::cout << "\nexpected number of questions: " << fmt(best.expected_length) << '\n'
              << "entropy H(P) = -Σ p " << log_name << " p = " << fmt(h) << ' ' << unit << '\n';
  }

  if (q) {
    const info::HuffmanCode q_code = info::huffman(*q);
    const info::Play played = info::play(weights, q_code);
    const std::vector<double> q_p = info::normalize(*q, "strategy");
    const double ce = info::cross_entropy(weights, *q, base);
    const double kl = info::kl_divergence(weights, *q, base);
    if (o.json) {
      nlohmann::json s;
      s["balls"] = nlohmann::json::array();
      for (std::size_t i = 0; i < labels.size(); ++i) {
        const bool coded = q_code.lengths[i] != info::HuffmanCode::kNone;
        s["balls"].push_back({{"ball", labels[i]},
                              {"probability", played.p[i]},
                              {"q", q_p[i]},
                              {"questions", coded ? nlohmann::json(q_code.lengths[i]) : nullptr},
                              {"product", json_number(played.shares[i])},
                              {"codeword", coded ? nlohmann::json(q_code.codewords[i]) : nullptr}});
      }
      s["expected_questions"] = json_number(played.expected_length);
      s["cross_entropy"] = json_number(ce);
      s["kl_divergence"] = json_number(kl);
      json["strategy"] = std::move(s);
    } else {
      std::cout << "\nPlaying the best strategy for Q while the balls are drawn from P:\n\n";
      bool never = false;  // a ball that P draws but Q rules out: the strategy never finds it
      TextTable table;
      table.add({"ball", "probability", "q", "questions", "product", "codeword"});
      for (std::size_t i = 0; i < labels.size(); ++i) {
        const bool coded = q_code.lengths[i] != info::HuffmanCode::kNone;
        never = never || (!coded && played.p[i] > 0);
        table.add({labels[i], fmt(played.p[i]), fmt(q_p[i]),
                   coded ? std::to_string(q_code.lengths[i]) : "never", fmt(played.shares[i]),
                   coded ? q_code.codewords[i] : "-"});
      }
      table.add({"total", "", "", "", fmt(played.expected_length), ""});
      table.print(std::cout);
      if (never) {
        std::cout << "\n\"never\": Q rules the ball out, so its strategy never asks about it.\n";
      }
      std::cout << "\nexpected number of questions: " << fmt(played.expected_length) << '\n'
                << "cross-entropy CE(P, Q) = -Σ p " << log_name << " q = " << fmt(ce) << ' ' << unit
                << '\n'
                << "KL divergence KL(P ‖ Q) = CE(P, Q) - H(P) = " << fmt(kl) << ' ' << unit << '\n';
    }
  }
  if (o.json) std::cout << json.dump(2) << '\n';
}

}  // namespace

void add_entropy(CLI::App& app) {
  auto options = std::make_shared<EntropyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "entropy",
      "The guessing game's tables: entropy, the Huffman strategy, cross-entropy and KL divergence");
  cmd->add_option("weights", options->weights,
                  "One weight per ball: counts or probabilities, normalised (4 2 1 1, or 1/2 1/4 "
                  "1/8 1/8)");
  cmd->add_option("--balls", options->balls,
                  "The bag's contents instead, labels repeated (1 1 1 1 2 2 3 4)");
  cmd->add_option("--strategy", options->strategy,
                  "Weights Q, one per ball: also play the best strategy for Q under P");
  cmd->add_option("--base", options->base, "Base of the logarithms: 2 (bits) or e (nats)")
      ->check(CLI::IsMember({"2", "e"}))
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "Print JSON (infinite values are null)");
  cmd->callback([options] { run_entropy(*options); });
}

}  // namespace softreg::cli
