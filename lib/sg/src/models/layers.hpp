#pragma once
// What every architecture under models/ builds with: layers in torchvision's form, the
// initialisations the Python references use, the checks of ModelOptions and a fresh head.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include "sg/models/batch_norm.hpp"
#include "sg/models/model.hpp"

namespace sg::models {

// A Sequential that another Sequential can hold (its forward is not a template).
class NestedSequentialImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(x); }
};
TORCH_MODULE(NestedSequential);

// SG's InvertedResidual (MobileNetV2 and V3): the layers as child `conv`, the input added
// when `residual`.
class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(torch::nn::Sequential layers, bool residual)
      : residual_(residual), conv_(register_module("conv", std::move(layers))) {}
  torch::Tensor forward(torch::Tensor x) { return residual_ ? x + conv_->forward(x) : conv_->forward(x); }

 private:
  bool residual_;
  torch::nn::Sequential conv_;
};
TORCH_MODULE(InvertedResidual);

// TensorFlow's make_divisible (SG's _make_divisible, EfficientNet's round_filters): v rounded
// to the nearest multiple of `divisor`, at least `min_value`, raised by one divisor when
// that lost more than 10% of v.
inline int64_t make_divisible(double v, int64_t divisor, int64_t min_value) {
  const int64_t rounded = std::max(min_value, int64_t(v + double(divisor) / 2) / divisor * divisor);
  return double(rounded) < 0.9 * v ? rounded + divisor : rounded;
}

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
    } else if (auto* bn = module->as<BatchNorm2d>()) {
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
    }
  }
}

// The initialisation of several SG classifiers (MobileNetV2, RegNet, RepVGG): convolutions
// normal(0, sqrt(2 / (k*k*out))), batch norms weight 1 and bias 0, linear layers
// normal(0, 0.01) with zero bias.
inline void init_sg_style(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (auto* c = module->as<torch::nn::Conv2d>()) {
      const auto& k = c->options.kernel_size();
      c->weight.normal_(0, std::sqrt(2.0 / double(k->at(0) * k->at(1) * c->options.out_channels())));
    } else if (auto* bn = module->as<BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    } else if (auto* l = module->as<torch::nn::Linear>()) {
      l->weight.normal_(0, 0.01);
      l->bias.zero_();
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
