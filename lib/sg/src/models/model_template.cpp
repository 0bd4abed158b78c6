#include "sg/models/model_template.hpp"

#include <torch/utils.h>

#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/models/model.hpp"

namespace sg {

pth::Value model_template(const std::string& architecture, const ModelOptions& options, uint64_t seed) {
  torch::manual_seed(seed);
  return to_pth_state_dict(state_dict(*create_model(architecture, options)));
}

}  // namespace sg
