// softreg train --checkpoint / --resume: the options a checkpoint records, and how a resumed run
// takes them back (docs/cli.md, "Checkpoints").
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "softreg/error.hpp"
#include "train_args.hpp"

namespace softreg::cli {

namespace {

// What a resumed run may change: how long it goes on, where its results go, and the threads
// (results do not depend on them).
const std::set<std::string>& changeable() {
  static const std::set<std::string> all = {"--epochs",  "--out",    "--metrics",
                                            "--plot",    "--report", "--checkpoint",
                                            "--threads", "--quiet",  "--resume"};
  return all;
}

bool same_value(const std::string& a, const std::string& b) {
  if (a == b) return true;
  double x = 0, y = 0;
  const auto rx = std::from_chars(a.data(), a.data() + a.size(), x);
  const auto ry = std::from_chars(b.data(), b.data() + b.size(), y);
  return rx.ec == std::errc() && rx.ptr == a.data() + a.size() && ry.ec == std::errc() &&
         ry.ptr == b.data() + b.size() && x == y;
}

bool same_values(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same_value(a[i], b[i])) return false;
  return true;
}

std::string joined(const std::vector<std::string>& values) {
  std::string s;
  for (const std::string& v : values) s += (s.empty() ? "" : " ") + v;
  return s;
}

std::string changeable_text() {
  std::string s;
  for (const std::string& o : changeable())
    if (o != "--resume") s += (s.empty() ? "" : ", ") + o;
  return s;
}

}  // namespace

std::string given_options(const CLI::App* cmd) {
  nlohmann::ordered_json given = nlohmann::ordered_json::object();
  for (const CLI::Option* o : cmd->get_options()) {
    const std::string name = o->get_name();
    if (o->count() == 0 || name == "--help" || name == "--resume") continue;
    given[name] = o->results();
  }
  return given.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void take_checkpoint_options(CLI::App* cmd, const Checkpoint& c, const std::string& file) {
  const auto it = c.notes.find("options");
  if (it == c.notes.end())
    throw InputError("--resume " + file + ": the checkpoint records no options");
  nlohmann::json saved;
  try {
    saved = nlohmann::json::parse(it->second);
    if (!saved.is_object()) throw std::runtime_error("not an object");
  } catch (const std::exception&) {
    throw InputError("--resume " + file + ": the checkpoint's options are not a JSON object");
  }
  const std::string may =
      " (a resumed run takes the checkpoint's options; it may change " + changeable_text() + ")";
  for (const auto& [name, value] : saved.items()) {
    CLI::Option* o = nullptr;
    try {
      o = cmd->get_option(name);
    } catch (const CLI::OptionNotFound&) {
      throw InputError("--resume " + file + ": the checkpoint records an option " + name +
                       " that this softreg does not have");
    }
    std::vector<std::string> values;
    try {
      values = value.get<std::vector<std::string>>();
    } catch (const std::exception&) {
      throw InputError("--resume " + file + ": the checkpoint's " + name +
                       " is not a list of values");
    }
    if (o->count() != 0) {
      if (changeable().count(name) == 0 && !same_values(o->results(), values))
        throw InputError(name + " " + joined(o->results()) + ": the checkpoint " + file +
                         " was trained with " + name + " " + joined(values) + may);
      continue;
    }
    for (const std::string& v : values) o->add_result(v);
    o->run_callback();
  }
  // An option given now that the checkpoint's run did not have, unless it says the default.
  for (const CLI::Option* o : cmd->get_options()) {
    const std::string name = o->get_name();
    if (o->count() == 0 || changeable().count(name) != 0 || saved.contains(name)) continue;
    const std::string fallback = o->get_default_str();
    if (fallback.empty() || !same_values(o->results(), {fallback}))
      throw InputError(name + (o->get_expected_min() == 0 ? "" : " " + joined(o->results())) +
                       ": the checkpoint " + file + " was trained " +
                       (fallback.empty() || o->get_expected_min() == 0
                            ? "without it"
                            : "with the default " + name + " " + fallback) +
                       may);
  }
}

}  // namespace softreg::cli
