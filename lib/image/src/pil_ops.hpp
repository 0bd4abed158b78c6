#pragma once
// The PIL operations behind SG's RandAugment, pixel for pixel as Pillow computes them on
// 8-bit L and RGB images (ImageOps, ImageFilter.SMOOTH, Image.transform / Image.rotate with
// BILINEAR resampling and a fill colour). Internal to lib/image.
#include <array>
#include <vector>

#include "image/image.hpp"

namespace sg::image::pil {

Image autocontrast(const Image& in);                    // ImageOps.autocontrast(img), cutoff 0
Image equalize(const Image& in);                        // ImageOps.equalize(img)
Image invert(const Image& in);                          // ImageOps.invert(img)
Image posterize(const Image& in, int bits);             // ImageOps.posterize(img, bits), 0 <= bits <= 8
Image solarize(const Image& in, int threshold);         // ImageOps.solarize(img, threshold)
Image solarize_add(const Image& in, int add, int threshold);   // SG's solarize_add LUT
Image sharpness(const Image& in, double factor);        // ImageEnhance.Sharpness(img).enhance(factor)

// img.transform(img.size, AFFINE, matrix, BILINEAR, fillcolor=fill): output pixel (x, y)
// samples the input at matrix * (x + 0.5, y + 0.5); `fill` has one value per channel.
Image affine(const Image& in, const std::array<double, 6>& matrix, const std::vector<std::uint8_t>& fill);
// img.rotate(degrees, BILINEAR, fillcolor=fill): counter-clockwise about the centre, same size.
// For |degrees| < 90 (what SG draws): PIL's shortcut transposes at 90, 180, 270 are not here.
Image rotate(const Image& in, double degrees, const std::vector<std::uint8_t>& fill);

}  // namespace sg::image::pil
