#pragma once
// PyTorch's own learning-rate schedulers (torch.optim.lr_scheduler, as in PyTorch 1.13):
// StepLR, MultiStepLR, CosineAnnealingLR, OneCycleLR, ReduceLROnPlateau, ExponentialLR,
// ConstantLR, LinearLR, CosineAnnealingWarmRestarts and CyclicLR.
//
// Each class computes its rates with PyTorch's formulas and in PyTorch's floating-point
// order (the chainable/recursive forms: StepLR multiplies the current rate by gamma at
// each boundary, CosineAnnealingLR uses its recursive update, ...), so the sequence of
// rates equals PyTorch's bit for bit. state_dict() returns the dict PyTorch's
// scheduler.state_dict() returns (same keys, same order, same Python types), which
// Python's scheduler.load_state_dict accepts; load_state_dict() reads what Python's
// state_dict() gives (torch.save'd and read back with lib/pth) or what ours wrote.
//
// Differences from PyTorch's dicts, forced by what a safe checkpoint can hold:
//   - MultiStepLR `milestones`: PyTorch keeps a collections.Counter; we write a plain dict
//     {milestone: count}. Python's MultiStepLR.step() works with it unchanged (it only
//     uses `in` and `[]`). We read a plain dict or a list.
//   - OneCycleLR `anneal_func`: PyTorch 1.13 stores a bound method (pickling it pickles
//     the whole scheduler and its optimizer). We leave it out and write
//     `_anneal_func_type` ("cos" / "linear"), the key PyTorch >= 2.2 uses instead.
//     Python 1.13's load_state_dict then keeps the anneal function of the scheduler it
//     built, and PyTorch >= 2.2 reads the key. We read `_anneal_func_type` if present.
//   - CyclicLR `_scale_fn_ref`: a weakref.WeakMethod (PyTorch 1.13 cannot even pickle it).
//     We leave it out, as PyTorch >= 2.0 does; `_scale_fn_custom` is None.
//   - LinearLR refuses start_factor 0 (PyTorch 1.13 accepts it and divides by zero at the
//     first step; later versions refuse it too).
//
// Like PyTorch, a scheduler is "stepped" once when it is made (last_epoch becomes 0 and
// lr() is the rate for epoch/step 0). Call step() once per epoch (or per batch, see
// steps_per_batch()) after the optimizer step, as PyTorch users do.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "pth/value.hpp"

namespace YAML {
class Node;
}

namespace sg {

// A constructor argument, as a recipe gives it. Ints and floats stay apart because the
// state dict echoes them with the type they were given (as PyTorch's does).
using TorchSchedulerParam =
    std::variant<bool, int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;
// Keyword arguments of the PyTorch constructor (without `optimizer`). SuperGradients'
// own keys `phase` and `metric_name` are accepted and ignored. Unknown keys are errors.
using TorchSchedulerParams = std::map<std::string, TorchSchedulerParam>;

// Converts a YAML mapping (e.g. the recipe node `training_hyperparams.lr_mode.StepLR`)
// to params: integer scalars -> int64_t, other numbers -> double, true/false -> bool,
// other scalars -> string, sequences of ints -> vector<int64_t>, of numbers ->
// vector<double>; null values are skipped (the PyTorch default applies). Throws
// std::invalid_argument naming the key for anything else.
TorchSchedulerParams torch_scheduler_params_from_yaml(const YAML::Node& mapping);

// What the scheduler needs to know about the optimizer it drives.
struct TorchSchedulerContext {
  // The optimizer's lr per param group when the scheduler is made (PyTorch's
  // group['lr'] / group['initial_lr']). OneCycleLR ignores it (it sets max_lr/div_factor).
  std::vector<double> base_lrs{0.1};
  // OneCycleLR's total_steps when the params give neither total_steps nor
  // epochs + steps_per_epoch (e.g. max_epochs * batches per epoch). 0: not known.
  int64_t total_steps = 0;
  // OneCycleLR with cycle_momentum: true when the optimizer has `betas` (Adam, AdamW:
  // beta1 is cycled), false when it has `momentum` (SGD, RMSprop). CyclicLR refuses
  // cycle_momentum with betas, as PyTorch 1.13 does.
  bool optimizer_has_betas = false;
};

class TorchScheduler {
 public:
  virtual ~TorchScheduler() = default;

  // PyTorch's class name: "StepLR", ...
  virtual std::string name() const = 0;

  // One PyTorch scheduler.step(). ReduceLROnPlateau needs `metric` (its
  // step(metrics)) and throws std::invalid_argument without it; the others ignore it.
  // OneCycleLR throws std::runtime_error when stepped beyond total_steps, as PyTorch.
  virtual void step(std::optional<double> metric = std::nullopt) = 0;

  // The current rate of param group 0 / of every group (PyTorch's get_last_lr(), or
  // group['lr'] for ReduceLROnPlateau).
  double lr() const { return lrs_.at(0); }
  const std::vector<double>& lrs() const { return lrs_; }

  // The optimizer's rates when they were changed outside the scheduler (e.g. after the
  // optimizer's state was loaded): PyTorch's chainable forms and ReduceLROnPlateau
  // continue from group['lr']. load_state_dict() already takes `_last_lr` when present.
  void set_lrs(std::vector<double> lrs);

  // OneCycleLR or CyclicLR with cycle_momentum: the momentum (SGD, RMSprop) or beta1
  // (Adam/AdamW, OneCycleLR only) to set in the optimizer after each step; nullopt when this
  // scheduler does not touch momentum.
  virtual std::optional<double> momentum(size_t group = 0) const;

  // True when PyTorch users step it per batch (OneCycleLR, CyclicLR), false per epoch.
  virtual bool steps_per_batch() const { return false; }
  // True when each step needs the watched metric (ReduceLROnPlateau): it is stepped only
  // after epochs that were validated.
  virtual bool steps_on_metric() const { return false; }

  // PyTorch's last_epoch: the number of step() calls after the initial one.
  virtual int64_t last_epoch() const = 0;

  // scheduler.state_dict() with PyTorch 1.13's keys and types (see the notes above).
  virtual pth::Value state_dict() const = 0;
  // Restores state from state_dict() or from Python's scheduler.state_dict(). As
  // Python's load_state_dict (a __dict__ update), stored hyperparameters replace the
  // constructed ones and missing keys keep their values; unknown keys are ignored.
  // Throws std::runtime_error naming the key whose value has the wrong type.
  virtual void load_state_dict(const pth::Value& state) = 0;

  // The entries PyTorch's scheduler adds to optimizer.param_groups[group] (and so to
  // optimizer.state_dict()["param_groups"]): `initial_lr` for the epoch schedulers;
  // initial_lr, max_lr, min_lr (+ max_momentum, base_momentum with cycle_momentum) for
  // OneCycleLR; none for ReduceLROnPlateau. Python's OneCycleLR.step() needs them in the
  // optimizer's groups when the optimizer state is loaded after the scheduler is made.
  virtual std::vector<std::pair<std::string, pth::Value>> param_group_entries(size_t group) const;

 protected:
  std::vector<double> lrs_;
};

// The names make_torch_scheduler knows, for messages: "StepLR, MultiStepLR, ...".
std::string torch_scheduler_names();
bool is_torch_scheduler(const std::string& name);
// OneCycleLR and CyclicLR step per batch; the others per epoch.
bool steps_per_batch(const std::string& name);

// Builds a scheduler as PyTorch's constructor would (`name(optimizer, **params)`),
// including its initial step. Throws std::invalid_argument for an unknown name, an
// unknown or mistyped parameter, or a value PyTorch refuses (message names the key).
std::unique_ptr<TorchScheduler> make_torch_scheduler(const std::string& name, const TorchSchedulerParams& params,
                                                     const TorchSchedulerContext& context);
// Single param group shorthand.
std::unique_ptr<TorchScheduler> make_torch_scheduler(const std::string& name, const TorchSchedulerParams& params,
                                                     double base_lr, int64_t total_steps_for_onecycle = 0,
                                                     bool optimizer_has_betas = false);

}  // namespace sg
