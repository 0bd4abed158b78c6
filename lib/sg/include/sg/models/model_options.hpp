#pragma once
// What a model is built from (the recipe's arch_params), and the registered architectures'
// names and parameters. No LibTorch: programs that only name or check models include this.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sg {

struct ModelOptions {
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  // The architecture's own arch_params (e.g. "droppath_prob"), each one declared by the
  // architecture (architecture_params()); create_model rejects any other and fills the
  // defaults of those left out.
  std::map<std::string, double> params;
};

// One architecture-specific arch_params entry: a number within [min, max], or a boolean
// (False 0, True 1; min == max where only one of them is implemented), or, where
// `only_value` is set, a setting the architecture has in one form only (a name, a table),
// given as YAML text: the recipe may restate it, and any other value is refused.
struct ArchParamSpec {
  std::string name;
  double default_value = 0;
  double min = 0;
  double max = 0;
  std::string meaning;
  bool boolean = false;
  std::string only_value = "";
  bool square_pair = false;   // a size SG writes as [height, width]: read as n or [n, n]
};

// Registered names: "resnet18", "resnet34", "resnet50", "resnet18_cifar" (SuperGradients'
// keys and shapes), "torchvision_resnet18/34/50" (torchvision's), "resnet_mini" (the small
// default).
std::vector<std::string> model_names();

// Throws what create_model(name, options) would (std::invalid_argument naming the unknown
// architecture and the known ones, or the parameter the architecture does not read or
// that is out of its range), without building the model.
void validate_model_options(const std::string& name, const ModelOptions& options);

// The arch_params `name` reads besides num_classes and in_channels; throws
// std::invalid_argument for an unknown architecture.
const std::vector<ArchParamSpec>& architecture_params(const std::string& name);

}  // namespace sg
