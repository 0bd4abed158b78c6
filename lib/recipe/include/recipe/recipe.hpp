#pragma once
// SuperGradients-layout YAML recipes: Hydra-style `defaults:` composition, `a.b=c`
// overrides with SG's top-level shortcuts, `${a.b}` references and SG's resolvers, and the
// `_target_` values SG's recipes use. No LibTorch here, and no Python: nothing is imported.
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace sg {

// A recipe problem; the message names the file and/or the key ("recipe
// 'cifar10_resnet': training_hyperparams.max_epochs: expected a number, got 'abc'").
class RecipeError : public std::runtime_error {
 public:
  explicit RecipeError(const std::string& what) : std::runtime_error(what) {}
};

struct RecipeRequest {
  std::string config_name;                 // "fashion_mnist_resnet" (".yaml" optional)
  std::vector<std::string> config_dirs;    // searched in order (user --config-dir first, then recipes/)
  std::vector<std::string> overrides;      // "training_hyperparams.max_epochs=3", "epochs=3", "+new.key=1"
};

// A fully composed and resolved recipe.
class Recipe {
 public:
  Recipe() = default;
  explicit Recipe(YAML::Node root, std::vector<std::string> overrides = {});

  // Typed access by dotted path; throw RecipeError naming the key when missing or of
  // the wrong type. `get_or` returns the fallback when the key is absent or null.
  bool has(const std::string& path) const;
  YAML::Node node(const std::string& path) const;
  template <typename T>
  T get(const std::string& path) const;
  template <typename T>
  T get_or(const std::string& path, const T& fallback) const;

  // What a program read: get, get_or and node mark their key read (node its whole subtree).
  // unread_keys() lists, in document order, the leaves (values, lists, empty mappings) that
  // were neither read nor, during composition, the source of a `${}` reference or of an SG
  // shortcut: the keys nothing acts on. Only a composed recipe (compose_recipe) lists any: one
  // rebuilt from a run's stored, resolved files has lost its references and lists none.
  // Copies of a Recipe share one record.
  std::vector<std::string> unread_keys() const;
  // The other places where the dotted `key` leads to a value, for a hint in a message:
  // "mixed_precision" -> {"training_hyperparams.mixed_precision"} (at most 3).
  std::vector<std::string> paths_ending_in(const std::string& key) const;
  void mark_used(const std::set<std::string>& paths);

  const YAML::Node& root() const { return root_; }
  const std::vector<std::string>& overrides() const { return overrides_; }
  std::string to_yaml() const;

 private:
  YAML::Node root_;
  std::vector<std::string> overrides_;
  std::shared_ptr<std::set<std::string>> used_ = std::make_shared<std::set<std::string>>();
  bool composed_ = false;   // set by mark_used, which compose_recipe calls
};

// Composes the recipe: loads <name>.yaml from the first config dir that has it, applies
// its defaults list (groups arch_params, checkpoint_params, dataset_params,
// training_hyperparams, conversion_params; nested defaults inside group files; `_self_`
// ordering), evaluates `_target_` values, applies overrides (unknown keys and wrong types
// are errors; `+key=value` adds a key), checks Hydra's `hydra:` block, copies SG's
// shortcuts, then resolves `${a.b}` references and resolver calls. SuperGradients' own
// recipe folder composes unchanged:
// - `hydra:` is checked and left out, but for `hydra.callbacks` (SG's shortcuts callback,
//   kept so that a stored recipe's overrides still set shortcuts with their keys);
//   `hydra.run.dir` must be SG's experiment folder and `hydra.searchpath` SG's recipes
//   (`pkg://super_gradients.recipes`, given here as a --config-dir); anything else there is
//   an error (src/hydra_block.hpp).
// - Resolvers: SG's add, mul, div, cond, getitem, first, last, len and OmegaConf's oc.env,
//   with SG's meaning and expressions nested in their arguments; `class`,
//   `roboflow_dataset_num_classes` and `hydra_output_dir` have no meaning here and are errors
//   naming the key and the file, as is any other resolver. Every value is resolved at
//   composition, as SG's trainer resolves the whole recipe before it starts
//   (src/resolvers.hpp).
// - `_target_`: StrictLoad, numpy.arange and empty_list become their values, SG's
//   CollateMixup stays a mapping for the program; any other target is an error naming the
//   key, the target and the file. Nothing is imported or run (src/targets.hpp).
// - Shortcuts: with SG's RecipeShortcutsCallback listed, `lr`, `batch_size`,
//   `val_batch_size`, `resume`, `epochs`, `ema` and `num_workers` at the top level are copied
//   to their keys, or filled from them when unset, as SG does (src/shortcuts.hpp); an
//   override of one sets both. Without it, an override of a shortcut name sets its keys
//   unless the recipe has a top-level key of that name.
Recipe compose_recipe(const RecipeRequest& request);

// The built-in recipes folder: $SG_RECIPES_DIR if set, else an installed copy's
// <prefix>/share/sg-checkpoint-toolkit/recipes beside <prefix>/bin, else the source tree's.
std::string builtin_recipes_dir();

// What a run directory keeps of its recipe (RunDirectory::store_recipe writes it):
// `.hydra/config.yaml`, the resolved recipe, and `.hydra/overrides.yaml`, the list of
// overrides, both as YAML text.
struct StoredRecipe {
  std::string config, overrides;
};
StoredRecipe stored_recipe(const Recipe& recipe);
// Rebuilds a run's recipe from its stored files, then applies further overrides.
Recipe load_stored_recipe(const std::string& run_dir, const std::vector<std::string>& overrides = {});

}  // namespace sg
