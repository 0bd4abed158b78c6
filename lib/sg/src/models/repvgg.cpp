#include "models/repvgg.hpp"

#include <torch/nn/modules/conv.h>

#include "models/layers.hpp"

namespace sg::models {

RepVGGSpec repvgg_a0_spec() { return {{2, 4, 14, 1}, {0.75, 0.75, 0.75, 2.5}}; }

namespace {

// SG's RepVGGBlock._conv_bn: Sequential(conv, bn).
torch::nn::Sequential conv_bn(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  torch::nn::Sequential seq;
  seq->push_back("conv", conv_no_bias(in, out, kernel, stride, kernel / 2));
  seq->push_back("bn", BatchNorm2d(out));
  return seq;
}

constexpr int64_t kStageWidths[] = {64, 128, 256, 512};

}  // namespace

RepVGGBlockImpl::RepVGGBlockImpl(int64_t in, int64_t out, int64_t stride) {
  if (in == out && stride == 1) identity_ = register_module("no_conv_branch", BatchNorm2d(in));
  branch_3x3_ = register_module("branch_3x3", conv_bn(in, out, 3, stride));
  branch_1x1_ = register_module("branch_1x1", conv_bn(in, out, 1, stride));
}

torch::Tensor RepVGGBlockImpl::forward(torch::Tensor x) {
  torch::Tensor y = branch_3x3_->forward(x) + branch_1x1_->forward(x);
  if (identity_) y = y + identity_->forward(x);
  return torch::relu(y);
}

RepVGG::RepVGG(const RepVGGSpec& spec, const ModelOptions& options) {
  int64_t channels = int64_t(64 * spec.widths[0]);
  blocks_.push_back(register_module("stem", RepVGGBlock(options.in_channels, channels, 2)));
  for (size_t s = 0; s < spec.blocks.size(); ++s) {
    const auto width = int64_t(double(kStageWidths[s]) * spec.widths[s]);
    auto stage = register_module("stage" + std::to_string(s + 1), torch::nn::Sequential());
    for (int64_t b = 0; b < spec.blocks[s]; ++b) {
      blocks_.push_back(RepVGGBlock(channels, width, b == 0 ? 2 : 1));
      stage->push_back(blocks_.back());
      channels = width;
    }
  }
  linear_ = register_module("linear", torch::nn::Linear(channels, options.num_classes));
}

torch::Tensor RepVGG::forward(torch::Tensor images) {
  torch::Tensor x = images;
  for (auto& block : blocks_) x = block->forward(x);
  return linear_->forward(x.mean({2, 3}));
}

void RepVGG::reset_head(int64_t num_classes) { linear_ = replace_module("linear", fresh_head(linear_, num_classes)); }

}  // namespace sg::models
