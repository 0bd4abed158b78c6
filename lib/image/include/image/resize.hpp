#pragma once
// Resampling as PIL's Image.resize does it, which is what torchvision's Resize and
// RandomResizedCrop do on PIL images: a separable convolution, horizontal pass first, each
// output pixel's filter widened by the scale when downscaling (antialias), coefficients in
// 22-bit fixed point, 8-bit rounding between and after the passes. Nearest is PIL's
// nearest (source pixel about floor((x + 0.5) * scale), the sum accumulated as PIL does).
#include <string>

#include "image/image.hpp"

namespace sg::image {

enum class Interpolation { nearest, box, bilinear, hamming, bicubic, lanczos };

// "nearest", "box", "bilinear", "hamming", "bicubic", "lanczos"; throws std::invalid_argument.
Interpolation parse_interpolation(const std::string& name);
const char* interpolation_name(Interpolation interpolation);

// Throws std::invalid_argument for a size that is not positive or an output of more
// pixels than decoding allows (kPilMaxImagePixels).
Image resize(const Image& in, int out_height, int out_width, Interpolation interpolation);

}  // namespace sg::image
