// `${a.b}` references (OmegaConf style): a scalar that is exactly one reference takes the
// referenced value with its type; references inside longer text are substituted as text.
// `${.sibling}` is relative to the containing mapping; `${oc.env:NAME[,default]}` reads the
// environment. Other resolvers are errors.
//
// References copy values, so a few of them copying each other double the recipe per level:
// every value they add is counted against the recipe's bounds (bounds.hpp) before it is
// built, and the results may not nest past kMaxDepth.
#include <cstdlib>
#include <memory>
#include <unordered_map>

#include "bounds.hpp"
#include "recipe_detail.hpp"

namespace sg::recipe_detail {
namespace {

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::string unquote(const std::string& s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front())
    return s.substr(1, s.size() - 2);
  return s;
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
  explicit Resolver(const YAML::Node& root) : budget_(measure(root)) { root_.node = root; }

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
    const YAML::Node value = evaluate(text, holder);
    holder.node = value;  // writes through to the tree
    holder.children.clear();
    holder.by_key.clear();
    holder.indexed = false;
  }

  void add(const TreeSize& size, const Entry& holder) {
    budget_.add(size, [&] { return path_of(holder); });
  }

  // Value of one `${...}` expression held by `holder`: a resolved node of the tree, or a new one.
  YAML::Node reference(const std::string& expr, Entry& holder) {
    const std::string shown = "${" + expr + "}";
    if (expr.find("${") != std::string::npos)
      throw RecipeError(path_of(holder) + ": nested interpolation '" + shown + "' is not supported");
    const auto colon = expr.find(':');
    if (colon != std::string::npos) {
      const std::string name = trim(expr.substr(0, colon));
      if (name != "oc.env")
        throw RecipeError(path_of(holder) + ": unsupported resolver '" + name + "' in '" + shown + "'");
      std::string args = expr.substr(colon + 1);
      const auto comma = args.find(',');
      const std::string var = unquote(trim(args.substr(0, comma)));
      if (const char* v = std::getenv(var.c_str())) return make_string(v);
      if (comma == std::string::npos)
        throw RecipeError(path_of(holder) + ": environment variable '" + var + "' is not set (in '" + shown + "')");
      const std::string def = trim(args.substr(comma + 1));
      if (def == "null" || def == "~") return YAML::Node(YAML::NodeType::Null);
      return make_string(unquote(def));
    }

    std::string path = trim(expr);
    Entry* base = &root_;
    if (!path.empty() && path[0] == '.') {
      // Relative: one dot is the containing node, each further dot one level up.
      std::size_t dots = 0;
      while (dots < path.size() && path[dots] == '.') ++dots;
      if (dots > holder.depth)
        throw RecipeError(path_of(holder) + ": interpolation '" + shown + "' goes above the recipe root");
      base = &holder;
      for (std::size_t i = 0; i < dots; ++i) base = base->parent;
      path = path.substr(dots);
    }
    if (path.empty()) throw RecipeError(path_of(holder) + ": empty interpolation '" + shown + "'");

    Entry* at = base;
    for (const std::string& segment : split_path(path)) {
      if (has_reference(at->node)) resolve(*at);  // a reference on the way: walk its value
      at = child(*at, segment);
      if (!at) {
        const std::string prefix = path_of(*base);
        throw RecipeError(path_of(holder) + ": interpolation '" + shown + "' refers to unknown key '" +
                          (prefix.empty() ? "" : prefix + ".") + path + "'");
      }
    }
    resolve(*at);
    return at->node;
  }

  YAML::Node evaluate(const std::string& text, Entry& holder) {
    std::string out;
    std::size_t i = 0;
    auto append = [&](const std::string& piece) {
      add({0, piece.size(), 0}, holder);
      out += piece;
    };
    while (i < text.size()) {
      std::size_t start = text.find("${", i);
      if (start == std::string::npos) {
        append(text.substr(i));
        break;
      }
      append(text.substr(i, start - i));
      int depth = 0;
      std::size_t end = start + 1;
      for (; end < text.size(); ++end) {
        if (text[end] == '{') ++depth;
        if (text[end] == '}' && --depth == 0) break;
      }
      if (end >= text.size()) throw RecipeError(path_of(holder) + ": unterminated interpolation in '" + text + "'");
      const std::string expr = text.substr(start + 2, end - start - 2);
      const YAML::Node value = reference(expr, holder);
      if (start == 0 && end + 1 == text.size()) {  // a typed copy
        const TreeSize size = measure(value);
        if (holder.depth + size.depth > kMaxDepth)
          throw RecipeError(path_of(holder) + ": '${" + expr + "}' would nest the recipe more than " +
                            std::to_string(kMaxDepth) + " levels deep");
        add(size, holder);
        return YAML::Clone(value);
      }
      switch (kind_of(value)) {
        case Kind::Map:
        case Kind::Seq:
          throw RecipeError(path_of(holder) + ": '${" + expr + "}' is " + kind_name(kind_of(value)) +
                            " and cannot be embedded in text");
        case Kind::Null: append("None"); break;  // as OmegaConf does
        default: append(value.Scalar());
      }
      i = end + 1;
    }
    add({1, 0, 0}, holder);
    return make_string(out);
  }

  Entry root_;
  SizeBudget budget_;
  std::vector<Entry*> resolving_;  // innermost last
};

}  // namespace

void resolve_interpolations(YAML::Node& root, const std::string& context) {
  try {
    Resolver(root).resolve_all();
  } catch (const RecipeError& e) {
    throw RecipeError(context.empty() ? e.what() : context + ": " + e.what());
  }
}

}  // namespace sg::recipe_detail
