#pragma once
// Image classifiers by name, with PyTorch-compatible state dict names.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace sg {

struct ModelOptions {
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  // The architecture's own arch_params (e.g. "droppath_prob"), each one declared by the
  // architecture (architecture_params()); create_model rejects any other and fills the
  // defaults of those left out.
  std::map<std::string, double> params;
};

// One architecture-specific arch_params entry: a number within [min, max].
struct ArchParamSpec {
  std::string name;
  double default_value = 0;
  double min = 0;
  double max = 0;
  std::string meaning;
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
// Throws std::invalid_argument naming the unknown architecture and the known ones, or the
// parameter that the architecture does not read or that is out of its range.
std::shared_ptr<Classifier> create_model(const std::string& name, const ModelOptions& options);
std::vector<std::string> model_names();

// Throws what create_model(name, options) would, without building the model.
void validate_model_options(const std::string& name, const ModelOptions& options);

// The arch_params `name` reads besides num_classes and in_channels; throws
// std::invalid_argument for an unknown architecture.
const std::vector<ArchParamSpec>& architecture_params(const std::string& name);

}  // namespace sg
