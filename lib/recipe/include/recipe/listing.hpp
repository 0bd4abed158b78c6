#pragma once
// What the recipe folders offer and what a composed recipe holds, one item per line: for
// --list-recipes, --list-keys and the shell completion built on them.
#include <string>
#include <vector>

#include "recipe/recipe.hpp"

namespace sg {

// The names --config-name takes: the top-level `<name>.yaml` files of the folders, sorted,
// each once.
std::vector<std::string> recipe_names(const std::vector<std::string>& dirs);

// Every leaf of the recipe (a value, a list, an empty mapping) as the override that would
// set it to what it is: "training_hyperparams.max_epochs=5", in document order.
std::vector<std::string> recipe_overrides(const Recipe& recipe);

}  // namespace sg
