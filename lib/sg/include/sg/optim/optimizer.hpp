#pragma once
// Optimizers built from a recipe, and their state in PyTorch's own state_dict layout
// (so that Python's optimizer.load_state_dict accepts what we save, and back).
//
// The param groups are SuperGradients' (build_optimizer): one group named "default", or, with
// zero_weight_decay_on_bias_and_bn, two groups both named "default": first the biases and the
// normalisation layers' weights without weight decay, then the rest. Each group's dict in
// state_dict() has SG's keys first (weight_decay when split, lr, name), then the optimizer's
// own defaults in PyTorch 1.13's order, then what a scheduler adds, then params.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "pth/value.hpp"

namespace sg {

struct OptimizerConfig {
  std::string name = "SGD";        // SGD, Adam, AdamW, RMSprop, RMSpropTF
  double lr = 0.1;
  double momentum = 0.0;           // SGD, RMSprop, RMSpropTF
  double dampening = 0.0;          // SGD
  bool nesterov = false;           // SGD
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999;   // Adam, AdamW
  double eps = 1e-8;               // Adam, AdamW, RMSprop (1e-8), RMSpropTF (1e-10)
  bool amsgrad = false;            // Adam, AdamW
  double alpha = 0.99;             // RMSprop (0.99), RMSpropTF (0.9)
  bool centered = false;           // RMSprop, RMSpropTF
  bool decoupled_decay = false;    // RMSpropTF
  bool lr_in_momentum = true;      // RMSpropTF
  bool zero_weight_decay_on_bias_and_bn = false;
};

// The optimizers OptimizerConfig::name may be, for messages: "SGD, Adam, ...".
std::string optimizer_names();
bool is_optimizer(const std::string& name);
// SuperGradients' OPTIMIZERS_DEFAULT_PARAMS (what build_optimizer applies before the recipe's
// optimizer_params) over PyTorch's defaults: the settings of `name` when a recipe gives none.
OptimizerConfig optimizer_defaults(const std::string& name);

// A param group before the optimizer holds it.
struct ParamGroupSpec {
  std::vector<torch::Tensor> params;
  bool no_weight_decay = false;   // SG's group of biases and normalisation weights
};

// SG's groups for `model` (see above); parameters in named_parameters() order in each.
std::vector<ParamGroupSpec> sg_param_groups(const torch::nn::Module& model, bool zero_weight_decay_on_bias_and_bn);

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, std::vector<ParamGroupSpec> groups);
  // One group of all `parameters`.
  Optimizer(const OptimizerConfig& config, std::vector<torch::Tensor> parameters);

  torch::optim::Optimizer& get() { return *optimizer_; }
  size_t group_count() const { return groups_.size(); }
  // Every group's rate / one rate per group.
  void set_lr(double lr);
  void set_lrs(const std::vector<double>& lrs);
  double lr() const { return lrs().at(0); }
  std::vector<double> lrs() const;
  // SGD's or RMSprop's momentum, or Adam/AdamW's beta1 (PyTorch's OneCycleLR and CyclicLR
  // cycle them); every group, or one.
  void set_momentum(double momentum);
  void set_momentum(size_t group, double momentum);
  // True for Adam and AdamW (betas), false for the optimizers with a momentum.
  bool has_betas() const;
  // Entries a PyTorch scheduler adds to param group `group` ("initial_lr", ...), written
  // into state_dict()'s param_groups as Python would have them.
  void set_group_extras(size_t group, std::vector<std::pair<std::string, pth::Value>> extras);
  const OptimizerConfig& config() const { return config_; }

  // {"state": {index: {...}}, "param_groups": [{..., "params": [0, 1, ...]}, ...]} with the
  // keys PyTorch writes for this optimizer; indices run over the groups in order.
  pth::Value state_dict() const;
  // Restores state written by state_dict() or by Python's optimizer.state_dict() (the
  // tensors, and each group's lr and momentum or betas). Throws std::runtime_error naming
  // what does not fit.
  void load_state_dict(const pth::Value& state);

 private:
  OptimizerConfig config_;
  std::vector<ParamGroupSpec> groups_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<std::vector<std::pair<std::string, pth::Value>>> group_extras_;
};

}  // namespace sg
