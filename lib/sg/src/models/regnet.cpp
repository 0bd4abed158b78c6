#include "models/regnet.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <torch/nn/functional/dropout.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include "models/layers.hpp"

namespace sg::models {

RegNetSpec regnet_y200_spec() { return {24, 36, 2.5, 13, 8, 2, 4}; }
RegNetSpec regnet_y400_spec() { return {48, 28, 2.1, 16, 8, 2, 4}; }
RegNetSpec regnet_y600_spec() { return {48, 33, 2.3, 15, 16, 2, 4}; }
RegNetSpec regnet_y800_spec() { return {56, 39, 2.4, 14, 16, 2, 4}; }

namespace {

constexpr int64_t kStemWidth = 32;

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups, bool bias) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).groups(groups).bias(bias));
}

struct StageShape {
  int64_t blocks, width, group_width;
};

// SG's regnet_params_to_blocks with bottleneck ratio 1. numpy's round is half-to-even, as
// std::nearbyint in the default rounding mode (regnetY800's widths 56, 136, 776 depend on it).
std::vector<StageShape> stages_of(const RegNetSpec& s) {
  std::map<int64_t, int64_t> counts;  // quantised width -> blocks, ascending as np.unique
  for (int64_t i = 0; i < s.depth; ++i) {
    const double width = s.initial_width + s.slope * double(i);
    const double exponent = std::nearbyint(std::log(width / s.initial_width) / std::log(s.quantized_param));
    const double quantised = s.initial_width * std::pow(s.quantized_param, exponent);
    ++counts[int64_t(8 * std::nearbyint(quantised / 8))];
  }
  std::vector<StageShape> stages;
  for (const auto& [width, blocks] : counts) {
    const auto adjusted = int64_t(std::nearbyint(double(width) / double(s.group_width))) * s.group_width;
    stages.push_back({blocks, adjusted, std::min(s.group_width, width)});
  }
  return stages;
}

torch::nn::Sequential conv_bn(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups, bool relu) {
  torch::nn::Sequential seq(conv(in, out, kernel, stride, groups, false), BatchNorm2d(out));
  if (relu) seq->push_back(torch::nn::ReLU());
  return seq;
}

}  // namespace

XBlockImpl::XBlockImpl(int64_t in, int64_t out, int64_t group_width, int64_t stride, int64_t se_ratio,
                       double droppath_prob)
    : droppath_prob_(droppath_prob) {
  conv_block_1_ = register_module("conv_block_1", conv_bn(in, out, 1, 1, 1, true));
  conv_block_2_ = register_module("conv_block_2", conv_bn(out, out, 3, stride, out / group_width, true));
  const int64_t se_channels = in / se_ratio;
  se_ = register_module(
      "se", torch::nn::Sequential(torch::nn::AdaptiveAvgPool2d(1), conv(out, se_channels, 1, 1, 1, true),
                                  torch::nn::ReLU(), conv(se_channels, out, 1, 1, 1, true), torch::nn::Sigmoid()));
  conv_block_3_ = register_module("conv_block_3", conv_bn(out, out, 1, 1, 1, false));
  if (stride != 1 || in != out) shortcut_ = register_module("shortcut", conv_bn(in, out, 1, stride, 1, false));
}

torch::Tensor XBlockImpl::forward(torch::Tensor x) {
  torch::Tensor y = conv_block_2_->forward(conv_block_1_->forward(x));
  y = conv_block_3_->forward(y * se_->forward(y));
  const torch::Tensor shortcut = shortcut_ ? shortcut_->forward(x) : x;
  return torch::relu(drop_path(y, droppath_prob_, is_training()) + shortcut);
}

RegNet::RegNet(const RegNetSpec& spec, const ModelOptions& options) : dropout_(options.params.at("dropout_prob")) {
  net_ = register_module("net", std::make_shared<torch::nn::Module>());
  stem_ = net_->register_module("stem", torch::nn::Sequential());
  // SG's Stem names its children conv, bn, rl; a Sequential keeps that order and forward.
  stem_->push_back("conv", conv(options.in_channels, kStemWidth, 3, 2, 1, false));
  stem_->push_back("bn", BatchNorm2d(kStemWidth));
  stem_->push_back("rl", torch::nn::ReLU());
  int64_t channels = kStemWidth;
  const std::vector<StageShape> stages = stages_of(spec);
  for (size_t i = 0; i < stages.size(); ++i) {
    auto stage = net_->register_module("stage_" + std::to_string(i), std::make_shared<torch::nn::Module>());
    auto blocks = stage->register_module("blocks", std::make_shared<torch::nn::Module>());
    for (int64_t b = 0; b < stages[i].blocks; ++b) {
      blocks_.push_back(
          blocks->register_module("block_" + std::to_string(b),
                                  XBlock(channels, stages[i].width, stages[i].group_width, b == 0 ? spec.stride : 1,
                                         spec.se_ratio, options.params.at("droppath_prob"))));
      channels = stages[i].width;
    }
  }
  head_ = net_->register_module("head", std::make_shared<torch::nn::Module>());
  fc_ = head_->register_module("fc", torch::nn::Linear(channels, options.num_classes));
  init_sg_style(*this);  // SG's AnyNetX.initialize_weight
}

torch::Tensor RegNet::forward(torch::Tensor images) {
  torch::Tensor x = stem_->forward(images);
  for (auto& block : blocks_) x = block->forward(x);
  x = x.mean({2, 3});
  x = torch::nn::functional::dropout(x,
                                     torch::nn::functional::DropoutFuncOptions().p(dropout_).training(is_training()));
  return fc_->forward(x);
}

void RegNet::reset_head(int64_t num_classes) { fc_ = head_->replace_module("fc", fresh_head(fc_, num_classes)); }

}  // namespace sg::models
