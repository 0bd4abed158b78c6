#pragma once
// SuperGradients' classification transform lists (a recipe's `transforms:`) as an
// image::Pipeline. Each item is a name (`- ToTensor`) or a one-key mapping of a name to its
// parameters (`- RandomCrop: {size: 32, padding: 4}`), with torchvision's parameter names and
// defaults. Read here: Resize, CenterCrop, RandomCrop, RandomResizedCrop,
// RandomResizedCropAndInterpolation, RandomHorizontalFlip, ColorJitter, RandAugmentTransform
// (SG's), ToTensor, Normalize, RandomErase (SG's) and RandomErasing (torchvision's). Image
// transforms come before ToTensor, Normalize and erasing after it, and ToTensor must be there,
// as a torch DataLoader needs it. SG's Albumentations wrapper, as the whole list, is read
// by src/data/albumentations_list.hpp. A transform SG has that is not implemented here
// (AutoAugment, Lighting, ...), an unknown name or an unknown parameter is a RecipeError
// naming the key, the item and the problem. No LibTorch here.
#include <string>
#include <vector>

#include "image/transforms.hpp"
#include "recipe/recipe.hpp"

namespace sg {

// The list at `key` of `recipe`.
image::Pipeline read_transform_list(const Recipe& recipe, const std::string& key);

// The built-in recipes' `transforms:` block: a random crop back to the input size after
// `crop_padding` zero pixels, an optional flip (training only), then ToTensor + Normalize.
image::Pipeline builtin_transforms(int crop_padding, bool horizontal_flip, std::vector<float> mean,
                                   std::vector<float> std);

}  // namespace sg
