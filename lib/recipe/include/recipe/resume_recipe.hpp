#pragma once
// SG's resume_experiment: a run is rebuilt from the recipe stored in its run directory
// (not the recipe files as they are now), then continued in place.
#include <string>
#include <vector>

#include "recipe/recipe.hpp"

namespace sg {

// The stored recipe of <ckpt_root_dir>/<experiment>/<run_id> (the latest run holding
// ckpt_latest.pth when run_id is empty), with `overrides` applied and set to continue
// that run. Throws RecipeError naming what is missing.
Recipe resume_recipe(const std::string& ckpt_root_dir, const std::string& experiment_name, const std::string& run_id,
                     const std::vector<std::string>& overrides);

}  // namespace sg
