#pragma once
// SuperGradients-layout YAML recipes: Hydra-style `defaults:` composition, `a.b=c`
// overrides with SG's top-level shortcuts, and `${a.b}` references. No LibTorch here.
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

  const YAML::Node& root() const { return root_; }
  const std::vector<std::string>& overrides() const { return overrides_; }
  std::string to_yaml() const;

 private:
  YAML::Node root_;
  std::vector<std::string> overrides_;
};

// Composes the recipe: loads <name>.yaml from the first config dir that has it, applies
// its defaults list (groups arch_params, checkpoint_params, dataset_params,
// training_hyperparams, conversion_params; nested defaults inside group files; `_self_`
// ordering), applies overrides (unknown keys and wrong types are errors; `+key=value`
// adds a key), then resolves `${a.b}` references.
Recipe compose_recipe(const RecipeRequest& request);

// The built-in recipes folder (compiled-in source path, or SG_RECIPES_DIR if set).
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
