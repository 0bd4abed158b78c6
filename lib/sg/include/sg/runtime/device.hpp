#pragma once
// Where a model runs: the device choice, and mixed precision for a forward pass on it.
#include <string>

#include <torch/types.h>

namespace sg {

// "" -> CUDA when available, else CPU. Throws RecipeError naming
// training_hyperparams.device for an unknown or unavailable device.
torch::Device pick_device(const std::string& wanted);

// Mixed precision for a forward pass: float16 autocast on CUDA, bfloat16 on the CPU.
class Autocast {
 public:
  Autocast(bool enabled, const torch::Device& device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool enabled_, cuda_;
};

}  // namespace sg
