#include "key_edits.hpp"

namespace pth::adapt_detail {
namespace {

std::regex compile(const std::string& option, const std::string& text) {
  try {
    return std::regex(text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw AdaptError("", option + " " + pth::quoted(text) + ": not a valid regular expression (" + e.what() + ")");
  }
}

}  // namespace

Edits compile_edits(const AdaptOptions& o) {
  Edits e;
  e.strip_prefix = o.strip_prefix;
  e.add_prefix = o.add_prefix;
  for (const std::string& r : o.renames) {
    const size_t eq = r.rfind('=');
    if (eq == std::string::npos || eq == 0)
      throw AdaptError("", "--rename " + pth::quoted(r) + ": expected REGEX=REPLACEMENT");
    e.renames.push_back({r, compile("--rename", r.substr(0, eq)), r.substr(eq + 1)});
  }
  for (const std::string& d : o.drop) e.drop.push_back(compile("--drop", d));
  for (const std::string& k : o.keep) e.keep.push_back(compile("--keep", k));
  return e;
}

bool any_search(const std::vector<std::regex>& patterns, const std::string& s) {
  for (const std::regex& p : patterns)
    if (std::regex_search(s, p)) return true;
  return false;
}

}  // namespace pth::adapt_detail
