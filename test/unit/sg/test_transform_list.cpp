// SG's transform lists read into an image::Pipeline: RandAugmentTransform as SG's ImageNet
// recipes write it, SG's Albumentations wrapper as its CIFAR-10 recipe writes it, and their
// parameters refused as the other transforms' are.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
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

namespace {

// dataset_params/cifar10_albumentations_dataset_params.yaml's training transforms.
const std::string kCifarAlbumentations =
    "{Albumentations: {Compose: {transforms: [{RandomCrop: {height: 32, width: 32}}, {HorizontalFlip: {p: 0.5}}, "
    "{Normalize: {mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010]}}, ToTensorV2]}}}";

std::string albumentations(const std::string& items) {
  return "{Albumentations: {Compose: {transforms: [" + items + "]}}}";
}

}  // namespace

TEST_CASE("SG's Albumentations wrapper as the CIFAR-10 albumentations recipe writes it") {
  for (const std::string& form : {kCifarAlbumentations, "[" + kCifarAlbumentations + "]"}) {
    const auto p = read(form);
    REQUIRE(p.image_steps.size() == 2);
    CHECK(dynamic_cast<const sg::image::RandomCrop*>(p.image_steps[0].get()) != nullptr);
    CHECK(dynamic_cast<const sg::image::RandomHorizontalFlip*>(p.image_steps[1].get()) != nullptr);
    CHECK(p.tensor_steps.empty());
  }
  // Albumentations' Normalize, (x - mean * max_pixel_value) / (std * max_pixel_value), on
  // every 8-bit value of each channel; its default mean and std are ImageNet's.
  const auto p = read(albumentations("{Normalize: {max_pixel_value: 200}}, ToTensorV2"));
  const double mean[] = {0.485, 0.456, 0.406}, std[] = {0.229, 0.224, 0.225};
  sg::image::Image in(1, 256, 3);
  for (int x = 0; x < 256; ++x)
    for (int c = 0; c < 3; ++c) in.pixels[size_t(x) * 3 + size_t(c)] = std::uint8_t(x);
  std::vector<float> out(3 * 256);
  sg::image::Rng rng(1);
  p.write_tensor(in, rng, out.data());
  double worst = 0;
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < 256; ++x)
      worst = std::max(worst, std::abs(out[size_t(c) * 256 + size_t(x)] - (x - mean[c] * 200) / (std[c] * 200)));
  CHECK(worst < 1e-5);
}

TEST_CASE("The Albumentations wrapper refuses what it does not implement, naming the item") {
  const std::string tail = "{Normalize: {}}, ToTensorV2";
  const std::string at = "transforms.Albumentations.Compose.transforms";
  CHECK(error_of(albumentations("{VerticalFlip: {}}, " + tail)) ==
        at + "[0] VerticalFlip: not implemented here (Albumentations has it; remove it or replace it)");
  CHECK(error_of(albumentations("{RandomCrop: {height: 8, width: 8, p: 0.5}}, " + tail)) ==
        at + "[0] RandomCrop.p: only 1 is implemented for RandomCrop");
  CHECK(error_of(albumentations("{RandomCrop: {height: 8}}, " + tail)) == at + "[0] RandomCrop: needs height and width");
  CHECK(error_of(albumentations("{Normalize: {}}")) == at + ": no ToTensorV2 at the end (a batch is made of tensors)");
  CHECK(error_of(albumentations("ToTensorV2")).find(at + "[0] ToTensorV2: without Normalize before it") == 0);
  CHECK(error_of(albumentations("{Normalize: {}}, {HorizontalFlip: {}}, ToTensorV2")) ==
        at + "[1] HorizontalFlip: after Normalize (only ToTensorV2 may follow it here)");
  CHECK(error_of(albumentations("{Smear: {}}, " + tail)) == at + "[0] Smear: unknown Albumentations transform");
  CHECK(error_of("{Albumentations: {Compose: {transforms: [" + tail + "], p: 0.5}}}") ==
        "transforms.Albumentations Compose.p: only 1 is implemented (a skipped Compose skips ToTensorV2)");
  CHECK(error_of("{Albumentations: {OneOf: {transforms: []}}}").find("transforms.Albumentations: expected {Compose") == 0);
  CHECK(error_of("[RandomHorizontalFlip, " + kCifarAlbumentations + ", ToTensor]") ==
        "transforms[1] Albumentations: with other transforms in the list: not implemented (SG's Albumentations "
        "wrapper is the whole list here)");
}
