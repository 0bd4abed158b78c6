// sg::create_model: architectures by name, with the arch_params each one reads.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/efficientnet.hpp"
#include "models/mobilenet_v2.hpp"
#include "models/mobilenet_v3.hpp"
#include "models/regnet.hpp"
#include "models/repvgg.hpp"
#include "models/resnet.hpp"
#include "models/vit.hpp"
#include "sg/models/model.hpp"

namespace sg {

namespace {

// Gets options with every declared parameter present (defaults filled in).
using ModelFactory = std::shared_ptr<Classifier> (*)(const ModelOptions&);

struct Architecture {
  std::string name;
  ModelFactory factory;
  std::vector<ArchParamSpec> params;
  std::vector<std::string> whole_numbers = {};  // the params that are sizes or counts
};

// A family's model built from one of its specs (a function returning it).
template <class Model, auto Spec>
std::shared_ptr<Classifier> with_spec(const ModelOptions& options) {
  return std::make_shared<Model>(Spec(), options);
}

template <class Model>
std::shared_ptr<Classifier> make(const ModelOptions& options) {
  return std::make_shared<Model>(options);
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// SuperGradients' ResNet(droppath_prob=...): stochastic depth on every residual branch.
const std::vector<ArchParamSpec> kResNetParams = {
    {"droppath_prob", 0.0, 0.0, 1.0, "probability of dropping a residual branch per sample while training"},
};

// SuperGradients' MobileNetV2Base: the classifier's Dropout(dropout).
const std::vector<ArchParamSpec> kMobileNetV2Params = {
    {"dropout", 0.0, 0.0, 1.0, "dropout probability before the classifier's linear layer"},
};

// SuperGradients' EfficientNetB0 (get_efficientnet_params' defaults for B0).
const std::vector<ArchParamSpec> kEfficientNetB0Params = {
    {"width_coefficient", 1.0, 0.01, 100.0, "channel multiplier (SG's round_filters)"},
    {"depth_coefficient", 1.0, 0.01, 100.0, "block-count multiplier (SG's round_repeats)"},
    {"depth_divisor", 8, 1, 1024, "channel counts are rounded to multiples of this"},
    {"min_depth", 0, 0, 65536, "smallest channel count after rounding (0: depth_divisor)"},
    {"image_size", 224, 1, 65536, "input side the static same padding is computed for"},
    {"dropout_rate", 0.2, 0.0, 1.0, "dropout probability before the classifier"},
    {"drop_connect_rate", 0.2, 0.0, 1.0, "drop connect probability of the last block (scaled by block index)"},
    {"batch_norm_momentum", 0.99, 0.0, 1.0, "TensorFlow-style batch norm momentum (PyTorch's is 1 minus it)"},
    {"batch_norm_epsilon", 1e-3, 0.0, 1.0, "batch norm epsilon"},
};
const std::vector<std::string> kEfficientNetB0WholeNumbers = {"depth_divisor", "min_depth", "image_size"};

// SuperGradients' mobilenetv3_large / mobilenetv3_small read arch_params.width_mult only;
// SG's recipes also state their dropout, mode and block table, which these classes fix.
std::vector<ArchParamSpec> mobilenet_v3_params(const models::MobileNetV3Spec& spec, const std::string& mode) {
  std::string table;
  for (const models::MobileNetV3Block& b : spec.blocks) {
    table += table.empty() ? "[" : ", ";
    table += "[" + std::to_string(b.kernel) + ", " + number(b.expand) + ", " + std::to_string(b.out) + ", " +
             (b.se ? "1" : "0") + ", " + (b.hswish ? "1" : "0") + ", " + std::to_string(b.stride) + "]";
  }
  table += "]";
  const std::string fixed = "fixed in SG's mobilenetv3_" + mode;
  return {
      {"width_mult", 1.0, 0.01, 100.0, "channel multiplier (SG's _make_divisible by 8)"},
      {"dropout", 0.2, 0.2, 0.2, "the classifier's dropout, " + fixed},
      {"mode", 0, 0, 0, fixed, false, mode},
      {"structure", 0, 0, 0, "the block table, " + fixed + " (mobilenetv3_custom is not implemented)", false, table},
  };
}

// SuperGradients' RegNetX/RegNetY (get_param(arch_params, "dropout_prob"/"droppath_prob")).
const std::vector<ArchParamSpec> kRegNetParams = {
    {"dropout_prob", 0.0, 0.0, 1.0, "dropout probability before the head's linear layer"},
    {"droppath_prob", 0.0, 0.0, 1.0, "probability of dropping a block's residual branch per sample while training"},
    {"backbone_mode", 0, 0, 0, "the backbone without its head is not implemented", true},
};

// SuperGradients' RepVGG: the training-time form with its three branches, SE-free.
const std::vector<ArchParamSpec> kRepVggParams = {
    {"backbone_mode", 0, 0, 0, "the backbone without its head is not implemented", true},
    {"use_se", 0, 0, 0, "squeeze-and-excitation blocks are not implemented", true},
    {"build_residual_branches", 1, 1, 1, "the deploy form (branches fused) is not implemented", true},
};

// SuperGradients' ViTBase/ViTLarge/ViTHuge (get_param(arch_params, ...)). SG's image_size
// and patch_size are (height, width) pairs; squares only here.
const std::vector<ArchParamSpec> kViTParams = {
    {"image_size", 224, 1, 65536, "input side the position embedding is sized for (square)", false, "", true},
    {"patch_size", 16, 1, 65536, "side of the square patches (the embedding convolution's kernel and stride)", false,
     "", true},
    {"dropout_prob", 0.0, 0.0, 1.0, "dropout probability after each linear layer of the feed-forward blocks"},
    {"emb_dropout_prob", 0.0, 0.0, 1.0, "dropout probability after the position embedding is added"},
};
const std::vector<std::string> kViTWholeNumbers = {"image_size", "patch_size"};

// Every architecture: its name, its factory and its parameters, in the order
// model_names() lists them. A new architecture is a file under models/ and a row here.
const std::vector<Architecture>& registry() {
  static const std::vector<Architecture> entries = {
      {"resnet18", &with_spec<models::ResNet, models::resnet18_spec>, kResNetParams},
      {"resnet34", &with_spec<models::ResNet, models::resnet34_spec>, kResNetParams},
      {"resnet50", &with_spec<models::ResNet, models::resnet50_spec>, kResNetParams},
      {"resnet18_cifar", &with_spec<models::ResNet, models::resnet18_cifar_spec>, kResNetParams},
      {"torchvision_resnet18", &with_spec<models::ResNet, models::torchvision_resnet18_spec>, kResNetParams},
      {"torchvision_resnet34", &with_spec<models::ResNet, models::torchvision_resnet34_spec>, kResNetParams},
      {"torchvision_resnet50", &with_spec<models::ResNet, models::torchvision_resnet50_spec>, kResNetParams},
      {"mobilenet_v2", &make<models::MobileNetV2>, kMobileNetV2Params},
      {"mobilenet_v3_large", &with_spec<models::MobileNetV3, models::mobilenet_v3_large_spec>,
       mobilenet_v3_params(models::mobilenet_v3_large_spec(), "large")},
      {"mobilenet_v3_small", &with_spec<models::MobileNetV3, models::mobilenet_v3_small_spec>,
       mobilenet_v3_params(models::mobilenet_v3_small_spec(), "small")},
      {"efficientnet_b0", &make<models::EfficientNet>, kEfficientNetB0Params, kEfficientNetB0WholeNumbers},
      {"regnetY200", &with_spec<models::RegNet, models::regnet_y200_spec>, kRegNetParams},
      {"regnetY400", &with_spec<models::RegNet, models::regnet_y400_spec>, kRegNetParams},
      {"regnetY600", &with_spec<models::RegNet, models::regnet_y600_spec>, kRegNetParams},
      {"regnetY800", &with_spec<models::RegNet, models::regnet_y800_spec>, kRegNetParams},
      {"repvgg_a0", &with_spec<models::RepVGG, models::repvgg_a0_spec>, kRepVggParams},
      {"vit_base", &with_spec<models::ViT, models::vit_base_spec>, kViTParams, kViTWholeNumbers},
      {"vit_large", &with_spec<models::ViT, models::vit_large_spec>, kViTParams, kViTWholeNumbers},
      {"vit_huge", &with_spec<models::ViT, models::vit_huge_spec>, kViTParams, kViTWholeNumbers},
      {"resnet_mini", &with_spec<models::ResNet, models::resnet_mini_spec>, kResNetParams},
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
    if (!spec.only_value.empty()) continue;   // checked where the recipe is read
    const auto given = options.params.find(spec.name);
    const double value = given == options.params.end() ? spec.default_value : given->second;
    if (spec.boolean && spec.min == spec.max && value != spec.min)
      throw std::invalid_argument("arch_params." + spec.name + ": " + (value != 0 ? "True" : "False") + " (" +
                                  spec.meaning + ")");
    if (spec.min == spec.max && value != spec.min)
      throw std::invalid_argument("arch_params." + spec.name + ": " + number(value) + " is not implemented, only " +
                                  number(spec.min) + " (" + spec.meaning + ")");
    if (!(value >= spec.min && value <= spec.max))
      throw std::invalid_argument("arch_params." + spec.name + ": " + number(value) + " is outside [" + number(spec.min) + ", " +
                                  number(spec.max) + "]");
    const bool whole = std::find(arch.whole_numbers.begin(), arch.whole_numbers.end(), spec.name) != arch.whole_numbers.end();
    if (whole && value != std::floor(value))
      throw std::invalid_argument("arch_params." + spec.name + ": must be a whole number, got " + number(value));
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
