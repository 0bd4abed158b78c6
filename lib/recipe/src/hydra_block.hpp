#pragma once
// Hydra's own settings, the recipe's top-level `hydra:` block. Hydra keeps it out of the
// job's config (SG's .hydra/config.yaml has no `hydra` key); the composed recipe keeps only
// `hydra.callbacks`, so that a stored recipe's overrides still treat SG's shortcuts as SG
// does. What SG's recipes write there is accepted:
//   hydra.callbacks.<name>: {_target_: super_gradients.common.environment.omegaconf_utils.
//     RecipeShortcutsCallback}, the only callback: SG's shortcuts are copied as it does
//     (shortcuts.hpp); kept
//   hydra.run.dir: SG's `${hydra_output_dir:${ckpt_root_dir}, ${experiment_name}}`, the
//     experiment folder, where the trainer makes the run directory and its .hydra/; not
//     evaluated, dropped
//   hydra.searchpath: `pkg://super_gradients.recipes`, SG's recipes folder, which is found
//     here as a --config-dir (recipe folders are searched in the order given); dropped
// Anything else in the block is an error naming the key: it would change what Hydra does,
// and nothing here would do it.
#include <string>

#include <yaml-cpp/yaml.h>

namespace sg::recipe_detail {

class Origins;

// Checks `hydra` and removes all of it but its callbacks (the whole block when it has none);
// true when it lists SG's shortcuts callback. Throws RecipeError prefixed with `context`.
bool check_hydra_block(YAML::Node& root, const Origins& origins, const std::string& context);
// Whether `hydra.callbacks` lists SG's shortcuts callback, the rest unchecked (before the
// overrides, which may change the block).
bool lists_shortcuts_callback(const YAML::Node& root);

}  // namespace sg::recipe_detail
