#pragma once
// What sg-train and sg-resume share: train, print the run directory last on stdout, and
// turn every failure into one line on stderr and an exit status.
#include <functional>
#include <string>

#include "recipe/recipe.hpp"
#include "sg/train/training.hpp"

namespace common {

// The footer of their --help: what each exit status means.
extern const char* const kTrainingExitStatus;

// Trains the recipe `make_recipe` makes, with stop signals handled (sg/train/stop_signal.hpp).
// Returns the exit status (common/exit_codes.hpp): a failure while making the recipe or
// preparing the run (recipe, data, resume checkpoint) is an input error.
int run_training(const std::function<sg::Recipe()>& make_recipe, const sg::TrainingOptions& options,
                 const std::string& program);

}  // namespace common
