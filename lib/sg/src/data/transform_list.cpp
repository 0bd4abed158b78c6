#include "sg/data/transform_list.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include "albumentations_list.hpp"
#include "image/rand_augment.hpp"
#include "transform_item.hpp"

namespace sg {
namespace {

using image::Interpolation;

image::Pipeline::Step resize(const TransformItem& t) {
  t.only({"size", "interpolation", "max_size", "antialias"});
  if (!t.flag("antialias", true)) t.fail("antialias", "only True (PIL's resampling) is implemented");
  const auto size = t.size("size");
  if (size.size() == 2) {
    if (t.has("max_size")) t.fail("max_size", "torchvision allows it only with a single size");
    return std::make_shared<image::Resize>(size[0], size[1], t.interpolation("interpolation"));
  }
  std::optional<int> max_size;
  if (t.has("max_size")) max_size = t.integer("max_size", 0);
  return std::make_shared<image::Resize>(size[0], t.interpolation("interpolation"), max_size);
}

image::Pipeline::Step center_crop(const TransformItem& t) {
  t.only({"size"});
  const auto size = t.size("size");
  return std::make_shared<image::CenterCrop>(size[0], size.back());
}

image::Pipeline::Step random_crop(const TransformItem& t) {
  t.only({"size", "padding", "pad_if_needed", "fill", "padding_mode"});
  const auto size = t.size("size");
  image::RandomCrop::Options o;
  if (t.has("padding")) {
    std::vector<int> p;
    for (double v : t.numbers("padding")) {
      if (v != std::floor(v) || v < 0 || v > 1 << 16) t.fail("padding", "expected whole numbers >= 0");
      p.push_back(int(v));
    }
    if (p.size() == 1) o.padding = {p[0], p[0], p[0], p[0]};
    else if (p.size() == 2) o.padding = {p[0], p[1], p[0], p[1]};   // torchvision: left/right, top/bottom
    else if (p.size() == 4) o.padding = {p[0], p[1], p[2], p[3]};
    else t.fail("padding", "expected 1, 2 or 4 numbers");
  }
  o.pad_if_needed = t.flag("pad_if_needed", false);
  if (t.has("fill")) {
    const auto f = t.numbers("fill");
    if (f.size() != 1 && f.size() != 3) t.fail("fill", "expected one number or three");
    for (size_t c = 0; c < 3; ++c) {
      const double v = f[f.size() == 1 ? 0 : c];
      if (v != std::floor(v) || v < 0 || v > 255) t.fail("fill", "expected whole numbers in 0..255");
      o.fill[c] = static_cast<uint8_t>(v);
    }
  }
  try {
    o.padding_mode = image::parse_pad_mode(t.text("padding_mode", "constant"));
  } catch (const std::invalid_argument& e) {
    t.fail("padding_mode", e.what());
  }
  return std::make_shared<image::RandomCrop>(size[0], size.back(), o);
}

image::Pipeline::Step random_resized_crop(const TransformItem& t, bool sg_variant) {
  if (sg_variant) t.only({"size", "scale", "ratio", "interpolation"});
  else t.only({"size", "scale", "ratio", "interpolation", "antialias"});
  if (!sg_variant && !t.flag("antialias", true)) t.fail("antialias", "only True (PIL's resampling) is implemented");
  const auto size = t.size("size");
  std::vector<Interpolation> interpolations;
  const std::string name = t.text("interpolation", sg_variant ? "default" : "bilinear");
  if (sg_variant && name == "default") interpolations = {Interpolation::bilinear};
  else if (sg_variant && name == "random") interpolations = {Interpolation::bilinear, Interpolation::bicubic};
  else interpolations = {t.interpolation("interpolation")};
  return std::make_shared<image::RandomResizedCrop>(size[0], size.back(), t.pair("scale", {0.08, 1.0}),
                                                    t.pair("ratio", {3.0 / 4.0, 4.0 / 3.0}), interpolations);
}

image::Pipeline::Step color_jitter(const TransformItem& t) {
  t.only({"brightness", "contrast", "saturation", "hue"});
  auto range = [&](const std::string& key, bool hue) -> image::ColorJitter::Range {
    if (!t.has(key)) return std::nullopt;
    const auto v = t.numbers(key);
    if (v.size() == 2) return std::array<double, 2>{v[0], v[1]};
    if (v.size() != 1 || v[0] < 0) t.fail(key, "expected a number >= 0 or [min, max]");
    return hue ? image::ColorJitter::hue_range(v[0]) : image::ColorJitter::factor_range(v[0]);
  };
  return std::make_shared<image::ColorJitter>(range("brightness", false), range("contrast", false),
                                              range("saturation", false), range("hue", true));
}

image::RandomErasing random_erasing(const TransformItem& t, bool sg_variant) {
  image::RandomErasing e;
  if (sg_variant) {
    t.only({"probability", "value"});
    if (!t.has("probability") || !t.has("value")) t.fail("", "needs probability and value ('random' or a number)");
    e.p = t.number("probability", 0.5);
  } else {
    t.only({"p", "scale", "ratio", "value", "inplace"});
    e.p = t.number("p", 0.5);
    e.scale = t.pair("scale", e.scale);
    e.ratio = t.pair("ratio", e.ratio);
  }
  if (t.has("value") && !(t.node("value").IsScalar() && t.node("value").as<std::string>() == "random")) {
    std::vector<float> value;
    for (double v : t.numbers("value")) value.push_back(float(v));
    e.value = value;
  } else if (!t.has("value")) {
    e.value = std::vector<float>{0.0f};   // torchvision's default
  }
  try {
    e.check();
  } catch (const std::invalid_argument& error) {
    t.fail("", error.what());
  }
  return e;
}

image::Pipeline::Step rand_augment(const TransformItem& t) {
  t.only({"config_str", "crop_size", "img_mean"});
  if (!t.has("config_str") || !t.has("crop_size") || !t.has("img_mean"))
    t.fail("", "needs config_str, crop_size and img_mean");
  const int crop_size = t.integer("crop_size", 0);
  if (crop_size <= 0) t.fail("crop_size", "expected a positive whole number");
  const auto mean = t.numbers("img_mean");
  for (double v : mean)
    if (v < 0) t.fail("img_mean", "expected values >= 0 (SG's fill colour is min(255, round(255 * value)))");
  try {
    return std::make_shared<image::RandAugment>(t.text("config_str", ""), crop_size, mean);
  } catch (const std::invalid_argument& e) {
    t.fail("config_str", e.what());
  }
}

const std::set<std::string>& not_implemented() {
  static const std::set<std::string> names = {
      "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix", "Lighting",
      "RandomVerticalFlip", "RandomRotation", "RandomAffine", "RandomPerspective",
      "GaussianBlur", "RandomGrayscale", "Grayscale", "Pad", "FiveCrop", "TenCrop", "RandomApply",
      "RandomChoice", "RandomOrder", "Lambda", "ConvertImageDtype", "PILToTensor", "RandomInvert",
      "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize"};
  return names;
}

}  // namespace

image::Pipeline read_transform_list(const Recipe& recipe, const std::string& key) {
  const YAML::Node list = recipe.node(key);
  if (list.IsMap() && list.size() == 1 && list["Albumentations"]) return read_albumentations(list["Albumentations"], key);
  if (list.IsSequence() && list.size() == 1 && list[0].IsMap() && list[0]["Albumentations"])
    return read_albumentations(list[0]["Albumentations"], key + "[0]");
  if (!list.IsSequence()) throw RecipeError(key + ": expected a list of transforms, or {Albumentations: {Compose: ...}}");
  image::Pipeline p;
  bool to_tensor = false, normalized = false;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = key + "[" + std::to_string(i) + "]";
    const TransformItem t = TransformItem::read(list[i], where);
    const std::string& name = t.name();
    const bool image_step = name != "ToTensor" && name != "Normalize" && name != "RandomErase" && name != "RandomErasing";
    if (image_step && to_tensor) t.fail("", "an image transform after ToTensor (torchvision's PIL transforms come first)");
    if (!image_step && name != "ToTensor" && !to_tensor) t.fail("", "needs ToTensor before it");
    if (name == "Resize") p.image_steps.push_back(resize(t));
    else if (name == "CenterCrop") p.image_steps.push_back(center_crop(t));
    else if (name == "RandomCrop") p.image_steps.push_back(random_crop(t));
    else if (name == "RandomResizedCrop") p.image_steps.push_back(random_resized_crop(t, false));
    else if (name == "RandomResizedCropAndInterpolation") p.image_steps.push_back(random_resized_crop(t, true));
    else if (name == "RandomHorizontalFlip") {
      t.only({"p"});
      p.image_steps.push_back(std::make_shared<image::RandomHorizontalFlip>(t.number("p", 0.5)));
    } else if (name == "ColorJitter") p.image_steps.push_back(color_jitter(t));
    else if (name == "RandAugmentTransform") p.image_steps.push_back(rand_augment(t));
    else if (name == "ToTensor") {
      t.only({});
      if (to_tensor) t.fail("", "ToTensor twice");
      to_tensor = true;
    } else if (name == "Normalize") {
      t.only({"mean", "std", "inplace"});
      if (normalized || !p.tensor_steps.empty()) t.fail("", "Normalize must come once, before erasing");
      if (!t.has("mean") || !t.has("std")) t.fail("", "needs mean and std");
      p.mean.clear();
      p.std.clear();
      for (double v : t.numbers("mean")) p.mean.push_back(float(v));
      for (double v : t.numbers("std")) {
        if (!(v > 0)) t.fail("std", "every value must be positive");
        p.std.push_back(float(v));
      }
      normalized = true;
    } else if (name == "RandomErase" || name == "RandomErasing") {
      p.tensor_steps.push_back(random_erasing(t, name == "RandomErase"));
    } else if (name == "Albumentations") {
      t.fail("", "with other transforms in the list: not implemented (SG's Albumentations wrapper is the whole list here)");
    } else if (not_implemented().count(name)) {
      t.fail("", "not implemented here (SG and torchvision have it; remove it or replace it)");
    } else {
      t.fail("", "unknown transform");
    }
  }
  if (!to_tensor) throw RecipeError(key + ": no ToTensor (a batch is made of tensors)");
  return p;
}

image::Pipeline builtin_transforms(int crop_padding, bool horizontal_flip, std::vector<float> mean,
                                   std::vector<float> std) {
  image::Pipeline p;
  if (crop_padding > 0) {
    image::RandomCrop::Options o;
    o.padding = {crop_padding, crop_padding, crop_padding, crop_padding};
    p.image_steps.push_back(std::make_shared<image::RandomCrop>(image::RandomCrop::same_size(o)));
  }
  if (horizontal_flip) p.image_steps.push_back(std::make_shared<image::RandomHorizontalFlip>(0.5));
  p.mean = std::move(mean);
  p.std = std::move(std);
  return p;
}

}  // namespace sg
