#pragma once
// Reading a training loader's collate_fn (internal to lib/sg, called by data_config.cpp).
#include <optional>
#include <string>

#include "recipe/recipe.hpp"
#include "sg/data/mixup.hpp"

namespace sg {

// `key` (e.g. dataset_params.train_dataloader_params.collate_fn) as SG's CollateMixup in any
// of the forms SG builds it from: Hydra's `{_target_: super_gradients.training.datasets.mixup.CollateMixup,
// ...}`, or its collate-function factory's `CollateMixup` and `{CollateMixup: {...}}`; null or
// absent: none. SG's defaults where a parameter is absent; anything else is a RecipeError naming the key.
std::optional<MixupOptions> read_collate_fn(const Recipe& recipe, const std::string& key);

}  // namespace sg
