// sg::create_model: architectures by name, with the arch_params each one reads.
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/mobilenet_v2.hpp"
#include "models/resnet.hpp"
#include "sg/models/model.hpp"

namespace sg {

namespace {

// Gets options with every declared parameter present (defaults filled in).
using ModelFactory = std::shared_ptr<Classifier> (*)(const ModelOptions&);

struct Architecture {
  std::string name;
  ModelFactory factory;
  std::vector<ArchParamSpec> params;
};

template <models::ResNetSpec (*Spec)()>
std::shared_ptr<Classifier> resnet(const ModelOptions& options) {
  return std::make_shared<models::ResNet>(Spec(), options);
}

template <class Model>
std::shared_ptr<Classifier> make(const ModelOptions& options) {
  return std::make_shared<Model>(options);
}

// SuperGradients' ResNet(droppath_prob=...): stochastic depth on every residual branch.
const std::vector<ArchParamSpec> kResNetParams = {
    {"droppath_prob", 0.0, 0.0, 1.0, "probability of dropping a residual branch per sample while training"},
};

// SuperGradients' MobileNetV2Base: the classifier's Dropout(dropout).
const std::vector<ArchParamSpec> kMobileNetV2Params = {
    {"dropout", 0.0, 0.0, 1.0, "dropout probability before the classifier's linear layer"},
};

// Every architecture: its name, its factory and its parameters, in the order
// model_names() lists them. A new architecture is a file under models/ and a row here.
const std::vector<Architecture>& registry() {
  static const std::vector<Architecture> entries = {
      {"resnet18", &resnet<models::resnet18_spec>, kResNetParams},
      {"resnet34", &resnet<models::resnet34_spec>, kResNetParams},
      {"resnet50", &resnet<models::resnet50_spec>, kResNetParams},
      {"resnet18_cifar", &resnet<models::resnet18_cifar_spec>, kResNetParams},
      {"torchvision_resnet18", &resnet<models::torchvision_resnet18_spec>, kResNetParams},
      {"torchvision_resnet34", &resnet<models::torchvision_resnet34_spec>, kResNetParams},
      {"torchvision_resnet50", &resnet<models::torchvision_resnet50_spec>, kResNetParams},
      {"mobilenet_v2", &make<models::MobileNetV2>, kMobileNetV2Params},
      {"resnet_mini", &resnet<models::resnet_mini_spec>, kResNetParams},
  };
  return entries;
}

const Architecture& find_architecture(const std::string& name) {
  for (const auto& entry : registry()) {
    if (entry.name == name) return entry;
  }
  std::string known;
  for (const auto& entry : registry()) known += (known.empty() ? "" : ", ") + entry.name;
  throw std::invalid_argument("unknown architecture '" + name + "' (known: " + known + ")");
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// `options` checked (counts, the parameters `arch` declares and their ranges), with the
// defaults of the parameters left out filled in.
ModelOptions completed(const Architecture& arch, const ModelOptions& options) {
  if (options.num_classes < 1)
    throw std::invalid_argument("arch_params.num_classes: must be at least 1, got " + std::to_string(options.num_classes));
  if (options.in_channels < 1)
    throw std::invalid_argument("arch_params.in_channels: must be at least 1, got " + std::to_string(options.in_channels));
  ModelOptions out = options;
  for (const auto& [name, value] : options.params) {
    bool declared = false;
    for (const auto& spec : arch.params) declared = declared || spec.name == name;
    if (!declared) {
      std::string reads = "num_classes, in_channels";
      for (const auto& spec : arch.params) reads += ", " + spec.name;
      throw std::invalid_argument("arch_params." + name + ": not a parameter of architecture '" + arch.name +
                                  "' (it reads " + reads + ")");
    }
  }
  for (const auto& spec : arch.params) {
    const auto given = options.params.find(spec.name);
    const double value = given == options.params.end() ? spec.default_value : given->second;
    if (!(value >= spec.min && value <= spec.max))
      throw std::invalid_argument("arch_params." + spec.name + ": " + number(value) + " is outside [" + number(spec.min) + ", " +
                                  number(spec.max) + "]");
    out.params[spec.name] = value;
  }
  return out;
}

}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.name);
  return names;
}

const std::vector<ArchParamSpec>& architecture_params(const std::string& name) {
  return find_architecture(name).params;
}

void validate_model_options(const std::string& name, const ModelOptions& options) {
  completed(find_architecture(name), options);
}

std::shared_ptr<Classifier> create_model(const std::string& name, const ModelOptions& options) {
  const Architecture& arch = find_architecture(name);
  return arch.factory(completed(arch, options));
}

}  // namespace sg
