// Typed view of yaml-cpp trees: kinds, dotted paths, copy-merge, equality, emission.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <unordered_map>

#include "pth/float_text.hpp"
#include "pth/utf8.hpp"
#include "recipe_detail.hpp"

namespace sg::recipe_detail {
namespace {

const std::string kStrTag = "tag:yaml.org,2002:str";

bool any_of_words(const std::string& text, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (text == w) return true;
  return false;
}

// Scanners for the plain-scalar grammars below; std::regex costs microseconds a call, and a
// recipe may hold tens of thousands of scalars.
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_letter_or_underscore(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

// Advances `i` over characters that satisfy `accept`; returns how many it passed.
template <typename Accept>
std::size_t skip(const std::string& text, std::size_t& i, Accept accept) {
  const std::size_t from = i;
  while (i < text.size() && accept(text[i])) ++i;
  return i - from;
}

bool skip_sign(const std::string& text, std::size_t& i) {
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  return true;
}

// [A-Za-z_][A-Za-z0-9_./-]*
bool is_plain_name(const std::string& text) {
  if (text.empty() || !is_letter_or_underscore(text[0])) return false;
  std::size_t i = 1;
  skip(text, i, [](char c) { return is_letter_or_underscore(c) || is_digit(c) || c == '.' || c == '/' || c == '-'; });
  return i == text.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)
bool is_float_text(const std::string& text) {
  if (any_of_words(text, {".nan", ".NaN", ".NAN"})) return true;
  std::size_t i = 0;
  skip_sign(text, i);
  const std::string rest = text.substr(i);
  if (any_of_words(rest, {".inf", ".Inf", ".INF"})) return true;
  const std::size_t whole = skip(text, i, is_digit);
  std::size_t fraction = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    fraction = skip(text, i, is_digit);
    if (whole == 0 && fraction == 0) return false;
  } else if (whole == 0) {
    return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    skip_sign(text, i);
    if (skip(text, i, is_digit) == 0) return false;
  }
  return i == text.size();
}

// Scalars YAML 1.1 readers (PyYAML) would not load as strings; quoted on output so that
// Python tools reading our .hydra/config.yaml see the same types.
bool yaml11_special(const std::string& text) {
  return any_of_words(text, {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
                             "y", "Y", "n", "N", "="});
}

void emit_node(YAML::Emitter& out, const YAML::Node& node);

// Keys are names and read back as text: a plain key unless it could read as something else
// (a number such as 1e-3, which emit_node would respell, a bool, a "--- " document marker
// at the start of a line, ...), else double-quoted.
void emit_key(YAML::Emitter& out, const YAML::Node& key) {
  if (!key.IsScalar()) return emit_node(out, key);
  const std::string& text = key.Scalar();
  if (is_plain_name(text) && infer_plain(text) == Kind::String && !yaml11_special(text))
    out << text;
  else
    out << YAML::DoubleQuoted << text;
}

void emit_node(YAML::Emitter& out, const YAML::Node& node) {
  switch (kind_of(node)) {
    case Kind::Null:
      out << YAML::Null;
      return;
    case Kind::Map: {
      if (node.size() == 0) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& kv : node) {
        out << YAML::Key;
        emit_key(out, kv.first);
        out << YAML::Value;
        emit_node(out, kv.second);
      }
      out << YAML::EndMap;
      return;
    }
    case Kind::Seq: {
      bool flat = true;
      for (const auto& item : node) {
        Kind k = kind_of(item);
        if (k == Kind::Map || k == Kind::Seq) flat = false;
      }
      if (flat) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : node) emit_node(out, item);
      out << YAML::EndSeq;
      return;
    }
    case Kind::String: {
      const std::string& text = node.Scalar();
      // yaml-cpp would write a control character (a trailing '\r', ...) plainly, and
      // reading it back would drop or fold it.
      const bool control = std::any_of(text.begin(), text.end(), [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; });
      if (infer_plain(text) != Kind::String || yaml11_special(text) || text.empty() || control)
        out << YAML::DoubleQuoted << text;
      else
        out << text;
      return;
    }
    case Kind::Float: {
      // "1e-3" is a float in YAML 1.2 but a string to YAML 1.1 readers (PyYAML):
      // write "1.0e-3", which both read as the same number.
      // `!!float 3` is written "3.0", which reads back as a float.
      std::string text = node.Scalar();
      const auto e = text.find_first_of("eE");
      if (e != std::string::npos && text.find('.') == std::string::npos) text.insert(e, ".0");
      else if (infer_plain(text) == Kind::Int) text += ".0";
      out << text;
      return;
    }
    default:
      out << node.Scalar();
      return;
  }
}

}  // namespace

double float_value(std::string text) {
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) text.erase(0, 1);
  if (any_of_words(text, {".inf", ".Inf", ".INF"})) return negative ? -HUGE_VAL : HUGE_VAL;
  if (any_of_words(text, {".nan", ".NaN", ".NAN"})) return std::nan("");
  const double v = std::strtod(text.c_str(), nullptr);
  return negative ? -v : v;
}

bool int_value(const std::string& text, std::int64_t& out) {
  if (!is_int_text(text)) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = text.rfind("0o", 0) == 0 ? std::strtoll(text.c_str() + 2, &end, 8) : std::strtoll(text.c_str(), &end, 0);
  if (errno == ERANGE || !end || *end) return false;
  out = static_cast<std::int64_t>(v);
  return true;
}

YAML::Node int_node(std::int64_t value) { return YAML::Node(std::to_string(value)); }

YAML::Node float_node(double value) {
  if (std::isnan(value)) return YAML::Node(".nan");
  if (std::isinf(value)) return YAML::Node(value < 0 ? "-.inf" : ".inf");
  std::string out = pth::shortest_float_text(value);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return YAML::Node(out);
}

// [-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+
bool is_int_text(const std::string& text) {
  std::size_t i = 0;
  if (text.rfind("0o", 0) == 0) {
    i = 2;
    return skip(text, i, [](char c) { return c >= '0' && c <= '7'; }) > 0 && i == text.size();
  }
  if (text.rfind("0x", 0) == 0) {
    i = 2;
    return skip(text, i, is_hex_digit) > 0 && i == text.size();
  }
  skip_sign(text, i);
  return skip(text, i, is_digit) > 0 && i == text.size();
}

Kind infer_plain(const std::string& text) {
  if (any_of_words(text, {"", "~", "null", "Null", "NULL"})) return Kind::Null;
  if (any_of_words(text, {"true", "True", "TRUE", "false", "False", "FALSE"})) return Kind::Bool;
  if (is_int_text(text)) return Kind::Int;
  if (is_float_text(text)) return Kind::Float;
  return Kind::String;
}

Kind kind_of(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return Kind::Null;
  if (node.IsMap()) return Kind::Map;
  if (node.IsSequence()) return Kind::Seq;
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == kStrTag) return Kind::String;
  if (tag == "tag:yaml.org,2002:int") return Kind::Int;
  if (tag == "tag:yaml.org,2002:float") return Kind::Float;
  if (tag == "tag:yaml.org,2002:bool") return Kind::Bool;
  if (tag.empty() || tag == "?") {
    Kind k = infer_plain(node.Scalar());
    // A scalar node built in code with empty text is an empty string, not null.
    return k == Kind::Null ? Kind::String : k;
  }
  return Kind::String;  // unknown custom tags: keep the text
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Null: return "null";
    case Kind::Bool: return "a boolean (true/false)";
    case Kind::Int: return "an integer";
    case Kind::Float: return "a number";
    case Kind::String: return "a string";
    case Kind::Seq: return "a list";
    case Kind::Map: return "a mapping";
  }
  return "?";
}

void require_utf8(const std::string& text, const std::string& what) {
  const size_t bad = pth::first_invalid_utf8(text);
  if (bad != std::string::npos) throw RecipeError(what + ": not valid UTF-8 (byte " + std::to_string(bad) + ")");
}

YAML::Node make_string(const std::string& text) {
  YAML::Node node(text);
  node.SetTag("!");
  return node;
}

std::vector<std::string> split_path(const std::string& path, char separator) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path) {
    if (c == separator) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::string join_path(const std::vector<std::string>& segments, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < segments.size() && i < count; ++i) {
    if (i) out += '.';
    out += segments[i];
  }
  return out;
}

long seq_index(const YAML::Node& seq, const std::string& segment) {
  if (segment.empty() || segment.size() > 9 ||
      !std::all_of(segment.begin(), segment.end(), [](unsigned char c) { return std::isdigit(c); }))
    return -1;
  long i = std::stol(segment);
  return i < static_cast<long>(seq.size()) ? i : -1;
}

YAML::Node lookup(const YAML::Node& root, const std::vector<std::string>& segments) {
  YAML::Node cur = root;
  for (const std::string& seg : segments) {
    bool found = false;
    if (cur.IsMap()) {
      for (const auto& kv : cur) {  // not `it->`, which builds each pair twice (3x slower)
        if (kv.first.IsScalar() && kv.first.Scalar() == seg) {
          cur.reset(kv.second);
          found = true;
          break;
        }
      }
    } else if (cur.IsSequence()) {
      long i = seq_index(cur, seg);
      if (i >= 0) {
        cur.reset(cur[static_cast<std::size_t>(i)]);
        found = true;
      }
    }
    if (!found) return YAML::Node(YAML::NodeType::Undefined);
  }
  return cur;
}

void set_child(YAML::Node& parent, const std::string& segment, const YAML::Node& value) {
  if (parent.IsSequence()) {
    long i = seq_index(parent, segment);
    if (i < 0) throw RecipeError("index '" + segment + "' out of range");
    parent[static_cast<std::size_t>(i)] = YAML::Clone(value);
    return;
  }
  // Find the existing key by its text so that non-string keys ("1") match too.
  for (auto kv : parent) {
    if (kv.first.IsScalar() && kv.first.Scalar() == segment) {
      kv.second = YAML::Clone(value);  // writes through to parent's value
      return;
    }
  }
  parent[segment] = YAML::Clone(value);
}

bool remove_child(YAML::Node& parent, const std::string& segment) {
  if (!parent.IsMap()) return false;
  for (auto it = parent.begin(); it != parent.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == segment) {
      YAML::Node key = it->first;
      return parent.remove(key);
    }
  }
  return false;
}

void deep_merge(YAML::Node& dst, const YAML::Node& src) {
  // dst's values by key: merging n keys into m costs n + m, not n * m (a look-up and a
  // yaml-cpp `dst[key]` each scan the whole mapping).
  std::unordered_map<std::string, YAML::Node> by_key;
  for (const auto& kv : dst)
    if (kv.first.IsScalar()) by_key.emplace(kv.first.Scalar(), kv.second);
  for (const auto& kv : src) {
    const std::string key = kv.first.Scalar();
    const auto found = by_key.find(key);
    if (found == by_key.end()) {
      const YAML::Node value = YAML::Clone(kv.second);
      dst.force_insert(key, value);
      by_key.emplace(key, value);
    } else if (found->second.IsMap() && kv.second.IsMap()) {
      deep_merge(found->second, kv.second);
    } else {
      found->second = YAML::Clone(kv.second);  // writes through to dst's value
    }
  }
}

bool deep_equal(const YAML::Node& a, const YAML::Node& b) {
  Kind ka = kind_of(a), kb = kind_of(b);
  if (ka != kb) return false;
  switch (ka) {
    case Kind::Null: return true;
    case Kind::Seq: {
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (!deep_equal(a[i], b[i])) return false;
      return true;
    }
    case Kind::Map: {
      if (a.size() != b.size()) return false;
      auto ib = b.begin();
      for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib) {
        if (ia->first.Scalar() != ib->first.Scalar()) return false;
        if (!deep_equal(ia->second, ib->second)) return false;
      }
      return true;
    }
    case Kind::Float: {
      // By value: "1e-3" is stored as "1.0e-3" (emit_yaml), and the two are one number.
      const double x = float_value(a.Scalar()), y = float_value(b.Scalar());
      return x == y || (std::isnan(x) && std::isnan(y));
    }
    default: return a.Scalar() == b.Scalar();
  }
}

void check_core_tags(const YAML::Node& node, const std::string& what) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      check_core_tags(kv.first, what);
      check_core_tags(kv.second, what);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) check_core_tags(item, what);
  } else if (node.IsScalar()) {
    const std::string& tag = node.Tag();
    const std::string& text = node.Scalar();
    const Kind plain = infer_plain(text);
    const char* bad = nullptr;
    if (tag == "tag:yaml.org,2002:int" && !is_int_text(text)) bad = "!!int";
    if (tag == "tag:yaml.org,2002:float" && plain != Kind::Float && !(plain == Kind::Int && text.find_first_of("ox") == std::string::npos))
      bad = "!!float";
    if (tag == "tag:yaml.org,2002:bool" && plain != Kind::Bool) bad = "!!bool";
    if (bad) throw RecipeError(what + ": line " + std::to_string(node.Mark().line + 1) + ": '" + text + "' is not a valid " + bad);
  }
}

std::string emit_yaml(const YAML::Node& root) {
  YAML::Emitter out;
  out.SetNullFormat(YAML::LowerNull);
  out.SetIndent(2);
  emit_node(out, root);
  if (!out.good()) throw RecipeError(std::string("cannot write recipe as YAML: ") + out.GetLastError());
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

std::string emit_yaml_flow(const YAML::Node& value) {
  YAML::Emitter out;
  out.SetNullFormat(YAML::LowerNull);
  out.SetSeqFormat(YAML::Flow);
  out.SetMapFormat(YAML::Flow);
  emit_node(out, value);
  if (!out.good()) throw RecipeError(std::string("cannot write recipe value as YAML: ") + out.GetLastError());
  return out.c_str();
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string w = lower(word);
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const std::string& cand : candidates) {
    const std::string c = lower(cand);
    std::vector<std::size_t> prev(c.size() + 1), cur(c.size() + 1);
    for (std::size_t j = 0; j <= c.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= w.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= c.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (w[i - 1] == c[j - 1] ? 0 : 1)});
      std::swap(prev, cur);
    }
    std::size_t d = prev[c.size()];
    if (d < best_d) {
      best_d = d;
      best = cand;
    }
  }
  std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  return best_d <= limit ? best : std::string();
}

std::vector<std::string> paths_ending_in(const YAML::Node& root, const std::vector<std::string>& tail,
                                         std::size_t limit) {
  std::vector<std::string> found;
  // Depth-first over mappings and lists; `prefix` is the dotted path of `node` ("" for root).
  const std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& node,
                                                                              const std::string& prefix) {
    const auto visit = [&](const YAML::Node& child, const std::string& name) {
      if (found.size() >= limit) return;
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      if (lookup(child, tail).IsDefined()) found.push_back(path + "." + join_path(tail));
      walk(child, path);
    };
    if (node.IsMap()) {
      for (const auto& kv : node)
        if (kv.first.IsScalar()) visit(kv.second, kv.first.Scalar());
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) visit(node[i], std::to_string(i));
    }
  };
  if (!tail.empty()) walk(root, "");
  return found;
}

void for_each_leaf(const YAML::Node& root, const std::function<void(const std::string&, const YAML::Node&)>& leaf,
                   const std::function<bool(const std::string&)>& skip) {
  const std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& node,
                                                                              const std::string& path) {
    if (!path.empty() && skip && skip(path)) return;
    if (node.IsMap() && node.size() > 0) {
      for (const auto& kv : node)
        if (kv.first.IsScalar()) walk(kv.second, path.empty() ? kv.first.Scalar() : path + "." + kv.first.Scalar());
      return;
    }
    if (!path.empty()) leaf(path, node);
  };
  walk(root, "");
}

}  // namespace sg::recipe_detail
