// sg::create_model: architectures by name.
#include <stdexcept>
#include <utility>

#include "models/resnet.hpp"
#include "sg/models/model.hpp"

namespace sg {

namespace {

using ModelFactory = std::shared_ptr<Classifier> (*)(const ModelOptions&);

template <models::ResNetSpec (*Spec)()>
std::shared_ptr<Classifier> resnet(const ModelOptions& options) {
  return std::make_shared<models::ResNet>(Spec(), options);
}

// Every architecture: its name and its factory, in the order model_names() lists them.
// A new architecture is a file under models/ with its factory, and a row here.
const std::vector<std::pair<std::string, ModelFactory>>& registry() {
  static const std::vector<std::pair<std::string, ModelFactory>> entries = {
      {"resnet18", &resnet<models::resnet18_spec>},
      {"resnet34", &resnet<models::resnet34_spec>},
      {"resnet50", &resnet<models::resnet50_spec>},
      {"resnet18_cifar", &resnet<models::resnet18_cifar_spec>},
      {"resnet_mini", &resnet<models::resnet_mini_spec>},
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
    if (entry.first == name) return entry.second(options);
  }
  std::string known;
  for (const auto& entry : registry()) {
    if (!known.empty()) known += ", ";
    known += entry.first;
  }
  throw std::invalid_argument("unknown architecture '" + name + "' (known: " + known + ")");
}

}  // namespace sg
