#include "models/mobilenet_v3.hpp"

#include <algorithm>
#include <memory>

#include <torch/nn/functional/dropout.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

#include "models/layers.hpp"

namespace sg::models {

MobileNetV3Spec mobilenet_v3_large_spec() {
  return {{{3, 1, 16, false, false, 1},
           {3, 4, 24, false, false, 2},
           {3, 3, 24, false, false, 1},
           {5, 3, 40, true, false, 2},
           {5, 3, 40, true, false, 1},
           {5, 3, 40, true, false, 1},
           {3, 6, 80, false, true, 2},
           {3, 2.5, 80, false, true, 1},
           {3, 2.3, 80, false, true, 1},
           {3, 2.3, 80, false, true, 1},
           {3, 6, 112, true, true, 1},
           {3, 6, 112, true, true, 1},
           {5, 6, 160, true, true, 2},
           {5, 6, 160, true, true, 1},
           {5, 6, 160, true, true, 1}},
          1280};
}

MobileNetV3Spec mobilenet_v3_small_spec() {
  return {{{3, 1, 16, true, false, 2},
           {3, 4.5, 24, false, false, 2},
           {3, 3.67, 24, false, false, 1},
           {5, 4, 40, true, true, 2},
           {5, 6, 40, true, true, 1},
           {5, 6, 40, true, true, 1},
           {5, 3, 48, true, true, 1},
           {5, 3, 48, true, true, 1},
           {5, 6, 96, true, true, 2},
           {5, 6, 96, true, true, 1},
           {5, 6, 96, true, true, 1}},
          1024};
}

namespace {

// SG's h_sigmoid: ReLU6(x + 3) / 6; no state.
torch::Tensor hard_sigmoid(const torch::Tensor& x) { return torch::clamp(x + 3, 0, 6) / 6; }
torch::Tensor hard_swish(const torch::Tensor& x) { return x * hard_sigmoid(x); }

constexpr double kDropout = 0.2;  // SG's classifier dropout (fixed)

class HardSwishImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(torch::Tensor x) { return hard_swish(x); }
};
TORCH_MODULE(HardSwish);

class HardSigmoidImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(torch::Tensor x) { return hard_sigmoid(x); }
};
TORCH_MODULE(HardSigmoid);

// SG's SELayer: child `fc` = Linear, ReLU, Linear, h_sigmoid over the pooled channels.
class SELayerImpl : public torch::nn::Module {
 public:
  explicit SELayerImpl(int64_t channels) {
    const int64_t squeezed = make_divisible(double(channels / 4), 8, 8);
    fc_ = register_module("fc", torch::nn::Sequential(torch::nn::Linear(channels, squeezed), torch::nn::ReLU(),
                                                      torch::nn::Linear(squeezed, channels), HardSigmoid()));
  }
  torch::Tensor forward(torch::Tensor x) {
    const torch::Tensor y = fc_->forward(x.mean({2, 3}));
    return x * y.view({y.size(0), y.size(1), 1, 1});
  }

 private:
  torch::nn::Sequential fc_{nullptr};
};
TORCH_MODULE(SELayer);

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding((kernel - 1) / 2).groups(groups).bias(false));
}

void push_activation(torch::nn::Sequential& seq, bool hswish) {
  if (hswish) {
    seq->push_back(HardSwish());
  } else {
    seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  }
}

// SG's InvertedResidual: child `conv`; without expansion: depthwise, BN, act, [SE],
// pointwise, BN; with it: pointwise, BN, act, depthwise, BN, [SE], act, pointwise, BN.
// A block without SE keeps SG's nn.Identity slot, so later indices match.
InvertedResidual inverted_residual(int64_t in, int64_t hidden, const MobileNetV3Block& b) {
  torch::nn::Sequential layers;
  auto se = [&] {
    if (b.se) {
      layers->push_back(SELayer(hidden));
    } else {
      layers->push_back(torch::nn::Identity());
    }
  };
  if (in != hidden) {
    layers->push_back(conv(in, hidden, 1, 1, 1));
    layers->push_back(BatchNorm2d(hidden));
    push_activation(layers, b.hswish);
  }
  layers->push_back(conv(hidden, hidden, b.kernel, b.stride, hidden));
  layers->push_back(BatchNorm2d(hidden));
  if (in == hidden) {
    push_activation(layers, b.hswish);
    se();
  } else {
    se();
    push_activation(layers, b.hswish);
  }
  layers->push_back(conv(hidden, b.out, 1, 1, 1));
  layers->push_back(BatchNorm2d(b.out));
  return InvertedResidual(layers, b.stride == 1 && in == b.out);
}

}  // namespace

MobileNetV3::MobileNetV3(const MobileNetV3Spec& spec, const ModelOptions& options) {
  const double width = options.params.at("width_mult");
  int64_t channels = make_divisible(16 * width, 8, 8);
  features_ = register_module("features", torch::nn::Sequential());
  features_->push_back(
      NestedSequential(conv(options.in_channels, channels, 3, 2, 1), BatchNorm2d(channels), HardSwish()));
  int64_t hidden = 0;
  for (const MobileNetV3Block& b : spec.blocks) {
    const int64_t out = make_divisible(double(b.out) * width, 8, 8);
    hidden = make_divisible(double(channels) * b.expand, 8, 8);
    features_->push_back(
        inverted_residual(channels, hidden, MobileNetV3Block{b.kernel, b.expand, out, b.se, b.hswish, b.stride}));
    channels = out;
  }
  conv_ = register_module(
      "conv", torch::nn::Sequential(conv(channels, hidden, 1, 1, 1), BatchNorm2d(hidden), HardSwish()));
  const int64_t last = width > 1.0 ? make_divisible(double(spec.last_channel) * width, 8, 8) : spec.last_channel;
  classifier_ = register_module("classifier", std::make_shared<torch::nn::Module>());
  hidden_ = classifier_->register_module("0", torch::nn::Linear(hidden, last));
  linear_ = classifier_->register_module("3", torch::nn::Linear(last, options.num_classes));
  init_sg_style(*this);  // SG's MobileNetV3._initialize_weights
}

torch::Tensor MobileNetV3::forward(torch::Tensor images) {
  torch::Tensor x = conv_->forward(features_->forward(images)).mean({2, 3});
  x = hard_swish(hidden_->forward(x));
  x = torch::nn::functional::dropout(x,
                                     torch::nn::functional::DropoutFuncOptions().p(kDropout).training(is_training()));
  return linear_->forward(x);
}

void MobileNetV3::reset_head(int64_t num_classes) {
  linear_ = classifier_->replace_module("3", fresh_head(linear_, num_classes));
}

}  // namespace sg::models
