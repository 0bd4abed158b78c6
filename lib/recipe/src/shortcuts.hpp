#pragma once
// SG's top-level shortcuts (`epochs`, `lr`, ...) and the keys they stand for, in the order
// SG's RecipeShortcutsCallback copies them.
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace sg::recipe_detail {

struct Shortcut {
  const char* name;
  std::vector<const char*> targets;  // dotted paths
};

const std::vector<Shortcut>& shortcuts();
// The shortcut called `name`, or nullptr.
const Shortcut* find_shortcut(const std::string& name);

// What SG's RecipeShortcutsCallback does once a recipe is composed (SG's variable_setup.yaml
// lists it in hydra.callbacks): for each shortcut and each of its keys in turn, a shortcut
// that is set (after its references are resolved) is copied into the key, else the key's
// resolved value is copied into the shortcut. As in SG, with `num_workers` unset the
// validation loader's num_workers becomes the training loader's. The shortcut and its keys
// must be in the recipe. Throws RecipeError prefixed with `context`.
void apply_sg_shortcuts(YAML::Node& root, const std::string& context);

}  // namespace sg::recipe_detail
