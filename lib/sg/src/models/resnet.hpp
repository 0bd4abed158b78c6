#pragma once
// ResNet family behind sg::create_model (internal to lib/sg).
//
// One configurable implementation covers SuperGradients' ResNets (resnet18/34/50 and the
// CIFAR resnet18_cifar), torchvision's (torchvision_resnet18/34/50) and the small default
// model (resnet_mini).
// Submodules are registered in the order the Python reference's __init__ assigns them, so
// sg::state_dict() lists the same keys in the same order as Python's `state_dict()`.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "sg/models/batch_norm.hpp"
#include "sg/models/model.hpp"

namespace sg::models {

enum class BlockKind { Basic, Bottleneck };

enum class Stem {
  ImageNet,   // conv 7x7 stride 2 pad 3, BN, ReLU, maxpool 3x3 stride 2 pad 1 (torchvision)
  Small,      // conv 3x3 stride 1 pad 1, BN, ReLU (CIFAR / 28x28 inputs)
};

enum class Init {
  TorchVision,     // convs kaiming_normal_(fan_out, relu), BN weight 1 bias 0, Linear default
  PyTorchDefault,  // every layer's own reset_parameters() (what SG's CifarResNet keeps)
};

struct ResNetSpec {
  BlockKind block = BlockKind::Basic;
  std::vector<int64_t> blocks;    // blocks per stage
  std::vector<int64_t> widths;    // planes per stage
  std::vector<int64_t> strides;   // first block's stride per stage
  Stem stem = Stem::ImageNet;
  int64_t stem_width = 64;
  std::string shortcut_name = "downsample";   // torchvision: downsample; SG: shortcut
  std::string head_name = "fc";               // torchvision: fc; SG: linear
  Init init = Init::TorchVision;
};

// A residual block: torchvision's BasicBlock/Bottleneck (same layout as SG's
// BasicResNetBlock/Bottleneck). Children: conv1 bn1 conv2 bn2 [conv3 bn3] [<shortcut>].
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(BlockKind kind, int64_t in_planes, int64_t planes, int64_t stride,
                    const std::string& shortcut_name, double droppath_prob);
  torch::Tensor forward(torch::Tensor x);

  static int64_t expansion(BlockKind kind) { return kind == BlockKind::Bottleneck ? 4 : 1; }

 private:
  BlockKind kind_;
  double droppath_prob_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};   // null: identity (no state)
};
TORCH_MODULE(ResidualBlock);

class ResNet : public Classifier {
 public:
  // options.params: droppath_prob (every residual block's, as in SG's ResNet).
  ResNet(const ResNetSpec& spec, const ModelOptions& options);

  torch::Tensor forward(torch::Tensor images) override;
  std::string head_name() const override { return spec_.head_name; }
  void reset_head(int64_t num_classes) override;

 private:
  ResNetSpec spec_;
  torch::nn::Conv2d conv1_{nullptr};
  BatchNorm2d bn1_{nullptr};
  std::vector<torch::nn::Sequential> layers_;
  torch::nn::Linear head_{nullptr};
};

// Specs of the registered architectures.
ResNetSpec torchvision_resnet18_spec();
ResNetSpec torchvision_resnet34_spec();
ResNetSpec torchvision_resnet50_spec();
ResNetSpec resnet18_spec();
ResNetSpec resnet34_spec();
ResNetSpec resnet50_spec();
ResNetSpec resnet18_cifar_spec();
ResNetSpec resnet_mini_spec();

}  // namespace sg::models
