// SG's transform lists read into an image::Pipeline: RandAugmentTransform as SG's ImageNet
// recipes write it, and its parameters refused as the other transforms' are.
#include <catch2/catch.hpp>

#include <memory>

#include "image/rand_augment.hpp"
#include "sg/data/transform_list.hpp"
#include "temp_dir.hpp"

namespace {

sg::image::Pipeline read(const std::string& list) {
  return sg::read_transform_list(sg::Recipe(YAML::Load("transforms: " + list)), "transforms");
}

std::string error_of(const std::string& list) {
  return error_message<sg::RecipeError>([&] { read(list); });
}

const std::string kTail = ", ToTensor, {Normalize: {mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}}]";

}  // namespace

TEST_CASE("RandAugmentTransform as SG's imagenet_resnet50 recipe lists it") {
  const auto p = read(
      "[{RandomResizedCropAndInterpolation: {size: 224, interpolation: random}}, RandomHorizontalFlip, "
      "{RandAugmentTransform: {config_str: rand-m7-mstd0.5, crop_size: 224, img_mean: [0.485, 0.456, 0.406]}}" +
      kTail);
  REQUIRE(p.image_steps.size() == 3);
  const auto* ra = dynamic_cast<const sg::image::RandAugment*>(p.image_steps[2].get());
  REQUIRE(ra != nullptr);
  CHECK(ra->config().magnitude == 7);
  CHECK(ra->config().magnitude_std == 0.5);
  CHECK(ra->config().num_ops == 2);
  CHECK(ra->fill() == std::vector<std::uint8_t>{124, 116, 104});
}

TEST_CASE("RandAugmentTransform's parameters are checked, each error naming the item and the key") {
  const std::string ok = "config_str: rand-m9-mstd0.5, crop_size: 224, img_mean: [0.485, 0.456, 0.406]";
  auto list = [&](const std::string& params) { return "[{RandAugmentTransform: {" + params + "}}" + kTail; };
  CHECK(error_of(list(ok + ", interpolation: random")) ==
        "transforms[0] RandAugmentTransform.interpolation: not a parameter of RandAugmentTransform (it has "
        "config_str, crop_size, img_mean)");
  CHECK(error_of(list("config_str: rand-m9, crop_size: 224")) ==
        "transforms[0] RandAugmentTransform: needs config_str, crop_size and img_mean");
  CHECK(error_of(list("config_str: rand-mmax10, crop_size: 224, img_mean: [0.5, 0.5, 0.5]"))
            .find("transforms[0] RandAugmentTransform.config_str: RandAugment config 'rand-mmax10': unknown key "
                  "'mmax'") == 0);
  CHECK(error_of(list("config_str: rand-m9, crop_size: 0, img_mean: [0.5, 0.5, 0.5]")) ==
        "transforms[0] RandAugmentTransform.crop_size: expected a positive whole number");
  CHECK(error_of(list("config_str: rand-m9, crop_size: 22.5, img_mean: [0.5, 0.5, 0.5]")) ==
        "transforms[0] RandAugmentTransform.crop_size: expected a whole number");
  CHECK(error_of(list("config_str: rand-m9, crop_size: 224, img_mean: [0.5, -0.5, 0.5]"))
            .find("transforms[0] RandAugmentTransform.img_mean: expected values >= 0") == 0);
  CHECK(error_of(list("config_str: [rand], crop_size: 224, img_mean: [0.5, 0.5, 0.5]")) ==
        "transforms[0] RandAugmentTransform.config_str: expected a name");
}
