// SuperGradients' param groups (optimizer_utils.py: initialize_param_groups and
// separate_zero_wd_params_groups_for_optimizer).
#include <set>

#include <torch/torch.h>

#include "sg/models/batch_norm.hpp"
#include "sg/optim/optimizer.hpp"

namespace sg {
namespace {

// SG's norm_types: _BatchNorm, GroupNorm, LayerNorm, InstanceNorm1d/2d/3d.
bool is_norm(const torch::nn::Module& m) {
  return m.as<models::BatchNorm2d>() || m.as<torch::nn::BatchNorm1d>() || m.as<torch::nn::BatchNorm2d>() ||
         m.as<torch::nn::BatchNorm3d>() || m.as<torch::nn::GroupNorm>() || m.as<torch::nn::LayerNorm>() ||
         m.as<torch::nn::InstanceNorm1d>() || m.as<torch::nn::InstanceNorm2d>() || m.as<torch::nn::InstanceNorm3d>();
}

// SG's _get_no_decay_param_ids: a norm layer's weight and bias, and every other module's
// own `bias` parameter.
std::set<const c10::TensorImpl*> no_decay(const torch::nn::Module& model) {
  std::set<const c10::TensorImpl*> out;
  auto visit = [&](const torch::nn::Module& m) {
    const auto own = m.named_parameters(/*recurse=*/false);
    if (is_norm(m)) {
      for (const char* name : {"weight", "bias"})
        if (const torch::Tensor* p = own.find(name)) out.insert(p->unsafeGetTensorImpl());
    } else if (const torch::Tensor* bias = own.find("bias")) {
      out.insert(bias->unsafeGetTensorImpl());
    }
  };
  visit(model);
  for (const auto& m : model.modules(/*include_self=*/false)) visit(*m);
  return out;
}

}  // namespace

std::vector<ParamGroupSpec> sg_param_groups(const torch::nn::Module& model, bool zero_weight_decay_on_bias_and_bn) {
  if (!zero_weight_decay_on_bias_and_bn) return {ParamGroupSpec{model.parameters(), false}};
  const auto ids = no_decay(model);
  ParamGroupSpec without{{}, true}, with{{}, false};
  for (const torch::Tensor& p : model.parameters())
    (ids.count(p.unsafeGetTensorImpl()) ? without : with).params.push_back(p);
  return {without, with};
}

}  // namespace sg
