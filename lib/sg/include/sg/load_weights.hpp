#pragma once
// Copying a checkpoint's state dict into a live module.
#include <stdexcept>
#include <string>

#include <torch/nn/module.h>

#include "pth/value.hpp"

namespace sg {

// The checkpoint does not fit the model; the message lists what differs.
class WeightsMismatch : public std::runtime_error {
 public:
  explicit WeightsMismatch(const std::string& what) : std::runtime_error(what) {}
};

// Copies a checkpoint tensor into a live one of the same shape, converting the dtype
// (straight from the file with pread when the target is a contiguous CPU tensor).
void copy_tensor_into(torch::Tensor& target, const pth::Tensor& source);

// Strict load: every parameter and buffer of `module` must be in `state_dict` (a dict of
// name -> tensor; a `module.` prefix on every key is stripped, as SG does) with the same
// shape, and nothing else may be there. Data is copied in place (from the file with pread
// for CPU tensors); dtypes are converted to the module's. Throws WeightsMismatch naming
// the missing, unexpected and mis-shaped keys.
void load_state_dict(torch::nn::Module& module, const pth::Value& state_dict);

}  // namespace sg
