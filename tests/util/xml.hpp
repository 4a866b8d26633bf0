// Parses XML files (SVG pictures) with Python's xml.dom.minidom, a real XML parser, and
// summarises what they hold so that tests can check series, labels and cells.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace softreg::test {

struct XmlSummary {
  bool well_formed = false;
  std::string error;  // the parser's message when not well-formed, or why it could not run
  std::string root;   // tag of the root element
  std::map<std::string, std::string> root_attributes;
  std::map<std::string, std::size_t> points;   // id of each element that has points="..." -> count
  std::map<std::string, std::string> tag_of;   // id -> tag, for every element with an id
  std::map<std::string, std::size_t> classes;  // class attribute -> number of elements
  std::map<std::string, std::size_t> tags;     // tag -> number of elements
  std::vector<std::string> texts;              // the text of every <text> element, in order
};

XmlSummary parse_xml(const std::filesystem::path& file);

}  // namespace softreg::test
