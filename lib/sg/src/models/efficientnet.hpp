#pragma once
// SuperGradients' EfficientNet (classification_models/efficientnet.py, `efficientnet_b0`)
// behind sg::create_model (internal to lib/sg): SG's state-dict keys (`_conv_stem`, `_bn0`,
// `_blocks.N._expand_conv` ..., `_conv_head`, `_bn1`, `_fc`), order and shapes, and its
// TensorFlow-style "same" padding, fixed for arch_params.image_size as SG's static padding.
#include <array>
#include <string>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "sg/models/batch_norm.hpp"
#include "sg/models/model.hpp"

namespace sg::models {

// Left, right, top, bottom zero padding of a convolution.
using Padding = std::array<int64_t, 4>;

// SG's MBConvBlock: [expand 1x1, BN, SiLU], depthwise kxk, BN, SiLU, squeeze-excitation,
// project 1x1, BN, and the skip connection (with drop connect) when shapes allow.
class MBConvBlockImpl : public torch::nn::Module {
 public:
  struct Spec {
    int64_t in, out, kernel, stride, expand;
    bool skip;      // SG skips only repeated blocks (their stride is the integer 1)
    int64_t image;  // input side the static padding is computed for
  };
  MBConvBlockImpl(const Spec& spec, const torch::nn::BatchNormOptions& bn);
  torch::Tensor forward(torch::Tensor x, double drop_connect);

 private:
  bool skip_;
  Padding depthwise_pad_;
  torch::nn::Conv2d expand_{nullptr}, depthwise_{nullptr}, se_reduce_{nullptr}, se_expand_{nullptr}, project_{nullptr};
  BatchNorm2d bn0_{nullptr}, bn1_{nullptr}, bn2_{nullptr};
};
TORCH_MODULE(MBConvBlock);

class EfficientNet : public Classifier {
 public:
  // options.params: width_coefficient, depth_coefficient, depth_divisor, min_depth (0: none),
  // image_size, dropout_rate, drop_connect_rate, batch_norm_momentum (TensorFlow's sense:
  // PyTorch's momentum is 1 minus it), batch_norm_epsilon.
  explicit EfficientNet(const ModelOptions& options);

  torch::Tensor forward(torch::Tensor images) override;
  std::string head_name() const override { return "_fc"; }
  void reset_head(int64_t num_classes) override;

 private:
  double dropout_, drop_connect_;
  Padding stem_pad_;
  torch::nn::Conv2d stem_{nullptr}, head_conv_{nullptr};
  BatchNorm2d bn0_{nullptr}, bn1_{nullptr};
  std::vector<MBConvBlock> blocks_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace sg::models
