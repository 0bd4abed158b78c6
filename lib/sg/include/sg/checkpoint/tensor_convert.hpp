#pragma once
// Conversion between LibTorch objects and lib/pth values: how our programs save and load.
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "pth/value.hpp"

namespace sg {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// A module's state dict in exactly PyTorch's order: for each module in pre-order, its own
// parameters, then its own buffers, then its children's entries. Tensors are shared with
// the module (not copied).
NamedTensors state_dict(const torch::nn::Module& module);

// A tensor as a pth value. A CPU tensor is referenced in place (the pth storage keeps
// the torch tensor alive, nothing is copied); other devices are copied to the CPU first.
pth::Value to_pth(const torch::Tensor& tensor);

// Named tensors as a collections.OrderedDict, as `module.state_dict()` pickles.
pth::Value to_pth_state_dict(const NamedTensors& tensors);

// A pth tensor as a new CPU tensor with its own data (a copy, so the file can go away).
// Throws pth::FormatError for dtypes LibTorch lacks.
torch::Tensor to_torch(const pth::Tensor& tensor);
// The same for many tensors, copied on several threads (a checkpoint's worth at once).
std::vector<torch::Tensor> to_torch_all(const std::vector<const pth::Tensor*>& tensors);

torch::ScalarType to_torch_dtype(pth::DType dtype);
pth::DType to_pth_dtype(torch::ScalarType type);

}  // namespace sg
