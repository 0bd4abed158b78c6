// Hydra-style composition of a recipe from its `defaults:` list.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "bounds.hpp"
#include "pth/message.hpp"
#include "pth/program_folder.hpp"
#include "hydra_block.hpp"
#include "origins.hpp"
#include "recipe_detail.hpp"
#include "recipe_folders.hpp"
#include "shortcuts.hpp"
#include "targets.hpp"

namespace fs = std::filesystem;

namespace sg {
namespace {

using recipe_detail::deep_merge;
using recipe_detail::kMaxComposedFiles;
using recipe_detail::kMaxDepth;
using recipe_detail::lookup;
using recipe_detail::outside_reason;
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

const char* const kStayInside = "; names must stay inside the recipe folders";

// The values an override sets were not written by a recipe file.
void forget_overridden(recipe_detail::Origins& origins, const std::string& override_text) {
  std::string key = override_text.substr(0, override_text.find('='));
  key.erase(0, key.find_first_not_of("+~"));
  origins.forget(key);
  if (const recipe_detail::Shortcut* s = recipe_detail::find_shortcut(key))
    for (const char* target : s->targets) origins.forget(target);
}

// A `group=option` override that may select a defaults option.
struct Choice {
  std::string option;
  std::string override_text;
};

class Composer {
 public:
  Composer(std::string recipe_name, std::vector<std::string> dirs, std::map<std::string, Choice> choices)
      : name_(std::move(recipe_name)), folders_(std::move(dirs)), choices_(std::move(choices)) {}

  YAML::Node compose() {
    const std::string rel = name_ + ".yaml";
    try {
      file_ = folders_.find(rel);
    } catch (const RecipeError& e) {
      throw RecipeError("recipe '" + name_ + "': " + e.what());
    }
    if (file_.empty()) throw RecipeError("recipe '" + name_ + "' not found in " + folders_.list() + " (looked for " + rel + ")");
    origins_ = recipe_detail::Origins(file_);
    return compose_file(file_, "", 0, true, origins_);
  }

  const std::string& file() const { return file_; }
  const std::set<std::string>& used_choices() const { return used_; }
  // Where the values evaluated after composition were written.
  recipe_detail::Origins& origins() { return origins_; }

 private:
  // `name`, written in `file` as (part of) defaults entry `entry`, names a path inside the
  // recipe folders.
  static void require_inside(const std::string& name, const std::string& file, const std::string& entry) {
    const std::string why = outside_reason(name);
    if (!why.empty())
      throw RecipeError("recipe file '" + file + "': defaults entry " + pth::quoted(entry) + ": " + pth::quoted(name) +
                        " " + why + kStayInside);
  }

  std::string find_listed(const std::string& rel, const std::string& file, const std::string& entry) const {
    try {
      return folders_.find(rel);
    } catch (const RecipeError& e) {
      throw RecipeError("recipe file '" + file + "': defaults entry " + pth::quoted(entry) + ": " + e.what());
    }
  }

  // The option a primary recipe's group entry selects: an override's, else the file's own.
  std::string chosen_option(const std::string& key, const YAML::Node& value, bool primary, const std::string& file,
                            const std::string& entry) {
    if (primary && choices_.count(key)) {
      const Choice& choice = choices_.at(key);
      const std::string why = outside_reason(choice.option);
      if (!why.empty())
        throw RecipeError("override " + pth::quoted(choice.override_text) + ": " + pth::quoted(choice.option) + " " +
                          why + kStayInside);
      used_.insert(key);
      return choice.option;
    }
    if (value.IsNull()) return "";
    if (!value.IsScalar())
      throw RecipeError("recipe file '" + file + "': defaults entry '" + key + "' must name one option");
    require_inside(strip_yaml_ext(value.Scalar()), file, entry);
    return value.Scalar();
  }

  // Composes one file. `group` is the file's config group ("" for a primary config,
  // "training_hyperparams" for a group option) and `depth` how many keys deep its result is
  // placed in the recipe; the result, and the `origins` recorded, are relative to that package.
  YAML::Node compose_file(const std::string& file, const std::string& group, std::size_t depth, bool primary,
                          recipe_detail::Origins& origins) {
    const std::string what = "recipe file '" + file + "'";
    if (++loads_ > kMaxComposedFiles)
      throw RecipeError(what + ": the defaults lists load more than " + std::to_string(kMaxComposedFiles) +
                        " files (a file listed again counts again)");
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

    YAML::Node doc = recipe_detail::load_yaml_file(file, what);
    if (!doc.IsDefined() || doc.IsNull()) doc.reset(YAML::Node(YAML::NodeType::Map));
    if (!doc.IsMap()) throw RecipeError(what + ": expected a mapping at the top level");
    const recipe_detail::TreeSize size = recipe_detail::measure(doc);
    if (depth + size.depth > kMaxDepth)
      throw RecipeError(what + ": placed " + std::to_string(depth) + " keys deep, it nests more than " +
                        std::to_string(kMaxDepth) + " levels deep");
    budget_.add(size, [&] { return what; });

    YAML::Node defaults = lookup(doc, {"defaults"});
    YAML::Node own = YAML::Clone(doc);
    recipe_detail::remove_child(own, "defaults");

    YAML::Node result(YAML::NodeType::Map);
    bool self_done = false;
    if (defaults.IsDefined() && !defaults.IsNull()) {
      if (!defaults.IsSequence()) throw RecipeError(what + ": 'defaults' must be a list");
      for (const YAML::Node& entry : defaults) {
        if (entry.IsScalar()) {
          const std::string name = strip_yaml_ext(entry.Scalar());
          if (name == "_self_") {
            if (self_done) throw RecipeError(what + ": '_self_' listed twice in defaults");
            deep_merge(result, own);
            origins.record("", own, file);
            self_done = true;
            continue;
          }
          require_inside(name, file, entry.Scalar());
          // Another config of the same folder/group, merged at this file's level.
          const std::string rel = (group.empty() ? "" : group + "/") + name + ".yaml";
          const std::string sub_file = find_listed(rel, file, entry.Scalar());
          if (sub_file.empty())
            throw RecipeError((group.empty() ? "recipe '" : group + " '") + name + "' not found in " + folders_.list() +
                              " (looked for " + rel + ", listed in defaults of " + file + ")");
          recipe_detail::Origins sub_origins;
          YAML::Node sub = compose_file(sub_file, group, depth, false, sub_origins);
          deep_merge(result, sub);
          origins.merge("", sub_origins);
        } else if (entry.IsMap() && entry.size() == 1) {
          auto kv = entry.begin();
          const YAML::Node value = kv->second;  // a copy: kv-> is a temporary proxy
          const std::string shown = kv->first.Scalar() + ": " + (value.IsScalar() ? value.Scalar() : "...");
          std::string key = trim(kv->first.Scalar());
          bool optional = false;
          if (key.rfind("optional ", 0) == 0) {
            optional = true;
            key = trim(key.substr(9));
          }
          if (key.rfind("override ", 0) == 0 || key.find('@') != std::string::npos)
            throw RecipeError(what + ": unsupported defaults entry '" + kv->first.Scalar() + "'");
          require_inside(key, file, shown);
          const std::string option = strip_yaml_ext(chosen_option(key, value, primary, file, shown));
          if (option.empty()) continue;  // `- group: null`: nothing selected
          const std::string group_path = group.empty() ? key : group + "/" + key;
          const std::string rel = group_path + "/" + option + ".yaml";
          const std::string sub_file = find_listed(rel, file, shown);
          if (sub_file.empty()) {
            if (optional) continue;
            throw RecipeError(group_path + " '" + option + "' not found in " + folders_.list() + " (looked for " + rel +
                              ", listed in defaults of " + file + ")");
          }
          const std::vector<std::string> parts = split_path(key, '/');
          recipe_detail::Origins sub_origins;
          YAML::Node sub = compose_file(sub_file, group_path, depth + parts.size(), false, sub_origins);
          // Place under the group's key (a nested group path "a/b" becomes a.b).
          YAML::Node placed = sub;
          for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
            YAML::Node wrapper(YAML::NodeType::Map);
            wrapper[*it] = placed;
            placed.reset(wrapper);  // rebind; `placed = wrapper` would write through
          }
          deep_merge(result, placed);
          origins.merge(recipe_detail::join_path(parts), sub_origins);
        } else {
          throw RecipeError(what + ": bad defaults entry (expected 'name', '_self_' or 'group: option')");
        }
      }
    }
    if (!self_done) {  // Hydra >= 1.1: _self_ last by default
      deep_merge(result, own);
      origins.record("", own, file);
    }
    stack_.pop_back();
    return result;
  }

  std::string name_;
  recipe_detail::RecipeFolders folders_;
  std::map<std::string, Choice> choices_;
  std::string file_;
  std::set<std::string> used_;
  std::vector<std::string> stack_;
  std::size_t loads_ = 0;
  recipe_detail::Origins origins_;
  recipe_detail::SizeBudget budget_;  // of every file composed: at least what the recipe holds
};

}  // namespace

Recipe compose_recipe(const RecipeRequest& request) {
  std::string name = strip_yaml_ext(request.config_name);
  if (name.empty()) throw RecipeError("no recipe name given");
  const std::string why = outside_reason(name);
  if (!why.empty()) throw RecipeError("recipe " + pth::quoted(name) + ": the name " + why + kStayInside);
  std::vector<std::string> dirs = request.config_dirs;
  if (dirs.empty()) dirs.push_back(builtin_recipes_dir());

  // `group=option` overrides (no dots, no prefix, plain value) may select a defaults
  // option, as in Hydra (`dataset_params=cifar10_dataset_params`).
  std::map<std::string, Choice> choices;
  for (const std::string& o : request.overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    const std::string key = o.substr(0, eq), value = o.substr(eq + 1);
    if (key.find_first_of(".+~") != std::string::npos || value.empty() ||
        value.find_first_of("[]{}:,'\" ") != std::string::npos)
      continue;
    choices[key] = {value, o};
  }

  Composer composer(name, dirs, choices);
  YAML::Node root = composer.compose();

  std::vector<std::string> remaining;
  for (const std::string& o : request.overrides) {
    auto eq = o.find('=');
    if (eq != std::string::npos && composer.used_choices().count(o.substr(0, eq))) continue;
    remaining.push_back(o);
  }
  const std::string context = "recipe '" + name + "' (" + composer.file() + ")";
  recipe_detail::Origins& origins = composer.origins();
  recipe_detail::evaluate_targets(root, origins, context, false);
  for (const std::string& o : remaining) forget_overridden(origins, o);
  recipe_detail::apply_overrides(root, remaining, context, recipe_detail::lists_shortcuts_callback(root));
  std::set<std::string> used;   // values that went elsewhere: shortcuts copied, references read
  if (recipe_detail::check_hydra_block(root, origins, context)) {
    recipe_detail::apply_sg_shortcuts(root, context);
    for (const auto& s : recipe_detail::shortcuts()) used.insert(s.name);
  }
  recipe_detail::resolve_interpolations(root, context, &origins, &used);
  recipe_detail::evaluate_targets(root, origins, context, true);
  Recipe recipe(root, request.overrides);
  recipe.mark_used(used);
  return recipe;
}

std::string builtin_recipes_dir() {
  const char* env = std::getenv("SG_RECIPES_DIR");
  if (env && *env) return env;
  if (const std::string bin = pth::program_folder(); !bin.empty()) {
    const std::string installed = bin + "/" SG_INSTALLED_RECIPES_FROM_BINDIR;
    std::error_code ec;
    if (std::filesystem::is_directory(installed, ec)) return installed;
  }
  return SG_SOURCE_RECIPES_DIR;
}

}  // namespace sg
