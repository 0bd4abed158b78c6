#pragma once
// Dynamic loss scaling for float16 mixed precision, following PyTorch 1.13's
// torch.cuda.amp.GradScaler rules (torch/cuda/amp/grad_scaler.py and the
// _amp_update_scale_ kernel):
//   - scale(loss) = loss * scale; scale starts at init_scale (2**16), kept as float32.
//   - unscale: grads *= float32(1 / double(scale)); any inf/NaN among the grads (checked
//     before unscaling, as the kernel does) marks the step as overflowed. Grads are
//     unscaled even then (the step is skipped, zero_grad clears them).
//   - step(optimizer): unscales first unless already done since the last update(); runs
//     optimizer.step() only when every grad was finite.
//   - update(): overflow -> scale *= backoff_factor, growth tracker = 0; otherwise
//     tracker += 1 and when it reaches growth_interval, scale *= growth_factor (only if the
//     result is finite) and tracker = 0.
//   - state_dict(): {"scale": float, "growth_factor": float, "backoff_factor": float,
//     "growth_interval": int, "_growth_tracker": int} when enabled, {} when disabled
//     (Python's dict, same key order). load_state_dict() reads those keys; a no-op when
//     disabled; an empty dict on an enabled scaler is an error, as in PyTorch.
// Works on CPU tensors too (PyTorch 1.13 has no CPU kernels for this; ours is plain
// arithmetic on any device), so the rules are testable without a GPU. Unlike PyTorch we
// do not disable ourselves when CUDA is missing: the caller decides `enabled`.
// Disabled: scale() returns the loss unchanged, unscale is a no-op reporting "finite",
// step() always runs the optimizer, update() does nothing, get_scale() is 1.0.
#include <cstdint>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "pth/value.hpp"

namespace sg {

struct GradScalerOptions {
  double init_scale = 65536.0;   // 2**16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  explicit GradScaler(bool enabled, const GradScalerOptions& options = {});

  // loss * scale (same dtype and shape as `loss`); the loss itself when disabled.
  torch::Tensor scale(const torch::Tensor& loss) const;

  // Unscales the grads of `params` in place (params without a grad are skipped) and
  // returns true if all of them were finite. Calling it twice before update() throws
  // std::logic_error (PyTorch: "unscale_() has already been called ... since the last
  // update()"). float16 grads are refused (std::invalid_argument), as PyTorch does.
  bool unscale_and_check(const std::vector<torch::Tensor>& params);
  // The same over every parameter of the optimizer's param groups.
  bool unscale_(torch::optim::Optimizer& optimizer);

  // Unscales (unless done since the last update) and runs optimizer.step() unless a grad
  // was inf/NaN. Returns whether the step ran.
  bool step(torch::optim::Optimizer& optimizer);
  bool step(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& params);

  // Adjusts the scale from this iteration's overflow check and starts a new iteration.
  // Throws std::logic_error if enabled and nothing was unscaled/checked since the last
  // update (PyTorch: "No inf checks were recorded prior to update.").
  void update();

  pth::Value state_dict() const;
  void load_state_dict(const pth::Value& state);

  double get_scale() const { return enabled_ ? double(scale_) : 1.0; }
  int64_t growth_tracker() const { return enabled_ ? growth_tracker_ : 0; }
  bool enabled() const { return enabled_; }
  const GradScalerOptions& options() const { return options_; }
  // Whether this iteration's check found inf/NaN (false before any check).
  bool found_inf() const { return found_inf_; }

 private:
  bool enabled_;
  GradScalerOptions options_;
  float scale_;
  int32_t growth_tracker_ = 0;
  bool checked_ = false;     // unscaled/checked since the last update()
  bool found_inf_ = false;
};

}  // namespace sg
