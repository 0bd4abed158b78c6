#pragma once
// The resolvers a recipe may call, `${name:arg,...}`: OmegaConf's oc.env and those SG
// registers for its recipes (super_gradients/common/environment/omegaconf_utils.py), with
// SG's meaning:
//   add: sum of the arguments       mul: their product        div: x / y (always a float)
//   cond: x if b else y (Python truthiness of b)              getitem: container[key]
//   first / last: a list's first / last item                  len: items of a list or
//   mapping, characters of a string
// Numbers follow Python: integers stay integers (int64, overflow is an error), a float
// anywhere makes a float. SG's other resolvers have no meaning here and are errors when a
// value calls them: `class` (a Python class), `roboflow_dataset_num_classes` (SG's Roboflow
// table) and `hydra_output_dir` (the run directory is the trainer's; SG's hydra.run.dir,
// which calls it, is accepted without calling it, see hydra_block.hpp).
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace sg::recipe_detail {

// The value of resolver `name` on `args` (already resolved). Throws RecipeError with the
// reason only ("div takes 2 arguments, got 1"); the caller adds the key and expression.
YAML::Node call_resolver(const std::string& name, const std::vector<YAML::Node>& args);

}  // namespace sg::recipe_detail
