#pragma once
// What sg-train and sg-resume share: build the trainer, train, print the run directory
// last on stdout, and turn every failure into one line on stderr and an exit status.
#include <functional>
#include <string>

#include "sg/recipe.hpp"

namespace sg {

// Returns the process exit status (sg/exit_codes.hpp). Errors while making the recipe or
// the trainer (recipe, data, resume checkpoint) are input errors.
int run_training(const std::function<Recipe()>& make_recipe, const std::string& program);

}  // namespace sg
