#pragma once
// Image classifiers by name, with PyTorch-compatible state dict names.
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace sg {

struct ModelOptions {
  int64_t num_classes = 10;
  int64_t in_channels = 3;
};

// A classifier: images (N, C, H, W) float -> logits (N, num_classes).
class Classifier : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor images) = 0;
  // State-dict prefix of the classification head ("fc", "linear", ...), replaced when a
  // checkpoint's class count differs; everything else is the backbone.
  virtual std::string head_name() const = 0;
  // Replaces the head with a freshly initialised one for `num_classes`.
  virtual void reset_head(int64_t num_classes) = 0;
};

// Registered names: "resnet18", "resnet34", "resnet50" (torchvision's keys and shapes),
// "resnet18_cifar" (SuperGradients' CIFAR ResNet keys), "resnet_mini" (the small default).
// Throws std::invalid_argument naming the unknown architecture and the known ones.
std::shared_ptr<Classifier> create_model(const std::string& name, const ModelOptions& options);
std::vector<std::string> model_names();

}  // namespace sg
