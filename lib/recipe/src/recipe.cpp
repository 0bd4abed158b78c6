// Recipe: typed access by dotted key, YAML output, and the run directory's `.hydra/` copy.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>

#include <sys/stat.h>

#include "bounds.hpp"
#include "pth/error.hpp"
#include "pth/input_file.hpp"
#include "hydra_block.hpp"
#include "origins.hpp"
#include "recipe_detail.hpp"
#include "targets.hpp"

namespace sg {

using recipe_detail::Kind;
using recipe_detail::kind_name;
using recipe_detail::kind_of;
using recipe_detail::lookup;
using recipe_detail::split_path;

namespace {

[[noreturn]] void wrong_type(const std::string& key, const char* expected, const YAML::Node& node) {
  std::string got;
  switch (kind_of(node)) {
    case Kind::Null: got = "null"; break;
    case Kind::Map: got = "a mapping"; break;
    case Kind::Seq: got = "a list"; break;
    default: got = "'" + node.Scalar() + "'";
  }
  throw RecipeError(key + ": expected " + expected + ", got " + got);
}

template <typename T>
struct Convert;

template <>
struct Convert<bool> {
  static bool from(const YAML::Node& n, const std::string& key) {
    if (kind_of(n) != Kind::Bool) wrong_type(key, kind_name(Kind::Bool), n);
    const std::string& s = n.Scalar();
    return s == "true" || s == "True" || s == "TRUE";
  }
};

template <>
struct Convert<int64_t> {
  static int64_t from(const YAML::Node& n, const std::string& key) {
    if (kind_of(n) != Kind::Int) wrong_type(key, kind_name(Kind::Int), n);
    const std::string& s = n.Scalar();
    errno = 0;
    char* end = nullptr;
    long long v = s.rfind("0o", 0) == 0 ? std::strtoll(s.c_str() + 2, &end, 8) : std::strtoll(s.c_str(), &end, 0);
    if (errno == ERANGE || !end || *end) throw RecipeError(key + ": integer '" + s + "' is out of range");
    return static_cast<int64_t>(v);
  }
};

template <>
struct Convert<int> {
  static int from(const YAML::Node& n, const std::string& key) {
    int64_t v = Convert<int64_t>::from(n, key);
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      throw RecipeError(key + ": integer '" + n.Scalar() + "' is out of range");
    return static_cast<int>(v);
  }
};

template <>
struct Convert<double> {
  static double from(const YAML::Node& n, const std::string& key) {
    Kind k = kind_of(n);
    if (k == Kind::Int) return static_cast<double>(Convert<int64_t>::from(n, key));
    if (k != Kind::Float) wrong_type(key, kind_name(Kind::Float), n);
    std::string s = n.Scalar();
    std::size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    std::string body = s.substr(sign);
    if (body == ".inf" || body == ".Inf" || body == ".INF")
      return s[0] == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    if (body == ".nan" || body == ".NaN" || body == ".NAN") return std::numeric_limits<double>::quiet_NaN();
    return std::strtod(s.c_str(), nullptr);
  }
};

template <>
struct Convert<std::string> {
  static std::string from(const YAML::Node& n, const std::string& key) {
    Kind k = kind_of(n);
    if (k == Kind::Null || k == Kind::Map || k == Kind::Seq) wrong_type(key, kind_name(Kind::String), n);
    return n.Scalar();
  }
};

template <typename E>
struct Convert<std::vector<E>> {
  static std::vector<E> from(const YAML::Node& n, const std::string& key) {
    if (kind_of(n) != Kind::Seq) wrong_type(key, kind_name(Kind::Seq), n);
    std::vector<E> out;
    out.reserve(n.size());
    for (std::size_t i = 0; i < n.size(); ++i) out.push_back(Convert<E>::from(n[i], key + "." + std::to_string(i)));
    return out;
  }
};


}  // namespace

namespace recipe_detail {

YAML::Node load_yaml_file(const std::string& path, const std::string& what) {
  std::string text;
  try {
    text = pth::read_input_file(path, kMaxFileBytes);
  } catch (const pth::Error& e) {
    throw RecipeError("cannot read " + what + ": " + e.what());
  }
  require_utf8(text, what);
  YAML::Node doc;
  try {
    doc = parse_recipe_yaml(text, what);
  } catch (const YAML::Exception& e) {
    throw RecipeError(what + ": line " + std::to_string(e.mark.line + 1) + ", column " +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return doc;
}

}  // namespace recipe_detail


Recipe::Recipe(YAML::Node root, std::vector<std::string> overrides)
    : root_(root.IsDefined() && !root.IsNull() ? YAML::Clone(root) : YAML::Node(YAML::NodeType::Map)),
      overrides_(std::move(overrides)) {
  if (!root_.IsMap()) throw RecipeError("a recipe must be a mapping at the top level");
}

bool Recipe::has(const std::string& path) const { return lookup(root_, split_path(path)).IsDefined(); }

YAML::Node Recipe::node(const std::string& path) const {
  YAML::Node n = lookup(root_, split_path(path));
  if (!n.IsDefined()) throw RecipeError(path + ": missing from the recipe");
  used_->insert(path);
  return YAML::Clone(n);
}

template <typename T>
T Recipe::get(const std::string& path) const {
  YAML::Node n = lookup(root_, split_path(path));
  if (!n.IsDefined()) throw RecipeError(path + ": missing from the recipe");
  used_->insert(path);
  return Convert<T>::from(n, path);
}

template <typename T>
T Recipe::get_or(const std::string& path, const T& fallback) const {
  YAML::Node n = lookup(root_, split_path(path));
  if (n.IsDefined()) used_->insert(path);
  if (!n.IsDefined() || n.IsNull()) return fallback;
  return Convert<T>::from(n, path);
}

void Recipe::mark_used(const std::set<std::string>& paths) {
  used_->insert(paths.begin(), paths.end());
  composed_ = true;
}

std::vector<std::string> Recipe::unread_keys() const {
  std::vector<std::string> out;
  if (!composed_) return out;
  recipe_detail::for_each_leaf(
      root_, [&](const std::string& path, const YAML::Node&) { out.push_back(path); },
      [this](const std::string& path) { return used_->count(path) > 0; });
  return out;
}

std::vector<std::string> Recipe::paths_ending_in(const std::string& key) const {
  return recipe_detail::paths_ending_in(root_, recipe_detail::split_path(key));
}

std::string Recipe::to_yaml() const { return recipe_detail::emit_yaml(root_); }

#define SG_RECIPE_INSTANTIATE(T)                          \
  template T Recipe::get<T>(const std::string&) const; \
  template T Recipe::get_or<T>(const std::string&, const T&) const;
SG_RECIPE_INSTANTIATE(bool)
SG_RECIPE_INSTANTIATE(int)
SG_RECIPE_INSTANTIATE(int64_t)
SG_RECIPE_INSTANTIATE(double)
SG_RECIPE_INSTANTIATE(std::string)
SG_RECIPE_INSTANTIATE(std::vector<int64_t>)
SG_RECIPE_INSTANTIATE(std::vector<double>)
SG_RECIPE_INSTANTIATE(std::vector<std::string>)
#undef SG_RECIPE_INSTANTIATE

StoredRecipe stored_recipe(const Recipe& recipe) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const std::string& o : recipe.overrides()) list.push_back(recipe_detail::make_string(o));
  return {recipe.to_yaml(), recipe_detail::emit_yaml(list)};
}

Recipe load_stored_recipe(const std::string& run_dir, const std::vector<std::string>& overrides) {
  const std::string config = run_dir + "/.hydra/config.yaml";
  struct stat st {};
  if (::stat(config.c_str(), &st) != 0)
    throw RecipeError("run '" + run_dir + "' has no stored recipe (" + config + ": " + std::strerror(errno) + ")");
  YAML::Node root = recipe_detail::load_yaml_file(config, "'" + config + "'");
  if (!root.IsDefined() || root.IsNull()) root.reset(YAML::Node(YAML::NodeType::Map));
  if (!root.IsMap()) throw RecipeError("'" + config + "': expected a mapping at the top level");

  std::vector<std::string> all;
  const std::string ovr = run_dir + "/.hydra/overrides.yaml";
  if (::stat(ovr.c_str(), &st) == 0) {
    YAML::Node list = recipe_detail::load_yaml_file(ovr, "'" + ovr + "'");
    if (list.IsDefined() && !list.IsNull()) {
      if (!list.IsSequence()) throw RecipeError("'" + ovr + "': expected a list of overrides");
      for (const YAML::Node& o : list) {
        if (!o.IsScalar()) throw RecipeError("'" + ovr + "': expected a list of strings");
        all.push_back(o.Scalar());
      }
    }
  }
  const std::string context = "stored recipe '" + config + "'";
  // SG's shortcuts were copied when the recipe was composed; an override of one sets both.
  const recipe_detail::Origins none;
  recipe_detail::apply_overrides(root, overrides, context, recipe_detail::lists_shortcuts_callback(root));
  recipe_detail::check_hydra_block(root, none, context);
  recipe_detail::resolve_interpolations(root, context);
  recipe_detail::evaluate_targets(root, none, context, true);
  all.insert(all.end(), overrides.begin(), overrides.end());
  return Recipe(root, all);
}

}  // namespace sg
