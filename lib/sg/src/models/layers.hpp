#pragma once
// What every architecture under models/ builds with: layers in torchvision's form, the
// initialisations the Python references use, the checks of ModelOptions and a fresh head.
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include "sg/models/model.hpp"

namespace sg::models {

// A convolution without bias (it is followed by a batch norm).
inline torch::nn::Conv2d conv_no_bias(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

// torchvision's initialisation of its CNNs, in module order: convolutions
// kaiming_normal_(mode="fan_out", nonlinearity="relu"), batch norms weight 1 and bias 0;
// linear layers keep their own default.
inline void init_torchvision_style(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (auto* c = module->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
    }
  }
}

// Stochastic depth as SuperGradients' DropPath (scale_by_keep): while training, each
// sample's residual branch is zeroed with probability p and the kept ones are scaled by
// 1 / (1 - p). p = 0 (the default) draws no random numbers, so the run is unchanged.
inline torch::Tensor drop_path(const torch::Tensor& branch, double p, bool training) {
  if (p == 0 || !training) return branch;
  const double keep = 1 - p;
  std::vector<int64_t> shape(size_t(branch.dim()), 1);
  shape[0] = branch.size(0);
  torch::Tensor mask = torch::empty(shape, branch.options()).bernoulli_(keep);
  if (keep > 0) mask.div_(keep);
  return branch * mask;
}

// A freshly initialised linear head for `num_classes` on `old`'s device, dtype and mode.
inline torch::nn::Linear fresh_head(const torch::nn::Linear& old, int64_t num_classes) {
  if (num_classes < 1) throw std::invalid_argument("num_classes must be at least 1, got " + std::to_string(num_classes));
  torch::nn::Linear fresh(old->options.in_features(), num_classes);
  fresh->to(old->weight.device(), old->weight.scalar_type());
  fresh->train(old->is_training());
  return fresh;
}

}  // namespace sg::models
