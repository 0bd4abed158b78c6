// `${a.b}` references (OmegaConf style): a scalar that is exactly one reference takes the
// referenced value with its type; references inside longer text are substituted as text.
// `${.sibling}` is relative to the containing mapping; `${oc.env:NAME[,default]}` reads the
// environment. Other resolvers are errors.
#include <cstdlib>
#include <map>

#include "recipe/recipe_detail.hpp"

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

class Resolver {
 public:
  explicit Resolver(YAML::Node root) : root_(std::move(root)) {}

  void resolve(const std::vector<std::string>& segs) {
    const std::string key = join_path(segs);
    int& st = state_[key];
    if (st == 2) return;
    if (st == 1) {
      std::string chain;
      bool on = false;
      for (const std::string& s : stack_) {
        if (s == key) on = true;
        if (on) chain += s + " -> ";
      }
      throw RecipeError(stack_.back() + ": interpolation cycle: " + chain + key);
    }
    st = 1;
    stack_.push_back(key);
    YAML::Node node = lookup(root_, segs);
    if (has_reference(node)) {
      YAML::Node value = evaluate(node.Scalar(), segs);
      YAML::Node parent = lookup(root_, std::vector<std::string>(segs.begin(), segs.end() - 1));
      set_child(parent, segs.back(), value);
    } else if (node.IsMap()) {
      std::vector<std::string> keys;
      for (const auto& kv : node) keys.push_back(kv.first.Scalar());
      for (const std::string& k : keys) {
        auto child = segs;
        child.push_back(k);
        resolve(child);
      }
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        auto child = segs;
        child.push_back(std::to_string(i));
        resolve(child);
      }
    }
    stack_.pop_back();
    state_[key] = 2;
  }

 private:
  // Value of one `${...}` expression held by the node at `holder`.
  YAML::Node reference(const std::string& expr, const std::vector<std::string>& holder) {
    const std::string holder_key = join_path(holder);
    const std::string shown = "${" + expr + "}";
    if (expr.find("${") != std::string::npos)
      throw RecipeError(holder_key + ": nested interpolation '" + shown + "' is not supported");
    const auto colon = expr.find(':');
    if (colon != std::string::npos) {
      const std::string name = trim(expr.substr(0, colon));
      if (name != "oc.env")
        throw RecipeError(holder_key + ": unsupported resolver '" + name + "' in '" + shown + "'");
      std::string args = expr.substr(colon + 1);
      const auto comma = args.find(',');
      const std::string var = unquote(trim(args.substr(0, comma)));
      if (const char* v = std::getenv(var.c_str())) return make_string(v);
      if (comma == std::string::npos)
        throw RecipeError(holder_key + ": environment variable '" + var + "' is not set (in '" + shown + "')");
      const std::string def = trim(args.substr(comma + 1));
      if (def == "null" || def == "~") return YAML::Node(YAML::NodeType::Null);
      return make_string(unquote(def));
    }

    std::string path = trim(expr);
    std::vector<std::string> target;
    if (!path.empty() && path[0] == '.') {
      // Relative: one dot is the containing node, each further dot one level up.
      std::size_t dots = 0;
      while (dots < path.size() && path[dots] == '.') ++dots;
      if (dots > holder.size())
        throw RecipeError(holder_key + ": interpolation '" + shown + "' goes above the recipe root");
      target.assign(holder.begin(), holder.end() - static_cast<long>(dots));
      path = path.substr(dots);
    }
    if (path.empty()) throw RecipeError(holder_key + ": empty interpolation '" + shown + "'");
    for (const std::string& s : split_path(path)) target.push_back(s);

    for (std::size_t i = 1; i <= target.size(); ++i) {
      std::vector<std::string> prefix(target.begin(), target.begin() + static_cast<long>(i));
      YAML::Node n = lookup(root_, prefix);
      if (!n.IsDefined())
        throw RecipeError(holder_key + ": interpolation '" + shown + "' refers to unknown key '" + join_path(target) +
                          "'");
      if (has_reference(n) || i == target.size()) resolve(prefix);
    }
    return lookup(root_, target);
  }

  YAML::Node evaluate(const std::string& text, const std::vector<std::string>& holder) {
    const std::string holder_key = join_path(holder);
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
      std::size_t start = text.find("${", i);
      if (start == std::string::npos) {
        out += text.substr(i);
        break;
      }
      out += text.substr(i, start - i);
      int depth = 0;
      std::size_t end = start + 1;
      for (; end < text.size(); ++end) {
        if (text[end] == '{') ++depth;
        if (text[end] == '}' && --depth == 0) break;
      }
      if (end >= text.size()) throw RecipeError(holder_key + ": unterminated interpolation in '" + text + "'");
      const std::string expr = text.substr(start + 2, end - start - 2);
      YAML::Node value = reference(expr, holder);
      if (start == 0 && end + 1 == text.size()) return YAML::Clone(value);  // typed copy
      switch (kind_of(value)) {
        case Kind::Map:
        case Kind::Seq:
          throw RecipeError(holder_key + ": '${" + expr + "}' is " + kind_name(kind_of(value)) +
                            " and cannot be embedded in text");
        case Kind::Null: out += "None"; break;  // as OmegaConf does
        default: out += value.Scalar();
      }
      i = end + 1;
    }
    return make_string(out);
  }

  YAML::Node root_;
  std::map<std::string, int> state_;  // 1: in progress, 2: done
  std::vector<std::string> stack_;
};

}  // namespace

void resolve_interpolations(YAML::Node& root, const std::string& context) {
  try {
    Resolver resolver(root);
    std::vector<std::string> keys;
    for (const auto& kv : root) keys.push_back(kv.first.Scalar());
    for (const std::string& k : keys) resolver.resolve({k});
  } catch (const RecipeError& e) {
    throw RecipeError(context.empty() ? e.what() : context + ": " + e.what());
  }
}

}  // namespace sg::recipe_detail
