#include "albumentations_list.hpp"

#include <memory>
#include <set>

#include "transform_item.hpp"

namespace sg {
namespace {

// Albumentations' transforms all take p and always_apply; the steps here only have a
// meaning with p = 1 (a crop applied to some samples only would give a batch of mixed sizes).
void check_always_applied(const TransformItem& t) {
  if (t.flag("always_apply", false)) return;
  if (t.number("p", 1.0) != 1.0) t.fail("p", "only 1 is implemented for " + t.name());
}

image::Pipeline::Step random_crop(const TransformItem& t) {
  t.only({"height", "width", "p", "always_apply"});
  check_always_applied(t);
  if (!t.has("height") || !t.has("width")) t.fail("", "needs height and width");
  const int height = t.integer("height", 0), width = t.integer("width", 0);
  if (height <= 0 || width <= 0) t.fail("", "height and width must be positive");
  // Albumentations draws the corner uniformly, as torchvision does, and refuses an image
  // smaller than the crop: torchvision's RandomCrop without padding.
  return std::make_shared<image::RandomCrop>(height, width, image::RandomCrop::Options{});
}

image::Pipeline::Step horizontal_flip(const TransformItem& t) {
  t.only({"p", "always_apply"});
  const double p = t.flag("always_apply", false) ? 1.0 : t.number("p", 0.5);
  if (p < 0 || p > 1) t.fail("p", "expected a probability in [0, 1]");
  return std::make_shared<image::RandomHorizontalFlip>(p);
}

// Albumentations' Normalize is (x - mean * max_pixel_value) / (std * max_pixel_value) on the
// 0..255 values; the Pipeline's ToTensor + Normalize is (x / 255 - mean') / std', the same
// with mean' = mean * max_pixel_value / 255 and std' likewise.
void normalize(const TransformItem& t, image::Pipeline& p) {
  t.only({"mean", "std", "max_pixel_value", "p", "always_apply"});
  check_always_applied(t);
  const std::vector<double> mean = t.has("mean") ? t.numbers("mean") : std::vector<double>{0.485, 0.456, 0.406};
  const std::vector<double> std = t.has("std") ? t.numbers("std") : std::vector<double>{0.229, 0.224, 0.225};
  const double max_pixel_value = t.number("max_pixel_value", 255.0);
  if (!(max_pixel_value > 0)) t.fail("max_pixel_value", "expected a positive number");
  p.mean.clear();
  p.std.clear();
  for (double v : mean) p.mean.push_back(float(v * max_pixel_value / 255.0));
  for (double v : std) {
    if (!(v > 0)) t.fail("std", "every value must be positive");
    p.std.push_back(float(v * max_pixel_value / 255.0));
  }
}

const std::set<std::string>& not_implemented() {
  static const std::set<std::string> names = {
      "VerticalFlip", "Flip", "Transpose", "CenterCrop", "Crop", "RandomResizedCrop", "RandomSizedCrop",
      "Resize", "LongestMaxSize", "SmallestMaxSize", "PadIfNeeded", "ShiftScaleRotate", "Rotate",
      "RandomRotate90", "Affine", "ColorJitter", "RandomBrightnessContrast", "HueSaturationValue",
      "RGBShift", "GaussNoise", "GaussianBlur", "Blur", "MotionBlur", "CLAHE", "ToGray", "CoarseDropout",
      "Cutout", "OneOf", "SomeOf", "Sequential", "ToTensor"};
  return names;
}

}  // namespace

image::Pipeline read_albumentations(const YAML::Node& wrapper, const std::string& where) {
  const std::string at = where + ".Albumentations";
  if (!wrapper.IsMap() || wrapper.size() != 1 || !wrapper["Compose"])
    throw RecipeError(at + ": expected {Compose: {transforms: [...]}} (the only Albumentations wrapper implemented)");
  const TransformItem compose(at, "Compose", wrapper["Compose"].IsNull() ? YAML::Node(YAML::NodeType::Map)
                                                                           : YAML::Node(wrapper["Compose"]));
  compose.only({"transforms", "p"});
  if (compose.number("p", 1.0) != 1.0) compose.fail("p", "only 1 is implemented (a skipped Compose skips ToTensorV2)");
  const YAML::Node list = compose.node("transforms");
  if (!list || !list.IsSequence()) compose.fail("transforms", "expected a list of Albumentations transforms");

  image::Pipeline p;
  bool normalized = false, to_tensor = false;
  for (size_t i = 0; i < list.size(); ++i) {
    const TransformItem t = TransformItem::read(list[i], at + ".Compose.transforms[" + std::to_string(i) + "]");
    const std::string& name = t.name();
    if (to_tensor) t.fail("", "after ToTensorV2 (it must come last)");
    if (normalized && name != "ToTensorV2") t.fail("", "after Normalize (only ToTensorV2 may follow it here)");
    if (name == "RandomCrop") p.image_steps.push_back(random_crop(t));
    else if (name == "HorizontalFlip") p.image_steps.push_back(horizontal_flip(t));
    else if (name == "Normalize") {
      normalize(t, p);
      normalized = true;
    } else if (name == "ToTensorV2") {
      t.only({"transpose_mask", "p", "always_apply"});
      check_always_applied(t);
      t.flag("transpose_mask", false);   // checked for its type: an image-only sample has no mask
      if (!normalized) t.fail("", "without Normalize before it (the batch would be uint8, which SG's models cannot take)");
      to_tensor = true;
    } else if (not_implemented().count(name)) {
      t.fail("", "not implemented here (Albumentations has it; remove it or replace it)");
    } else {
      t.fail("", "unknown Albumentations transform");
    }
  }
  if (!to_tensor) throw RecipeError(at + ".Compose.transforms: no ToTensorV2 at the end (a batch is made of tensors)");
  return p;
}

}  // namespace sg
