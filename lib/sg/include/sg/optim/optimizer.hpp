#pragma once
// Optimizers built from a recipe, and their state in PyTorch's own state_dict layout
// (so that Python's optimizer.load_state_dict accepts what we save, and back).
#include <memory>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "pth/value.hpp"

namespace sg {

struct OptimizerConfig {
  std::string name = "SGD";        // SGD, Adam, AdamW
  double lr = 0.1;
  double momentum = 0.0;           // SGD
  double dampening = 0.0;          // SGD
  bool nesterov = false;           // SGD
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;   // Adam, AdamW
  bool amsgrad = false;            // Adam, AdamW
};

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, std::vector<torch::Tensor> parameters);

  torch::optim::Optimizer& get() { return *optimizer_; }
  void set_lr(double lr);
  double lr() const;
  // SGD's momentum, or Adam/AdamW's beta1 (PyTorch's OneCycleLR cycles them).
  void set_momentum(double momentum);
  // Entries a PyTorch scheduler adds to every param group ("initial_lr", ...), written
  // into state_dict()'s param_groups as Python would have them.
  void set_group_extras(std::vector<std::pair<std::string, pth::Value>> extras) { group_extras_ = std::move(extras); }
  const OptimizerConfig& config() const { return config_; }

  // {"state": {index: {...}}, "param_groups": [{..., "params": [0, 1, ...]}]} with the
  // keys PyTorch writes for this optimizer.
  pth::Value state_dict() const;
  // Restores state written by state_dict() or by Python's optimizer.state_dict().
  // Throws std::runtime_error naming what does not fit.
  void load_state_dict(const pth::Value& state);

 private:
  OptimizerConfig config_;
  std::vector<torch::Tensor> parameters_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<std::pair<std::string, pth::Value>> group_extras_;
};

}  // namespace sg
