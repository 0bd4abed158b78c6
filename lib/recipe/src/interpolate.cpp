// `${a.b}` references (OmegaConf style): a scalar that is exactly one reference takes the
// referenced value with its type; references inside longer text are substituted as text.
// `${.sibling}` is relative to the containing mapping; `${a.${b}}` builds the path from
// another value. `${name:arg,...}` calls a resolver (resolvers.hpp) on its arguments, which
// may hold expressions themselves; resolvers not listed there are errors.
//
// References copy values, so a few of them copying each other double the recipe per level:
// every value they add is counted against the recipe's bounds (bounds.hpp) before it is
// built, and the results may not nest past kMaxDepth.
#include <cstring>
#include <memory>
#include <regex>
#include <unordered_map>

#include "bounds.hpp"
#include "origins.hpp"
#include "recipe_detail.hpp"
#include "resolvers.hpp"

namespace sg::recipe_detail {
namespace {

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

bool has_reference(const YAML::Node& node) {
  return node.IsScalar() && node.Scalar().find("${") != std::string::npos;
}

// One node of the recipe as the resolver sees it. `node` is a handle into the tree, so
// assigning to it replaces the value in place. Children are indexed by key on first use:
// a reference costs one look-up per segment of its path, not a scan of each mapping.
struct Entry {
  enum class State { Pending, Resolving, Done };

  YAML::Node node;
  Entry* parent = nullptr;
  std::string key;        // in the parent
  std::size_t depth = 0;  // mappings and lists around it
  State state = State::Pending;
  bool indexed = false;
  std::vector<std::unique_ptr<Entry>> children;    // in order
  std::unordered_map<std::string, Entry*> by_key;  // mappings: the first of equal keys
};

// "a.b.0.c"; built only for messages, as it costs the length of the path.
std::string path_of(const Entry& entry) {
  std::vector<std::string> keys;
  for (const Entry* e = &entry; e->parent; e = e->parent) keys.push_back(e->key);
  return join_path(std::vector<std::string>(keys.rbegin(), keys.rend()));
}

class Resolver {
 public:
  Resolver(const YAML::Node& root, const Origins* origins, std::set<std::string>* referenced)
      : budget_(measure(root)), origins_(origins), referenced_(referenced) {
    root_.node = root;
  }

  void resolve_all() { resolve(root_); }

 private:
  void index(Entry& entry) {
    if (entry.indexed) return;
    entry.indexed = true;
    auto add = [&entry](const YAML::Node& node, std::string key) {
      auto child = std::make_unique<Entry>();
      child->node = node;
      child->parent = &entry;
      child->key = std::move(key);
      child->depth = entry.depth + 1;
      if (entry.state == Entry::State::Done) child->state = Entry::State::Done;  // inside a resolved copy
      entry.children.push_back(std::move(child));
      return entry.children.back().get();
    };
    if (entry.node.IsMap()) {
      for (auto it = entry.node.begin(); it != entry.node.end(); ++it)
        if (it->first.IsScalar()) entry.by_key.emplace(it->first.Scalar(), add(it->second, it->first.Scalar()));
    } else if (entry.node.IsSequence()) {
      std::size_t i = 0;
      for (auto it = entry.node.begin(); it != entry.node.end(); ++it) add(*it, std::to_string(i++));
    }
  }

  Entry* child(Entry& entry, const std::string& segment) {
    index(entry);
    if (entry.node.IsSequence()) {
      const long i = seq_index(entry.node, segment);
      return i < 0 ? nullptr : entry.children[static_cast<std::size_t>(i)].get();
    }
    const auto found = entry.by_key.find(segment);
    return found == entry.by_key.end() ? nullptr : found->second;
  }

  void resolve(Entry& entry) {
    if (entry.state == Entry::State::Done) return;
    if (entry.state == Entry::State::Resolving) {
      std::string chain;
      bool on = false;
      for (const Entry* e : resolving_) {
        on = on || e == &entry;
        if (on) chain += path_of(*e) + " -> ";
      }
      throw RecipeError(path_of(*resolving_.back()) + ": interpolation cycle: " + chain + path_of(entry));
    }
    if (resolving_.size() >= kMaxResolveNesting)
      throw RecipeError(path_of(entry) + ": interpolations nest more than " + std::to_string(kMaxResolveNesting) +
                        " levels deep");
    entry.state = Entry::State::Resolving;
    resolving_.push_back(&entry);
    if (has_reference(entry.node)) {
      replace(entry);
    } else {
      index(entry);
      for (const auto& c : entry.children) resolve(*c);
    }
    resolving_.pop_back();
    entry.state = Entry::State::Done;
  }

  // The holder's text is replaced by its value.
  void replace(Entry& holder) {
    const std::string text = holder.node.Scalar();
    budget_.remove({1, text.size(), 0});
    YAML::Node value;
    try {
      value = evaluate(text, holder);
    } catch (const RecipeError& e) {
      // Named by the innermost value that failed; the values around it pass it on.
      if (named_ || !origins_) throw;
      named_ = true;
      throw RecipeError(e.what() + origins_->written_in(path_of(holder)));
    }
    holder.node = value;  // writes through to the tree
    holder.children.clear();
    holder.by_key.clear();
    holder.indexed = false;
  }

  void add(const TreeSize& size, const Entry& holder) {
    budget_.add(size, [&] { return path_of(holder); });
  }

  // A key path's value: a resolved node of the tree. `text` from `from` to `to` is the
  // expression, for messages.
  YAML::Node reference(const std::string& expr, const std::string& text, std::size_t from, std::size_t to,
                       Entry& holder) {
    const auto shown = [&] { return text.substr(from, to - from); };
    std::string path = trim(expr);
    Entry* base = &root_;
    if (!path.empty() && path[0] == '.') {
      // Relative: one dot is the containing node, each further dot one level up.
      std::size_t dots = 0;
      while (dots < path.size() && path[dots] == '.') ++dots;
      if (dots > holder.depth)
        throw RecipeError(path_of(holder) + ": interpolation '" + shown() + "' goes above the recipe root");
      base = &holder;
      for (std::size_t i = 0; i < dots; ++i) base = base->parent;
      path = path.substr(dots);
    }
    if (path.empty()) throw RecipeError(path_of(holder) + ": empty interpolation '" + shown() + "'");

    Entry* at = base;
    for (const std::string& segment : split_path(path)) {
      if (has_reference(at->node)) resolve(*at);  // a reference on the way: walk its value
      at = child(*at, segment);
      if (!at) {
        const std::string prefix = path_of(*base);
        throw RecipeError(path_of(holder) + ": interpolation '" + shown() + "' refers to unknown key '" +
                          (prefix.empty() ? "" : prefix + ".") + path + "'");
      }
    }
    resolve(*at);
    if (referenced_) referenced_->insert(path_of(*at));
    return at->node;
  }

  // The text a value stands for inside longer text; `text` from `from` to `to` is the
  // expression that gave it (copied only for a message: expressions nest).
  std::string embedded(const YAML::Node& value, const std::string& text, std::size_t from, std::size_t to,
                       const Entry& holder) {
    switch (kind_of(value)) {
      case Kind::Map:
      case Kind::Seq:
        throw RecipeError(path_of(holder) + ": '" + text.substr(from, to - from) + "' is " + kind_name(kind_of(value)) +
                          " and cannot be embedded in text");
      case Kind::Null: return "None";  // as OmegaConf does
      default: return value.Scalar();
    }
  }

  // One scalar's text, read from `at` on: `${...}` expressions, resolver arguments.
  struct Cursor {
    const std::string& text;
    std::size_t at;
    bool starts(const char* s) const { return text.compare(at, std::strlen(s), s) == 0; }
    bool done() const { return at >= text.size(); }
    void skip_space() {
      while (!done() && (text[at] == ' ' || text[at] == '\t')) ++at;
    }
  };

  [[noreturn]] void unterminated(const Cursor& c, const Entry& holder) {
    throw RecipeError(path_of(holder) + ": unterminated interpolation in '" + c.text + "'");
  }

  // The value of the `${...}` at the cursor, which ends after it. `nesting` counts the
  // expressions around it (within the bound of values being resolved at once).
  YAML::Node expression(Cursor& c, Entry& holder, std::size_t nesting) {
    if (nesting + resolving_.size() >= kMaxResolveNesting)
      throw RecipeError(path_of(holder) + ": interpolations nest more than " + std::to_string(kMaxResolveNesting) +
                        " levels deep");
    const std::size_t start = c.at;
    c.at += 2;
    std::string head;  // a key path, or the resolver's name
    while (true) {
      if (c.done()) unterminated(c, holder);
      if (c.starts("${")) {
        const std::size_t inner = c.at;
        const YAML::Node part = expression(c, holder, nesting + 1);
        head += embedded(part, c.text, inner, c.at, holder);
        continue;
      }
      const char ch = c.text[c.at++];
      if (ch == '}') {
        return reference(head, c.text, start, c.at, holder);
      }
      if (ch == ':') break;
      head += ch;
    }
    const std::string name = trim(head);
    static const std::regex resolver_name("[A-Za-z_][A-Za-z0-9_.]*");
    if (!std::regex_match(name, resolver_name))
      throw RecipeError(path_of(holder) + ": bad resolver name '" + name + "' in '" + c.text + "'");
    std::vector<YAML::Node> args;
    c.skip_space();
    if (!c.done() && c.text[c.at] == '}') {
      ++c.at;
    } else {
      while (true) {
        args.push_back(argument(c, holder, nesting, 0));
        c.skip_space();
        if (c.done()) unterminated(c, holder);
        const char ch = c.text[c.at++];
        if (ch == '}') break;
        if (ch != ',')
          throw RecipeError(path_of(holder) + ": expected ',' or '}' after an argument of '" + name + "' in '" + c.text + "'");
      }
    }
    try {
      return call_resolver(name, args);
    } catch (const RecipeError& e) {
      throw RecipeError(path_of(holder) + ": '" + c.text.substr(start, c.at - start) + "': " + e.what());
    }
  }

  // One resolver argument, as OmegaConf reads it: a list `[a, b]`, a quoted string (its
  // `${}` substituted as text), a lone `${...}` (its value, typed), or plain text (typed
  // as YAML reads a plain scalar, `${}` inside substituted as text). `lists` counts the
  // lists around it.
  YAML::Node argument(Cursor& c, Entry& holder, std::size_t nesting, std::size_t lists) {
    c.skip_space();
    if (c.done()) unterminated(c, holder);
    const char first = c.text[c.at];
    if (first == '[') {
      if (holder.depth + lists + 1 > kMaxDepth)
        throw RecipeError(path_of(holder) + ": resolver arguments nest more than " + std::to_string(kMaxDepth) +
                          " levels deep");
      ++c.at;
      YAML::Node list(YAML::NodeType::Sequence);
      c.skip_space();
      if (!c.done() && c.text[c.at] == ']') {
        ++c.at;
        return list;
      }
      while (true) {
        list.push_back(argument(c, holder, nesting, lists + 1));
        c.skip_space();
        if (c.done()) unterminated(c, holder);
        const char ch = c.text[c.at++];
        if (ch == ']') return list;
        if (ch != ',') throw RecipeError(path_of(holder) + ": expected ',' or ']' in a list in '" + c.text + "'");
      }
    }
    if (first == '{')
      throw RecipeError(path_of(holder) + ": a mapping as a resolver argument is not supported (in '" + c.text + "')");
    if (first == '\'' || first == '"') {
      ++c.at;
      std::string out;
      while (true) {
        if (c.done()) throw RecipeError(path_of(holder) + ": unterminated quoted argument in '" + c.text + "'");
        if (c.starts("${")) {
          const std::size_t inner = c.at;
          const YAML::Node part = expression(c, holder, nesting + 1);
          out += embedded(part, c.text, inner, c.at, holder);
          continue;
        }
        char ch = c.text[c.at++];
        if (ch == first) return make_string(out);
        if (ch == '\\' && !c.done()) ch = c.text[c.at++];
        out += ch;
      }
    }
    // Plain text up to the next ',', '}' or ']' (in a list).
    struct Piece {
      std::size_t from, to;  // in the text: literal text, or the expression as written
      YAML::Node value;      // defined for an expression
    };
    std::vector<Piece> pieces;
    std::size_t expressions = 0;
    bool literal = false;
    while (!c.done()) {
      const char ch = c.text[c.at];
      if (ch == ',' || ch == '}' || (lists && ch == ']')) break;
      if (c.starts("${")) {
        const std::size_t inner = c.at;
        YAML::Node value = expression(c, holder, nesting + 1);
        pieces.push_back({inner, c.at, value});
        ++expressions;
        continue;
      }
      literal = literal || (ch != ' ' && ch != '\t');
      if (pieces.empty() || pieces.back().value.IsDefined())
        pieces.push_back({c.at, c.at, YAML::Node(YAML::NodeType::Undefined)});
      pieces.back().to = ++c.at;
    }
    if (expressions == 1 && !literal)
      for (const Piece& p : pieces)
        if (p.value.IsDefined()) return p.value;
    std::string out;
    for (const Piece& p : pieces)
      out += p.value.IsDefined() ? embedded(p.value, c.text, p.from, p.to, holder) : c.text.substr(p.from, p.to - p.from);
    const std::string plain = trim(out);
    if (expressions || plain.empty()) return make_string(plain);  // OmegaConf: an empty argument is ''
    if (infer_plain(plain) == Kind::Null) return YAML::Node(YAML::NodeType::Null);
    return YAML::Node(plain);
  }

  YAML::Node evaluate(const std::string& text, Entry& holder) {
    std::string out;
    auto append = [&](const std::string& piece) {
      add({0, piece.size(), 0}, holder);
      out += piece;
    };
    Cursor c{text, 0};
    while (!c.done()) {
      const std::size_t start = text.find("${", c.at);
      if (start == std::string::npos) {
        append(text.substr(c.at));
        break;
      }
      append(text.substr(c.at, start - c.at));
      c.at = start;
      const YAML::Node value = expression(c, holder, 0);
      if (start == 0 && c.done()) {  // a typed copy
        const TreeSize size = measure(value);
        if (holder.depth + size.depth > kMaxDepth)
          throw RecipeError(path_of(holder) + ": '" + text + "' would nest the recipe more than " +
                            std::to_string(kMaxDepth) + " levels deep");
        add(size, holder);
        return YAML::Clone(value);
      }
      append(embedded(value, text, start, c.at, holder));
    }
    add({1, 0, 0}, holder);
    return make_string(out);
  }

  Entry root_;
  SizeBudget budget_;
  const Origins* origins_;
  std::set<std::string>* referenced_;   // may be null
  bool named_ = false;
  std::vector<Entry*> resolving_;  // innermost last
};

}  // namespace

void resolve_interpolations(YAML::Node& root, const std::string& context, const Origins* origins,
                            std::set<std::string>* referenced) {
  try {
    Resolver(root, origins, referenced).resolve_all();
  } catch (const RecipeError& e) {
    throw RecipeError(context.empty() ? e.what() : context + ": " + e.what());
  }
}

}  // namespace sg::recipe_detail
