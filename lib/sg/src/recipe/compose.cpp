// Hydra-style composition of a recipe from its `defaults:` list.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "recipe/recipe_detail.hpp"

namespace fs = std::filesystem;

namespace sg {
namespace {

using recipe_detail::deep_merge;
using recipe_detail::lookup;
using recipe_detail::split_path;

std::string strip_yaml_ext(std::string name) {
  if (name.size() > 5 && name.compare(name.size() - 5, 5, ".yaml") == 0) name.resize(name.size() - 5);
  return name;
}

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

class Composer {
 public:
  Composer(std::string recipe_name, std::vector<std::string> dirs, std::map<std::string, std::string> choices)
      : name_(std::move(recipe_name)), dirs_(std::move(dirs)), choices_(std::move(choices)) {}

  YAML::Node compose() {
    const std::string rel = name_ + ".yaml";
    std::string file = find(rel);
    if (file.empty()) throw RecipeError("recipe '" + name_ + "' not found in " + dir_list() + " (looked for " + rel + ")");
    return compose_file(file, "", true);
  }

  const std::set<std::string>& used_choices() const { return used_; }

 private:
  std::string dir_list() const {
    std::string out;
    for (std::size_t i = 0; i < dirs_.size(); ++i) out += (i ? ", " : "") + dirs_[i];
    return out;
  }

  std::string find(const std::string& rel) const {
    for (const std::string& dir : dirs_) {
      fs::path p = fs::path(dir) / rel;
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
    return "";
  }

  // Composes one file. `group` is the file's config group ("" for a primary config,
  // "training_hyperparams" for a group option); the result is relative to that package.
  YAML::Node compose_file(const std::string& file, const std::string& group, bool primary) {
    std::error_code ec;
    std::string canon = fs::weakly_canonical(fs::path(file), ec).string();
    if (ec) canon = file;
    for (std::size_t i = 0; i < stack_.size(); ++i) {
      if (stack_[i] != canon) continue;
      std::string chain;
      for (std::size_t j = i; j < stack_.size(); ++j) chain += stack_[j] + " -> ";
      throw RecipeError("defaults cycle: " + chain + canon);
    }
    stack_.push_back(canon);

    YAML::Node doc = recipe_detail::load_yaml_file(file, "recipe file '" + file + "'");
    if (!doc.IsDefined() || doc.IsNull()) doc.reset(YAML::Node(YAML::NodeType::Map));
    if (!doc.IsMap()) throw RecipeError("recipe file '" + file + "': expected a mapping at the top level");

    YAML::Node defaults = lookup(doc, {"defaults"});
    YAML::Node own = YAML::Clone(doc);
    recipe_detail::remove_child(own, "defaults");

    YAML::Node result(YAML::NodeType::Map);
    bool self_done = false;
    if (defaults.IsDefined() && !defaults.IsNull()) {
      if (!defaults.IsSequence()) throw RecipeError("recipe file '" + file + "': 'defaults' must be a list");
      for (const YAML::Node& entry : defaults) {
        if (entry.IsScalar()) {
          const std::string name = strip_yaml_ext(entry.Scalar());
          if (name == "_self_") {
            if (self_done) throw RecipeError("recipe file '" + file + "': '_self_' listed twice in defaults");
            deep_merge(result, own);
            self_done = true;
            continue;
          }
          // Another config of the same folder/group, merged at this file's level.
          const std::string rel = (group.empty() ? "" : group + "/") + name + ".yaml";
          const std::string sub_file = find(rel);
          if (sub_file.empty())
            throw RecipeError((group.empty() ? "recipe '" : group + " '") + name + "' not found in " + dir_list() +
                              " (looked for " + rel + ", listed in defaults of " + file + ")");
          YAML::Node sub = compose_file(sub_file, group, false);
          deep_merge(result, sub);
        } else if (entry.IsMap() && entry.size() == 1) {
          auto kv = entry.begin();
          std::string key = trim(kv->first.Scalar());
          bool optional = false;
          if (key.rfind("optional ", 0) == 0) {
            optional = true;
            key = trim(key.substr(9));
          }
          if (key.empty() || key.rfind("override ", 0) == 0 || key[0] == '/' || key.find('@') != std::string::npos)
            throw RecipeError("recipe file '" + file + "': unsupported defaults entry '" + kv->first.Scalar() + "'");
          const YAML::Node value = kv->second;  // a copy: kv-> is a temporary proxy
          std::string option;
          if (primary && choices_.count(key)) {
            option = choices_.at(key);
            used_.insert(key);
          } else if (value.IsNull()) {
            continue;  // `- group: null`: nothing selected
          } else if (value.IsScalar()) {
            option = value.Scalar();
          } else {
            throw RecipeError("recipe file '" + file + "': defaults entry '" + key + "' must name one option");
          }
          option = strip_yaml_ext(option);
          const std::string group_path = group.empty() ? key : group + "/" + key;
          const std::string rel = group_path + "/" + option + ".yaml";
          const std::string sub_file = find(rel);
          if (sub_file.empty()) {
            if (optional) continue;
            throw RecipeError(group_path + " '" + option + "' not found in " + dir_list() + " (looked for " + rel +
                              ", listed in defaults of " + file + ")");
          }
          YAML::Node sub = compose_file(sub_file, group_path, false);
          // Place under the group's key (a nested group path "a/b" becomes a.b).
          YAML::Node placed = sub;
          const std::vector<std::string> parts = split_path(key, '/');
          for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
            YAML::Node wrapper(YAML::NodeType::Map);
            wrapper[*it] = placed;
            placed.reset(wrapper);  // rebind; `placed = wrapper` would write through
          }
          deep_merge(result, placed);
        } else {
          throw RecipeError("recipe file '" + file + "': bad defaults entry (expected 'name', '_self_' or 'group: option')");
        }
      }
    }
    if (!self_done) deep_merge(result, own);  // Hydra >= 1.1: _self_ last by default
    stack_.pop_back();
    return result;
  }

  std::string name_;
  std::vector<std::string> dirs_;
  std::map<std::string, std::string> choices_;
  std::set<std::string> used_;
  std::vector<std::string> stack_;
};

}  // namespace

Recipe compose_recipe(const RecipeRequest& request) {
  std::string name = strip_yaml_ext(request.config_name);
  if (name.empty()) throw RecipeError("no recipe name given");
  std::vector<std::string> dirs = request.config_dirs;
  if (dirs.empty()) dirs.push_back(builtin_recipes_dir());

  // `group=option` overrides (no dots, no prefix, plain value) may select a defaults
  // option, as in Hydra (`dataset_params=cifar10_dataset_params`).
  std::map<std::string, std::string> choices;
  for (const std::string& o : request.overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    const std::string key = o.substr(0, eq), value = o.substr(eq + 1);
    if (key.find_first_of(".+~") != std::string::npos || value.empty() ||
        value.find_first_of("[]{}:,'\" ") != std::string::npos)
      continue;
    choices[key] = value;
  }

  Composer composer(name, dirs, choices);
  YAML::Node root = composer.compose();

  std::vector<std::string> remaining;
  for (const std::string& o : request.overrides) {
    auto eq = o.find('=');
    if (eq != std::string::npos && composer.used_choices().count(o.substr(0, eq))) continue;
    remaining.push_back(o);
  }
  const std::string context = "recipe '" + name + "'";
  recipe_detail::apply_overrides(root, remaining, context);
  recipe_detail::resolve_interpolations(root, context);
  return Recipe(root, request.overrides);
}

std::string builtin_recipes_dir() {
  const char* env = std::getenv("SG_RECIPES_DIR");
  if (env && *env) return env;
#ifdef SG_SOURCE_RECIPES_DIR
  return SG_SOURCE_RECIPES_DIR;
#else
  return "recipes";
#endif
}

}  // namespace sg
