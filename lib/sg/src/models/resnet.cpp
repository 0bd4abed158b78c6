#include "models/resnet.hpp"

#include <stdexcept>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>

#include "models/layers.hpp"

namespace sg::models {

ResidualBlockImpl::ResidualBlockImpl(BlockKind kind, int64_t in_planes, int64_t planes, int64_t stride,
                                     const std::string& shortcut_name, double droppath_prob)
    : kind_(kind), droppath_prob_(droppath_prob) {
  const int64_t out_planes = planes * expansion(kind);
  // Registration order = attribute order in torchvision's / SG's __init__.
  if (kind == BlockKind::Basic) {
    conv1_ = register_module("conv1", conv_no_bias(in_planes, planes, 3, stride, 1));
    bn1_ = register_module("bn1", BatchNorm2d(planes));
    conv2_ = register_module("conv2", conv_no_bias(planes, planes, 3, 1, 1));
    bn2_ = register_module("bn2", BatchNorm2d(planes));
  } else {
    // ResNet v1.5: the stride sits on the 3x3 convolution.
    conv1_ = register_module("conv1", conv_no_bias(in_planes, planes, 1, 1, 0));
    bn1_ = register_module("bn1", BatchNorm2d(planes));
    conv2_ = register_module("conv2", conv_no_bias(planes, planes, 3, stride, 1));
    bn2_ = register_module("bn2", BatchNorm2d(planes));
    conv3_ = register_module("conv3", conv_no_bias(planes, out_planes, 1, 1, 0));
    bn3_ = register_module("bn3", BatchNorm2d(out_planes));
  }
  if (stride != 1 || in_planes != out_planes) {
    shortcut_ = register_module(
        shortcut_name, torch::nn::Sequential(conv_no_bias(in_planes, out_planes, 1, stride, 0),
                                             BatchNorm2d(out_planes)));
  }
}

torch::Tensor ResidualBlockImpl::forward(torch::Tensor x) {
  // In place where torchvision is (ReLU(inplace=True), out += identity): the block's
  // activations are the biggest tensors of a step, and each copy is a pass over memory.
  torch::Tensor out = bn1_->forward(conv1_->forward(x)).relu_();
  if (kind_ == BlockKind::Basic) {
    out = bn2_->forward(conv2_->forward(out));
  } else {
    out = bn2_->forward(conv2_->forward(out)).relu_();
    out = bn3_->forward(conv3_->forward(out));
  }
  out = drop_path(out, droppath_prob_, is_training());
  out.add_(shortcut_ ? shortcut_->forward(x) : x);
  return out.relu_();
}

ResNet::ResNet(const ResNetSpec& spec, const ModelOptions& options) : spec_(spec) {
  if (spec.blocks.size() != spec.widths.size() || spec.blocks.size() != spec.strides.size()) {
    throw std::logic_error("ResNetSpec: blocks, widths and strides differ in length");
  }
  if (spec.stem == Stem::ImageNet) {
    conv1_ = register_module("conv1", conv_no_bias(options.in_channels, spec.stem_width, 7, 2, 3));
  } else {
    conv1_ = register_module("conv1", conv_no_bias(options.in_channels, spec.stem_width, 3, 1, 1));
  }
  bn1_ = register_module("bn1", BatchNorm2d(spec.stem_width));

  const double droppath_prob = options.params.at("droppath_prob");
  const int64_t expansion = ResidualBlockImpl::expansion(spec.block);
  int64_t in_planes = spec.stem_width;
  for (size_t stage = 0; stage < spec.blocks.size(); ++stage) {
    torch::nn::Sequential layer;
    for (int64_t b = 0; b < spec.blocks[stage]; ++b) {
      const int64_t stride = b == 0 ? spec.strides[stage] : 1;
      layer->push_back(ResidualBlock(spec.block, in_planes, spec.widths[stage], stride, spec.shortcut_name,
                                      droppath_prob));
      in_planes = spec.widths[stage] * expansion;
    }
    layers_.push_back(register_module("layer" + std::to_string(stage + 1), layer));
  }
  head_ = register_module(spec.head_name, torch::nn::Linear(in_planes, options.num_classes));

  if (spec.init == Init::TorchVision) init_torchvision_style(*this);
}

torch::Tensor ResNet::forward(torch::Tensor images) {
  torch::Tensor x = bn1_->forward(conv1_->forward(images)).relu_();
  if (spec_.stem == Stem::ImageNet) {
    x = torch::max_pool2d(x, /*kernel_size=*/{3, 3}, /*stride=*/{2, 2}, /*padding=*/{1, 1});
  }
  for (auto& layer : layers_) {
    x = layer->forward(x);
  }
  x = torch::adaptive_avg_pool2d(x, {1, 1});
  x = torch::flatten(x, 1);
  return head_->forward(x);
}

void ResNet::reset_head(int64_t num_classes) {
  // replace_module keeps the child's position, so the state dict order is unchanged.
  head_ = replace_module(spec_.head_name, fresh_head(head_, num_classes));
}

ResNetSpec torchvision_resnet18_spec() {
  ResNetSpec s;
  s.block = BlockKind::Basic;
  s.blocks = {2, 2, 2, 2};
  s.widths = {64, 128, 256, 512};
  s.strides = {1, 2, 2, 2};
  return s;
}

ResNetSpec torchvision_resnet34_spec() {
  ResNetSpec s = torchvision_resnet18_spec();
  s.blocks = {3, 4, 6, 3};
  return s;
}

ResNetSpec torchvision_resnet50_spec() {
  ResNetSpec s = torchvision_resnet34_spec();
  s.block = BlockKind::Bottleneck;
  return s;
}

// SuperGradients' names and init on a torchvision-shaped network: block shortcut
// `shortcut`, head `linear`, every layer's PyTorch default initialisation.
static ResNetSpec with_sg_names(ResNetSpec s) {
  s.shortcut_name = "shortcut";
  s.head_name = "linear";
  s.init = Init::PyTorchDefault;
  return s;
}

// SuperGradients' ResNet18/34/50 = ResNet(BasicResNetBlock or Bottleneck, blocks): the
// ImageNet stem and torchvision's shapes (Bottleneck strides its 3x3 convolution too).
ResNetSpec resnet18_spec() { return with_sg_names(torchvision_resnet18_spec()); }
ResNetSpec resnet34_spec() { return with_sg_names(torchvision_resnet34_spec()); }
ResNetSpec resnet50_spec() { return with_sg_names(torchvision_resnet50_spec()); }

// SuperGradients' ResNet18Cifar = CifarResNet(BasicResNetBlock, [2, 2, 2, 2]): SG's
// resnet18 with a 3x3 stem and no maxpool.
ResNetSpec resnet18_cifar_spec() {
  ResNetSpec s = resnet18_spec();
  s.stem = Stem::Small;
  return s;
}

// The small default for 28x28 grayscale (Fashion-MNIST): a 3x3 stem at full resolution,
// then one BasicBlock per stage at 16/32/64 channels, each halving the resolution
// (28 -> 14 -> 7 -> 4), global average pool, fc. About 2.7M multiply-adds per image, so an
// epoch of 60k images trains in seconds on 2 CPU cores; torchvision's naming.
ResNetSpec resnet_mini_spec() {
  ResNetSpec s;
  s.block = BlockKind::Basic;
  s.blocks = {1, 1, 1};
  s.widths = {16, 32, 64};
  s.strides = {2, 2, 2};
  s.stem = Stem::Small;
  s.stem_width = 16;
  return s;
}

}  // namespace sg::models
