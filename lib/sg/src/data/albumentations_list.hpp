#pragma once
// SG's Albumentations wrapper (`transforms: {Albumentations: {Compose: {transforms: [...]}}}`,
// SG's AlbumentationsAdaptor on an image-only sample) as an image::Pipeline. Albumentations
// works on the HWC uint8 array of the PIL image; read here, with Albumentations' parameter
// names and defaults: RandomCrop(height, width), HorizontalFlip(p), Normalize(mean, std,
// max_pixel_value), ToTensorV2. Any other Albumentations transform, a probability that would
// skip a crop or a normalisation, or a list that does not end in Normalize, ToTensorV2 is a
// RecipeError naming the item.
#include <string>

#include <yaml-cpp/yaml.h>

#include "image/transforms.hpp"

namespace sg {

// `wrapper` is the value of the Albumentations key found at `where`.
image::Pipeline read_albumentations(const YAML::Node& wrapper, const std::string& where);

}  // namespace sg
