#pragma once
// Exponential moving average of a model's state, as SuperGradients' ModelEMA
// (super_gradients/training/utils/ema.py, ema_decay_schedules.py).
//
// After every optimizer step SG calls `ema.update(net, step=global_step, total_steps)` with
//   global_step = batch_idx + 1 + len(train_loader) * epoch     (1-based, counts batches)
//   total_steps = len(train_loader) * max_epochs
// and, for every state entry (parameters and buffers, in state_dict order) whose EMA copy
// is floating point:
//   ema = ema * d + (1 - d) * model
// Integer entries (BatchNorm's num_batches_tracked) are NOT touched by SG's update: they
// keep the value the EMA copy had when it was made (the model's value at EMA creation,
// or the loaded `ema_net` value after a resume). We do the same.
// Decay schedules d(decay, step, total_steps):
//   constant:  decay
//   threshold: min(decay, (1 + step) / (10 + step))
//   exp:       decay * (1 - exp(-beta * step / total_steps))
//
// The EMA tensors live on the model's device (a detached copy, or the tensors of a
// separate module given as `holder`), requires_grad false, updated in place with
// torch::_foreach_* ops (one fused launch per op on CUDA), computing exactly SG's
// expression `ema * d + (1 - d) * model` (bit-identical to Python on CPU).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "pth/value.hpp"
#include "sg/checkpoint/tensor_convert.hpp"

namespace sg {

// SG's decay schedule; throws std::invalid_argument for an unknown type, or for `exp`
// with total_steps <= 0.
double ema_decay(const std::string& decay_type, double decay, double beta, int64_t step, int64_t total_steps);

class ModelEMA {
 public:
  // Copies `model`'s state (same device, detached). decay_type: constant|threshold|exp;
  // beta is used by exp; total_steps is the default for update(model) (required by exp).
  // `holder`, if given, is a second instance of the same architecture whose own tensors
  // become the EMA state (so it can be validated directly, no copy): its state is
  // overwritten with the model's now and its parameters get requires_grad false. It must
  // already be on the model's device. Throws std::invalid_argument on a bad decay_type,
  // or a holder whose keys/shapes/dtypes differ from the model's.
  ModelEMA(const torch::nn::Module& model, double decay, std::string decay_type = "exp", double beta = 15.0,
           int64_t total_steps = 0, std::shared_ptr<torch::nn::Module> holder = nullptr);

  // SG's update with an explicit step (the trainer's 1-based global batch step, see
  // above) and total_steps. Also increments updates().
  void update(const torch::nn::Module& model, int64_t step, int64_t total_steps);
  // update(model, updates() + 1, total_steps given at construction): the same as SG when
  // every batch is an optimizer step and the counter was restored on resume.
  void update(const torch::nn::Module& model);

  // The decay that update(model, step, total_steps) would use.
  double decay_at(int64_t step, int64_t total_steps) const;

  // The EMA state dict in PyTorch order (tensors shared with this object, on the model's
  // device). Save it with sg::to_pth_state_dict(ema.state()).
  const NamedTensors& state() const { return state_; }
  // The holder module, or null.
  const std::shared_ptr<torch::nn::Module>& holder() const { return holder_; }

  // Replaces the EMA state by `tensors` (e.g. a checkpoint's `ema_net`), matched by name,
  // copied onto the EMA's device and dtype. Every key must be present with the same shape;
  // extra keys are an error. Throws std::invalid_argument listing the problems.
  void load(const NamedTensors& tensors);
  // The same from a pth state dict value (a dict of name -> tensor, e.g. ckpt["ema_net"]).
  void load(const pth::Value& state_dict);

  // Copies the EMA state into `model` (same architecture), e.g. to validate with it when
  // there is no holder. Throws std::invalid_argument when the model's keys/shapes differ.
  void copy_to(torch::nn::Module& model) const;

  int64_t updates() const { return updates_; }
  void set_updates(int64_t n) { updates_ = n; }
  double decay() const { return decay_; }
  const std::string& decay_type() const { return decay_type_; }
  double beta() const { return beta_; }
  int64_t total_steps() const { return total_steps_; }

 private:
  double decay_;
  std::string decay_type_;
  double beta_;
  int64_t total_steps_;
  int64_t updates_ = 0;
  std::shared_ptr<torch::nn::Module> holder_;
  NamedTensors state_;
  std::vector<size_t> float_index_;   // positions in state_ of floating-point entries
  std::vector<torch::Tensor> float_ema_;
};

}  // namespace sg
