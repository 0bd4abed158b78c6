#pragma once
// torchvision's colour adjustments on PIL images, pixel for pixel: PIL's ImageEnhance
// (a blend with a degenerate image, in float, truncated and clipped to 0..255) and
// adjust_hue's trip through PIL's HSV. A gray image is left as it is by adjust_hue and
// adjust_saturation (torchvision does the same for hue; PIL's Color enhance of L is a no-op).
#include <cstdint>

#include "image/image.hpp"

namespace sg::image {

// PIL's ImagingBlend(degenerate, image, alpha) for one value (alpha is a C float there).
std::uint8_t blend(int degenerate, int value, float alpha);

Image adjust_brightness(const Image& in, double factor);   // factor >= 0
Image adjust_contrast(const Image& in, double factor);     // factor >= 0
Image adjust_saturation(const Image& in, double factor);   // factor >= 0
Image adjust_hue(const Image& in, double hue_factor);      // -0.5 <= hue_factor <= 0.5

}  // namespace sg::image
