#pragma once
// The learning-rate part of training_hyperparams, read by read_training_config.
#include "recipe/recipe.hpp"
#include "sg/train/train_config.hpp"

namespace sg {

// Fills config.lr, config.torch_scheduler and config.torch_scheduler_params from the
// recipe (config.max_epochs already read); throws RecipeError naming the key.
void read_schedule(const Recipe& recipe, TrainingConfig& config);

}  // namespace sg
