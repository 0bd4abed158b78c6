#pragma once
// Reading dataset_params (internal to lib/sg; TrainingConfig::data is its result).
#include <cstdint>

#include "recipe/recipe.hpp"
#include "sg/train/train_config.hpp"

namespace sg {

DataConfig read_data_config(const Recipe& recipe, uint64_t seed);

}  // namespace sg
