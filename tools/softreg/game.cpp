// softreg game: the lesson's guessing game, played in the terminal (or through a pipe).
//
//   softreg game                     the bag 1 1 1 1 2 2 3 4; you think of a ball, softreg asks
//   softreg game red red blue green  any labels; the bag is what you list
//   softreg game --you-ask           softreg draws (--seed, --rounds); you ask "is it in {...}?"
//
// Answers: y, yes, n, no in any case; q or quit stops; anything else is asked again. When
// standard input is not a terminal, what is read is echoed, so a piped session reads like a
// played one.
//
// Exit status: 0 when the game ends (the rounds are over, "no" to another round, q, or the end
// of input, at any prompt); 1 when the answers contradict each other (the questioner's guess,
// forced by the answers, is denied), after saying so.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "checks.hpp"
#include "commands.hpp"
#include "softreg/error.hpp"
#include "softreg/info.hpp"
#include "softreg/random.hpp"

namespace softreg::cli {

namespace {

struct GameOptions {
  std::vector<std::string> balls{"1", "1", "1", "1", "2", "2", "3", "4"};
  bool you_ask = false;
  std::uint64_t seed = 0;
  int rounds = 5;
};

std::string fmt(double x) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", x);
  return buffer;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// "1", "1 or 2", "1, 2 or 3".
std::string or_list(const std::vector<std::string>& labels, const std::vector<std::size_t>& set) {
  std::string text;
  for (std::size_t k = 0; k < set.size(); ++k) {
    if (k > 0) text += k + 1 == set.size() ? " or " : ", ";
    text += labels[set[k]];
  }
  return text;
}

std::string plural(int n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// The terminal: prompts on stdout, lines from stdin. Echoes what it reads when stdin is not a
// terminal, so that a piped transcript shows the answers.
class Console {
 public:
  Console() : echo_(!isatty(STDIN_FILENO)) {}

  /// The next line after `prompt`, or nothing at the end of input.
  std::optional<std::string> line(const std::string& prompt) {
    std::cout << prompt << std::flush;
    std::string text;
    if (!std::getline(std::cin, text)) {
      std::cout << "\n";
      return std::nullopt;
    }
    if (echo_) std::cout << text << '\n';
    return text;
  }

  /// A yes (true) or no (false), asked again until it is one; nothing at the end of input or
  /// when the player quits.
  std::optional<bool> yes_no(const std::string& prompt) {
    while (true) {
      const auto text = line(prompt + " [y/n] ");
      if (!text) return std::nullopt;
      const std::string answer = lower(trim(*text));
      if (answer == "y" || answer == "yes") return true;
      if (answer == "n" || answer == "no") return false;
      if (answer == "q" || answer == "quit") return std::nullopt;
      std::cout << "Please answer y or n (q to quit).\n";
    }
  }

 private:
  bool echo_;
};

std::string describe_bag(const info::Bag& bag) {
  std::string text;
  for (std::size_t i = 0; i < bag.labels.size(); ++i) {
    for (int k = 0; k < static_cast<int>(bag.counts[i]); ++k) text += " " + bag.labels[i];
  }
  return "The bag holds " + plural(static_cast<int>(bag.size()), "ball") + ":" + text + ".";
}

// The yardstick of every score: the Huffman code's average, and the entropy below it.
std::string optimum(const info::Bag& bag, const info::HuffmanCode& code) {
  return "On average the best strategy needs " + fmt(info::expected_length(bag.counts, code)) +
         " questions; none averages fewer than the entropy H = " + fmt(info::entropy(bag.counts)) +
         " bits.";
}

// ------------------------------------------------------------------------- softreg asks

void play_questioner(const info::Bag& bag) {
  Console console;
  const info::HuffmanCode code = info::huffman(bag.counts);
  const std::vector<double> probability = info::normalize(bag.counts);
  const std::vector<double> information = info::information(bag.counts);
  std::cout << describe_bag(bag) << "\n"
            << "Think of a ball drawn from it, and I will find it with yes/no questions.\n"
            << "Answer y or n (q quits).\n"
            << optimum(bag, code) << "\n";

  int rounds = 0;
  int questions = 0;
  while (true) {
    std::cout << "\nRound " << rounds + 1 << ". Think of a ball.\n";
    info::Questioner questioner(code);
    std::vector<std::string> said;  // the questions and answers, to explain a contradiction
    while (!questioner.done()) {
      const std::string question = "Is it " + or_list(bag.labels, questioner.question()) + "?";
      const auto yes = console.yes_no(question);
      if (!yes) break;
      said.push_back(std::string(*yes ? "yes" : "no") + " to \"" + question + "\"");
      questioner.answer(*yes);
    }
    if (!questioner.done()) break;  // end of input in the middle of a round

    const std::size_t ball = questioner.ball();
    const int n = questioner.questions();
    // A ball of probability p takes about -log2 p questions (exactly, when p is a power of 1/2).
    std::cout << "It is " << bag.labels[ball] << ": I needed " << plural(n, "question")
              << "; its probability is " << fmt(probability[ball])
              << " and -log2 p = " << fmt(information[ball]) << ".\n";
    const auto right = console.yes_no("Am I right?");
    if (!right) break;
    if (!*right) {
      // "after no to "Is it 1?", no to "Is it 2?" and yes to "Is it 3?", only 3 is left"
      std::string why;
      for (std::size_t k = 0; k < said.size(); ++k) {
        why += (k == 0 ? "" : k + 1 == said.size() ? " and " : ", ") + said[k];
      }
      std::cout << "That cannot be: "
                << (said.empty() ? "the bag holds no other ball"
                                 : "after " + why + ", only " + bag.labels[ball] + " is left")
                << ". Either an answer was wrong or your ball is not in the bag.\n";
      throw Error("game: contradictory answers");
    }
    ++rounds;
    questions += n;
    const auto again = console.yes_no("Another round?");
    if (!again || !*again) break;
  }

  if (rounds == 0) {
    std::cout << "No round played.\n";
  } else {
    std::cout << "\nI found " << plural(rounds, "ball") << " with " << plural(questions, "question")
              << ", " << fmt(static_cast<double>(questions) / rounds) << " per ball.\n"
              << optimum(bag, code) << "\n";
  }
}

// ------------------------------------------------------------------------- the player asks

// The balls named in a question such as "1 2", "1, 2", "is it in {1, 2}?" or "is it 1 or 2":
// the labels, with the filler words and punctuation dropped. Unknown labels are reported.
std::optional<std::vector<std::size_t>> parse_question(const std::string& text,
                                                       const std::vector<std::string>& labels) {
  std::string cleaned = text;
  for (char& c : cleaned) {
    if (c == ',' || c == '{' || c == '}' || c == '?') c = ' ';
  }
  std::istringstream words(cleaned);
  std::vector<std::size_t> set;
  std::vector<std::string> unknown;
  std::string word;
  while (words >> word) {
    const auto it = std::find(labels.begin(), labels.end(), word);
    if (it != labels.end()) {
      set.push_back(static_cast<std::size_t>(it - labels.begin()));
      continue;
    }
    const std::string w = lower(word);
    if (w == "is" || w == "it" || w == "in" || w == "or" || w == "one" || w == "of") continue;
    unknown.push_back(word);
  }
  if (!unknown.empty()) {
    std::string all;
    for (const auto& label : labels) all += (all.empty() ? "" : ", ") + label;
    std::cout << "There is no ball " << unknown.front() << " in the bag (it holds " << all
              << "). Ask again.\n";
    return std::nullopt;
  }
  if (set.empty()) {
    std::cout << "Type the balls you ask about: \"1 2\" asks \"Is it 1 or 2?\" (q to quit).\n";
    return std::nullopt;
  }
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
  return set;
}

void play_answerer(const info::Bag& bag, std::uint64_t seed, int rounds) {
  if (rounds < 1) throw InputError("game: --rounds must be at least 1");
  Console console;
  Rng rng(seed);
  const info::HuffmanCode code = info::huffman(bag.counts);
  std::cout << describe_bag(bag) << "\n"
            << "I draw a ball; you find it by asking \"is it in {...}?\": type the balls of the "
               "set,\n"
            << "e.g. \"1 2\" asks \"Is it 1 or 2?\". " << plural(rounds, "round") << "; q quits.\n";

  int played = 0;
  int asked = 0;
  int optimal = 0;  // what the best strategy asks for the same draws: the drawn balls' lengths
  bool quit = false;
  for (int round = 1; round <= rounds && !quit; ++round) {
    info::Answerer answerer(bag.labels.size(), info::draw(bag, rng));
    std::cout << "\nRound " << round << " of " << rounds << ": I have drawn a ball.\n";
    while (!answerer.found()) {
      const auto text = console.line("question " + std::to_string(answerer.questions() + 1) + "> ");
      if (!text || lower(trim(*text)) == "q" || lower(trim(*text)) == "quit") {
        quit = true;
        break;
      }
      const auto set = parse_question(*text, bag.labels);
      if (!set) continue;
      const bool useless = !answerer.informative(*set);
      const bool yes = answerer.ask(*set);
      std::cout << "Is it " << or_list(bag.labels, *set) << "? " << (yes ? "Yes." : "No.");
      if (useless) std::cout << " (You knew that already.)";
      std::cout << '\n';
    }
    if (quit) break;
    const std::size_t ball = answerer.drawn();
    std::cout << "It is " << bag.labels[ball] << ": you found it with "
              << plural(answerer.questions(), "question") << "; the best strategy needs "
              << plural(code.lengths[ball], "question") << " for it.\n";
    ++played;
    asked += answerer.questions();
    optimal += code.lengths[ball];
  }

  if (played == 0) {
    std::cout << "No round played.\n";
    return;
  }
  std::cout << "\nYou found " << plural(played, "ball") << " with " << plural(asked, "question")
            << ", " << fmt(static_cast<double>(asked) / played)
            << " per ball.\nThe best strategy would have asked " << optimal << " for the same "
            << (played == 1 ? "ball" : "balls") << ", "
            << fmt(static_cast<double>(optimal) / played) << " per ball.\n"
            << optimum(bag, code) << "\n";
}

}  // namespace

void add_game(CLI::App& app) {
  auto options = std::make_shared<GameOptions>();
  CLI::App* cmd = app.add_subcommand(
      "game", "Play the guessing game: find the ball drawn from a bag with yes/no questions");
  cmd->add_option("balls", options->balls,
                  "The bag's contents, labels repeated; their frequencies are the distribution")
      ->capture_default_str();
  cmd->add_flag("--you-ask", options->you_ask,
                "softreg draws the ball and you ask the questions (default: softreg asks)");
  cmd->add_option("--seed", options->seed, "With --you-ask: the seed of the draws")
      ->capture_default_str()
      ->check(kUnsigned64);
  cmd->add_option("--rounds", options->rounds, "With --you-ask: how many balls to find")
      ->capture_default_str();
  cmd->callback([options] {
    const info::Bag bag = info::make_bag(options->balls);
    if (options->you_ask) {
      play_answerer(bag, options->seed, options->rounds);
    } else {
      play_questioner(bag);
    }
  });
}

}  // namespace softreg::cli
