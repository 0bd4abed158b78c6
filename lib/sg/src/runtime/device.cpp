#include "sg/runtime/device.hpp"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include "recipe/recipe.hpp"

namespace sg {

torch::Device pick_device(const std::string& wanted) {
  if (wanted.empty()) return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  try {
    torch::Device device(wanted);
    if (device.is_cuda() && !torch::cuda::is_available())
      throw RecipeError("training_hyperparams.device: '" + wanted + "' requested but CUDA is not available");
    return device;
  } catch (const c10::Error&) {
    throw RecipeError("training_hyperparams.device: unknown device '" + wanted + "'");
  }
}

Autocast::Autocast(MixedPrecision mode, const torch::Device& device)
    : enabled_(mode == MixedPrecision::bfloat16 || (mode == MixedPrecision::float16 && device.is_cuda())),
      cuda_(device.is_cuda()) {
  if (!enabled_) return;
  const at::ScalarType dtype = mode == MixedPrecision::bfloat16 ? at::kBFloat16 : at::kHalf;
  if (cuda_) {
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
  at::autocast::increment_nesting();
}

Autocast::~Autocast() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) at::autocast::set_enabled(false);
  else at::autocast::set_cpu_enabled(false);
}

}  // namespace sg
