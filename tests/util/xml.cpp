#include "xml.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fixtures.hpp"

namespace softreg::test {

namespace {

// Prints one record a line: "ok ROOT", then "attr NAME VALUE", "id ID TAG", "points ID N",
// "class NAME", "tag NAME", "text CONTENT"; or "error MESSAGE".
constexpr const char* kScript = R"(import sys, xml.dom.minidom
try:
    doc = xml.dom.minidom.parse(sys.argv[1])
except Exception as e:
    print("error", str(e).replace("\n", " "))
    sys.exit(0)
root = doc.documentElement
print("ok", root.tagName)
for k, v in root.attributes.items():
    print("attr", k, v)
for el in root.getElementsByTagName("*") + [root]:
    print("tag", el.tagName)
    if el.getAttribute("id"):
        print("id", el.getAttribute("id"), el.tagName)
        if el.hasAttribute("points"):
            print("points", el.getAttribute("id"), len(el.getAttribute("points").split()))
    elif el.hasAttribute("points") and el.parentNode.getAttribute("id"):
        print("points", el.parentNode.getAttribute("id"), len(el.getAttribute("points").split()))
    for c in el.getAttribute("class").split():
        print("class", c)
    if el.tagName == "text":
        print("text", "".join(n.data for n in el.childNodes if n.nodeType == n.TEXT_NODE))
)";

}  // namespace

XmlSummary parse_xml(const std::filesystem::path& file) {
  XmlSummary s;
  // python3 is a test dependency (scripts/setup installs it; CI has it): without it the file is
  // not known to be well-formed, and the test that asked fails, saying why.
  if (std::system("python3 -c pass >/dev/null 2>&1") != 0) {
    s.error = "cannot parse the XML: python3 is not installed (scripts/setup installs it)";
    return s;
  }
  TempDir dir;
  const auto script = dir.path() / "summarise.py";
  std::ofstream(script) << kScript;
  const std::string command = "python3 '" + script.string() + "' '" + file.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    s.error = "cannot run python3";
    return s;
  }
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  pclose(pipe);
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const auto space = line.find(' ');
    const std::string kind = line.substr(0, space);
    const std::string rest = space == std::string::npos ? "" : line.substr(space + 1);
    const auto space2 = rest.find(' ');
    const std::string first = rest.substr(0, space2);
    const std::string second = space2 == std::string::npos ? "" : rest.substr(space2 + 1);
    if (kind == "error") {
      s.error = rest;
    } else if (kind == "ok") {
      s.well_formed = true;
      s.root = rest;
    } else if (kind == "attr") {
      s.root_attributes[first] = second;
    } else if (kind == "id") {
      s.tag_of[first] = second;
    } else if (kind == "points") {
      s.points[first] = std::stoul(second);
    } else if (kind == "class") {
      ++s.classes[rest];
    } else if (kind == "tag") {
      ++s.tags[rest];
    } else if (kind == "text") {
      s.texts.push_back(rest);
    }
  }
  if (!s.well_formed && s.error.empty()) s.error = "no output from the parser: " + out;
  return s;
}

}  // namespace softreg::test
