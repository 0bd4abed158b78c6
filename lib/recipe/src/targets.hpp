#pragma once
// `_target_` mappings: Hydra would import and call the named Python object. Nothing is
// imported here; each target SG's classification recipes use is handled by a fixed list:
//   values, replaced by what the call returns:
//     super_gradients.training.sg_trainer.StrictLoad (also its home,
//       super_gradients.common.data_types.enum.strict_load.StrictLoad) {value: V}: V, one of
//       true, false, no_key_matching, key_matching (SG's enum values)
//     numpy.arange {start: 0, stop, step: 1}: the list numpy gives (integers when all three
//       are integers, else floats computed as numpy does: start + i * ((start + step) - start))
//     super_gradients.training.utils.utils.empty_list {}: []
//   objects, kept as the mapping for the program that builds them (or refuses them):
//     super_gradients.training.datasets.mixup.CollateMixup
// Any other `_target_` is an error naming the key, the target and the file that wrote it.
// Hydra's own `hydra:` block is not looked at here (hydra_block.hpp).
#include <string>

#include <yaml-cpp/yaml.h>

namespace sg::recipe_detail {

class Origins;

// Replaces value targets and checks the others. With `final` false, a value target whose
// arguments hold a `${}` is left for the pass after references are resolved (the first pass
// runs before overrides, so that `checkpoint_params.strict_load=off` replaces a string).
// Throws RecipeError prefixed with `context`.
void evaluate_targets(YAML::Node& root, const Origins& origins, const std::string& context, bool final);

}  // namespace sg::recipe_detail
