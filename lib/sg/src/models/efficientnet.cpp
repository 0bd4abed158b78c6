#include "models/efficientnet.hpp"

#include <algorithm>
#include <cmath>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/functional/padding.h>
#include <torch/nn/functional/pooling.h>

#include "models/layers.hpp"

namespace sg::models {

namespace {

namespace F = torch::nn::functional;

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).groups(groups).bias(bias));
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// SG's Conv2dStaticSamePadding: the output side is ceil(image / stride); the larger half of
// the padding goes left and top.
Padding same_padding(int64_t image, int64_t kernel, int64_t stride) {
  const int64_t pad = std::max<int64_t>((ceil_div(image, stride) - 1) * stride + kernel - image, 0);
  return {pad - pad / 2, pad / 2, pad - pad / 2, pad / 2};
}

torch::Tensor padded(const torch::Tensor& x, const Padding& p) {
  if (p == Padding{0, 0, 0, 0}) return x;
  return F::pad(x, F::PadFuncOptions({p[0], p[1], p[2], p[3]}));
}

// SG's round_filters / round_repeats (the official TensorFlow formulas).
int64_t round_filters(int64_t filters, double width, int64_t divisor, int64_t min_depth) {
  return make_divisible(double(filters) * width, divisor, min_depth > 0 ? min_depth : divisor);
}
int64_t round_repeats(int64_t repeats, double depth) { return int64_t(std::ceil(depth * double(repeats))); }

// EfficientNet-B0's stages (SG's block strings): repeats, kernel, stride, expansion, in, out;
// every stage has squeeze-excitation ratio 0.25.
struct Stage {
  int64_t repeats, kernel, stride, expand, in, out;
};
constexpr Stage kStages[] = {{1, 3, 1, 1, 32, 16},  {2, 3, 2, 6, 16, 24},   {2, 5, 2, 6, 24, 40},  {3, 3, 2, 6, 40, 80},
                             {3, 5, 1, 6, 80, 112}, {4, 5, 2, 6, 112, 192}, {1, 3, 1, 6, 192, 320}};
constexpr double kSeRatio = 0.25;

}  // namespace

MBConvBlockImpl::MBConvBlockImpl(const Spec& s, const torch::nn::BatchNormOptions& bn)
    : skip_(s.skip && s.stride == 1 && s.in == s.out), depthwise_pad_(same_padding(s.image, s.kernel, s.stride)) {
  const int64_t hidden = s.in * s.expand;
  auto norm = [&](int64_t channels) {
    return BatchNorm2d(torch::nn::BatchNormOptions(bn).num_features(channels));
  };
  if (s.expand != 1) {
    expand_ = register_module("_expand_conv", conv(s.in, hidden, 1, 1, 1, false));
    bn0_ = register_module("_bn0", norm(hidden));
  }
  depthwise_ = register_module("_depthwise_conv", conv(hidden, hidden, s.kernel, s.stride, hidden, false));
  bn1_ = register_module("_bn1", norm(hidden));
  const int64_t squeezed = std::max<int64_t>(1, int64_t(double(s.in) * kSeRatio));
  se_reduce_ = register_module("_se_reduce", conv(hidden, squeezed, 1, 1, 1, true));
  se_expand_ = register_module("_se_expand", conv(squeezed, hidden, 1, 1, 1, true));
  project_ = register_module("_project_conv", conv(hidden, s.out, 1, 1, 1, false));
  bn2_ = register_module("_bn2", norm(s.out));
}

torch::Tensor MBConvBlockImpl::forward(torch::Tensor inputs, double drop_connect) {
  torch::Tensor x = inputs;
  if (expand_) x = torch::silu(bn0_->forward(expand_->forward(x)));
  x = torch::silu(bn1_->forward(depthwise_->forward(padded(x, depthwise_pad_))));
  const torch::Tensor squeezed = se_expand_->forward(
      torch::silu(se_reduce_->forward(F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)))));
  x = torch::sigmoid(squeezed) * x;
  x = bn2_->forward(project_->forward(x));
  if (!skip_) return x;
  return drop_path(x, drop_connect, is_training()) + inputs;
}

EfficientNet::EfficientNet(const ModelOptions& options)
    : dropout_(options.params.at("dropout_rate")), drop_connect_(options.params.at("drop_connect_rate")) {
  const auto& p = options.params;
  const double width = p.at("width_coefficient");
  const double depth = p.at("depth_coefficient");
  const int64_t divisor = int64_t(p.at("depth_divisor"));
  const int64_t min_depth = int64_t(p.at("min_depth"));
  auto filters = [&](int64_t n) { return round_filters(n, width, divisor, min_depth); };
  const auto bn =
      torch::nn::BatchNormOptions(1).momentum(1 - p.at("batch_norm_momentum")).eps(p.at("batch_norm_epsilon"));
  auto norm = [&](int64_t channels) {
    return BatchNorm2d(torch::nn::BatchNormOptions(bn).num_features(channels));
  };

  int64_t image = int64_t(p.at("image_size"));
  const int64_t stem_width = filters(32);
  stem_pad_ = same_padding(image, 3, 2);
  stem_ = register_module("_conv_stem", conv(options.in_channels, stem_width, 3, 2, 1, false));
  bn0_ = register_module("_bn0", norm(stem_width));
  image = ceil_div(image, 2);

  auto blocks = register_module("_blocks", torch::nn::ModuleList());
  int64_t channels = 0;
  for (const Stage& stage : kStages) {
    MBConvBlockImpl::Spec spec{
        filters(stage.in), filters(stage.out), stage.kernel, stage.stride, stage.expand, false, image};
    const int64_t repeats = round_repeats(stage.repeats, depth);
    for (int64_t i = 0; i < repeats; ++i) {
      blocks_.push_back(MBConvBlock(spec, bn));
      blocks->push_back(blocks_.back());
      if (i == 0) {
        image = ceil_div(image, stage.stride);
        spec = {spec.out, spec.out, spec.kernel, 1, spec.expand, true, image};
      }
    }
    channels = spec.out;
  }
  const int64_t head_width = filters(1280);
  head_conv_ = register_module("_conv_head", conv(channels, head_width, 1, 1, 1, false));
  bn1_ = register_module("_bn1", norm(head_width));
  fc_ = register_module("_fc", torch::nn::Linear(head_width, options.num_classes));
}

torch::Tensor EfficientNet::forward(torch::Tensor images) {
  torch::Tensor x = torch::silu(bn0_->forward(stem_->forward(padded(images, stem_pad_))));
  // SG scales the drop connect rate with the block's position: rate * index / count.
  const auto count = double(blocks_.size());
  for (size_t i = 0; i < blocks_.size(); ++i) x = blocks_[i]->forward(x, drop_connect_ * double(i) / count);
  x = torch::silu(bn1_->forward(head_conv_->forward(x))).mean({2, 3});
  x = F::dropout(x, F::DropoutFuncOptions().p(dropout_).training(is_training()));
  return fc_->forward(x);
}

void EfficientNet::reset_head(int64_t num_classes) { fc_ = replace_module("_fc", fresh_head(fc_, num_classes)); }

}  // namespace sg::models
