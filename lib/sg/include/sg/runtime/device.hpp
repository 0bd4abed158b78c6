#pragma once
// Where a model runs: the device choice, and mixed precision for a forward pass on it.
#include <string>

#include <torch/types.h>

namespace sg {

// "" -> CUDA when available, else CPU. Throws RecipeError naming
// training_hyperparams.device for an unknown or unavailable device.
torch::Device pick_device(const std::string& wanted);

// training_hyperparams.mixed_precision: SG's True is float16 autocast (with loss scaling)
// on CUDA and nothing on the CPU, where SG warns and trains in float32; with
// mixed_precision_dtype=bfloat16 it is bfloat16 autocast on either device, without loss scaling.
enum class MixedPrecision { off, float16, bfloat16 };

// Mixed precision for a forward pass, as above.
class Autocast {
 public:
  Autocast(MixedPrecision mode, const torch::Device& device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool enabled_, cuda_;
};

}  // namespace sg
