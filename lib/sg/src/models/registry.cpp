// sg::create_model: architectures by name.
#include <functional>
#include <stdexcept>
#include <utility>

#include "models/resnet.hpp"
#include "sg/model.hpp"

namespace sg {

namespace {

using SpecFn = models::ResNetSpec (*)();

// In the order model_names() lists them.
const std::vector<std::pair<std::string, SpecFn>>& registry() {
  static const std::vector<std::pair<std::string, SpecFn>> entries = {
      {"resnet18", &models::resnet18_spec},
      {"resnet34", &models::resnet34_spec},
      {"resnet50", &models::resnet50_spec},
      {"resnet18_cifar", &models::resnet18_cifar_spec},
      {"resnet_mini", &models::resnet_mini_spec},
  };
  return entries;
}

}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

std::shared_ptr<Classifier> create_model(const std::string& name, const ModelOptions& options) {
  for (const auto& entry : registry()) {
    if (entry.first == name) return std::make_shared<models::ResNet>(entry.second(), options);
  }
  std::string known;
  for (const auto& entry : registry()) {
    if (!known.empty()) known += ", ";
    known += entry.first;
  }
  throw std::invalid_argument("unknown architecture '" + name + "' (known: " + known + ")");
}

}  // namespace sg
