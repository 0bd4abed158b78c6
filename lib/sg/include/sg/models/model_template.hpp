#pragma once
// A freshly built model's state dict, the key/shape template that sg-ckpt-adapt --model
// matches checkpoints against. No LibTorch in this header.
#include <cstdint>
#include <string>

#include "pth/value.hpp"
#include "sg/models/model_options.hpp"

namespace sg {

// The state dict (an OrderedDict in PyTorch's key order, as torch.save writes
// `model.state_dict()`) of `architecture` built with `options`, its initial weights drawn
// from `seed`. Throws std::invalid_argument as create_model does.
pth::Value model_template(const std::string& architecture, const ModelOptions& options, uint64_t seed);

}  // namespace sg
