#include "models/mobilenet_v2.hpp"

#include <torch/nn/functional/dropout.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

#include "models/layers.hpp"

namespace sg::models {

namespace {

torch::nn::ReLU6 relu6() { return torch::nn::ReLU6(torch::nn::ReLU6Options().inplace(true)); }

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).groups(groups).bias(false));
}

// SG's conv_bn / conv_1x1_bn: convolution, batch norm, ReLU6.
NestedSequential conv_bn_relu6(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return NestedSequential(conv(in, out, kernel, stride, 1), BatchNorm2d(out), relu6());
}

// SG's InvertedResidual: child `conv` = [pointwise expansion, BN, ReLU6] (left out when
// expand_ratio is 1), depthwise 3x3, BN, ReLU6, pointwise projection, BN.
InvertedResidual inverted_residual(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio) {
  const int64_t hidden = in * expand_ratio;
  torch::nn::Sequential layers;
  if (expand_ratio != 1) {
    layers->push_back(conv(in, hidden, 1, 1, 1));
    layers->push_back(BatchNorm2d(hidden));
    layers->push_back(relu6());
  }
  layers->push_back(conv(hidden, hidden, 3, stride, hidden));
  layers->push_back(BatchNorm2d(hidden));
  layers->push_back(relu6());
  layers->push_back(conv(hidden, out, 1, 1, 1));
  layers->push_back(BatchNorm2d(out));
  return InvertedResidual(layers, stride == 1 && in == out);
}

// SG's default structure: expand ratio t, output channels c, blocks n, first stride s.
struct Stage {
  int64_t t, c, n, s;
};
constexpr Stage kStages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                             {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
constexpr int64_t kStemWidth = 32;
constexpr int64_t kLastChannel = 1280;

}  // namespace

MobileNetV2::MobileNetV2(const ModelOptions& options) : dropout_(options.params.at("dropout")) {
  torch::nn::Sequential features;
  features->push_back(conv_bn_relu6(options.in_channels, kStemWidth, 3, 2));
  int64_t channels = kStemWidth;
  for (const Stage& stage : kStages) {
    for (int64_t i = 0; i < stage.n; ++i) {
      features->push_back(inverted_residual(channels, stage.c, i == 0 ? stage.s : 1, stage.t));
      channels = stage.c;
    }
  }
  features->push_back(conv_bn_relu6(channels, kLastChannel, 1, 1));
  features_ = register_module("features", features);
  classifier_ = register_module("classifier", std::make_shared<torch::nn::Module>());
  linear_ = classifier_->register_module("1", torch::nn::Linear(kLastChannel, options.num_classes));
  init_sg_style(*this);  // SG's MobileNetV2._initialize_weights
}

torch::Tensor MobileNetV2::forward(torch::Tensor images) {
  torch::Tensor x = features_->forward(images).mean({2, 3});
  x = torch::nn::functional::dropout(x, torch::nn::functional::DropoutFuncOptions().p(dropout_).training(is_training()));
  return linear_->forward(x);
}

void MobileNetV2::reset_head(int64_t num_classes) {
  linear_ = classifier_->replace_module("1", fresh_head(linear_, num_classes));
}

}  // namespace sg::models
