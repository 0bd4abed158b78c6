#pragma once
// SuperGradients' RMSpropTF (timm's RMSprop in TensorFlow's form) as a LibTorch optimizer:
// eps inside the square root, square_avg starting at ones, and by default the learning rate
// accumulated in the momentum buffer (lr_in_momentum).
#include <torch/optim/optimizer.h>

namespace sg::optim_detail {

struct RMSpropTFOptions : public torch::optim::OptimizerCloneableOptions<RMSpropTFOptions> {
  explicit RMSpropTFOptions(double lr = 1e-2) : lr_(lr) {}
  TORCH_ARG(double, lr) = 1e-2;
  TORCH_ARG(double, momentum) = 0;
  TORCH_ARG(double, alpha) = 0.9;
  TORCH_ARG(double, eps) = 1e-10;
  TORCH_ARG(bool, centered) = false;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(bool, decoupled_decay) = false;
  TORCH_ARG(bool, lr_in_momentum) = true;

 public:
  double get_lr() const override { return lr(); }
  void set_lr(const double value) override { lr(value); }
};

struct RMSpropTFParamState : public torch::optim::OptimizerCloneableParamState<RMSpropTFParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, square_avg);
  TORCH_ARG(torch::Tensor, momentum_buffer) = {};
  TORCH_ARG(torch::Tensor, grad_avg) = {};
};

class RMSpropTF : public torch::optim::Optimizer {
 public:
  RMSpropTF(std::vector<torch::optim::OptimizerParamGroup> groups, const RMSpropTFOptions& defaults);
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace sg::optim_detail
