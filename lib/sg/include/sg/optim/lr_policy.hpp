#pragma once
// The learning rate of a training run, whichever kind the recipe names: SuperGradients'
// own policies (lr_mode StepLRScheduler, CosineLRScheduler, PolyLRScheduler,
// ExponentialLRScheduler or constant, with SG's warm-ups and cool-down) or a
// PyTorch scheduler (lr_mode StepLR, OneCycleLR, ReduceLROnPlateau, ...). The training
// loop calls the same four points for both and never asks which it has.
#include <memory>
#include <optional>

#include "pth/value.hpp"
#include "sg/optim/lr_schedule.hpp"
#include "sg/optim/optimizer.hpp"
#include "sg/optim/torch_scheduler.hpp"

namespace sg {

class LrPolicy {
 public:
  virtual ~LrPolicy() = default;

  // Before the forward pass of batch `batch` (0-based) of `epoch` (0-based).
  virtual void before_batch(Optimizer& optimizer, int64_t epoch, int64_t batch, int64_t batches_per_epoch) = 0;
  // After each optimizer step.
  virtual void after_step(Optimizer& optimizer) = 0;
  // After each epoch; `watched` is the validated metric when the epoch was validated.
  virtual void after_epoch(Optimizer& optimizer, std::optional<double> watched) = 0;

  // What a checkpoint keeps of it (torch_scheduler_state_dict); nullopt when nothing.
  virtual std::optional<pth::Value> state_dict() const = 0;
  // Restores what state_dict() gave (or Python's scheduler.state_dict()).
  virtual void load_state_dict(const pth::Value& state, Optimizer& optimizer) = 0;
};

// SuperGradients' policy: the rate is a pure function of the position in training.
std::unique_ptr<LrPolicy> make_sg_lr_policy(const LrSchedule& schedule);

// A PyTorch scheduler, stepped as PyTorch users do (per batch for OneCycleLR, else per
// epoch; ReduceLROnPlateau only on validated epochs). Sets the optimizer's first rate and
// the param-group entries the scheduler adds.
std::unique_ptr<LrPolicy> make_torch_lr_policy(std::unique_ptr<TorchScheduler> scheduler, Optimizer& optimizer);

}  // namespace sg
