// The `hydra:` block of SG's recipes: checked; only its callbacks are kept.
#include "hydra_block.hpp"

#include <algorithm>

#include "origins.hpp"
#include "recipe_detail.hpp"

namespace sg::recipe_detail {
namespace {

const char* const kShortcutsCallback = "super_gradients.common.environment.omegaconf_utils.RecipeShortcutsCallback";
const char* const kRunDir = "${hydra_output_dir:${ckpt_root_dir},${experiment_name}}";  // without spaces
const char* const kSgRecipes = "pkg://super_gradients.recipes";

std::string without_spaces(std::string text) {
  text.erase(std::remove_if(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t'; }), text.end());
  return text;
}

class HydraBlock {
 public:
  HydraBlock(const Origins& origins) : origins_(origins) {}

  // True when SG's shortcuts callback is listed.
  bool check(const YAML::Node& block) {
    bool shortcuts = false;
    if (block.IsNull()) return false;
    if (!block.IsMap()) fail("hydra", "expected a mapping");
    for (const auto& kv : block) {
      const std::string key = kv.first.Scalar();
      const YAML::Node value = kv.second;
      if (key == "callbacks") {
        shortcuts = callbacks(value) || shortcuts;
      } else if (key == "run") {
        run(value);
      } else if (key == "searchpath") {
        searchpath(value);
      } else {
        fail("hydra." + key, "not supported (accepted in hydra: callbacks, run.dir, searchpath)");
      }
    }
    return shortcuts;
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw RecipeError(key + ": " + why + origins_.written_in(key));
  }

  bool callbacks(const YAML::Node& list) {
    if (list.IsNull()) return false;
    if (!list.IsMap()) fail("hydra.callbacks", "expected a mapping of callbacks");
    for (const auto& kv : list) {
      const std::string key = "hydra.callbacks." + kv.first.Scalar();
      const YAML::Node target = lookup(kv.second, {"_target_"});
      if (!kv.second.IsMap() || kv.second.size() != 1 || !target.IsScalar() || target.Scalar() != kShortcutsCallback)
        fail(key, std::string("the only Hydra callback accepted is SG's {_target_: ") + kShortcutsCallback + "}");
    }
    return list.size() > 0;
  }

  void run(const YAML::Node& run) {
    if (run.IsNull()) return;
    if (!run.IsMap()) fail("hydra.run", "expected a mapping");
    for (const auto& kv : run) {
      const std::string key = "hydra.run." + kv.first.Scalar();
      if (kv.first.Scalar() != "dir") fail(key, "not supported (accepted in hydra.run: dir)");
      if (!kv.second.IsScalar() || without_spaces(kv.second.Scalar()) != kRunDir)
        fail(key, "only SG's '${hydra_output_dir:${ckpt_root_dir}, ${experiment_name}}' is accepted: runs are "
                  "written to <ckpt_root_dir>/<experiment_name>/RUN_<id>/, .hydra/ inside");
    }
  }

  void searchpath(const YAML::Node& list) {
    if (list.IsNull()) return;
    if (!list.IsSequence()) fail("hydra.searchpath", "expected a list");
    for (std::size_t i = 0; i < list.size(); ++i)
      if (!list[i].IsScalar() || list[i].Scalar() != kSgRecipes)
        fail("hydra.searchpath." + std::to_string(i),
             std::string("only '") + kSgRecipes + "' is accepted (SG's recipes, given as a --config-dir); give other " +
                 "recipe folders as --config-dir");
  }

  const Origins& origins_;
};

}  // namespace

bool check_hydra_block(YAML::Node& root, const Origins& origins, const std::string& context) {
  YAML::Node block = lookup(root, {"hydra"});
  if (!block.IsDefined()) return false;
  bool shortcuts = false;
  try {
    shortcuts = HydraBlock(origins).check(block);
  } catch (const RecipeError& e) {
    throw RecipeError(context + ": " + e.what());
  }
  if (!shortcuts) {
    remove_child(root, "hydra");
  } else {
    remove_child(block, "run");
    remove_child(block, "searchpath");
  }
  return shortcuts;
}

bool lists_shortcuts_callback(const YAML::Node& root) {
  const YAML::Node callbacks = lookup(root, {"hydra", "callbacks"});
  if (!callbacks.IsMap()) return false;
  for (const auto& kv : callbacks) {
    const YAML::Node target = lookup(kv.second, {"_target_"});
    if (target.IsScalar() && target.Scalar() == kShortcutsCallback) return true;
  }
  return false;
}

}  // namespace sg::recipe_detail
