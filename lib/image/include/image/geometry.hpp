#pragma once
// Pixel-exact geometry on 8-bit images (torchvision's functional crop, pad, hflip on PIL).
#include <array>
#include <string>

#include "image/image.hpp"

namespace sg::image {

// The region [top, top + height) x [left, left + width), which must lie inside the image.
Image crop(const Image& in, int top, int left, int height, int width);
Image hflip(const Image& in);

// torchvision's padding modes (numpy.pad's for edge, reflect, symmetric).
enum class PadMode { constant, edge, reflect, symmetric };
PadMode parse_pad_mode(const std::string& name);   // throws std::invalid_argument

// `fill` (one value per channel) is used by PadMode::constant only.
Image pad(const Image& in, int left, int top, int right, int bottom, PadMode mode,
          const std::array<std::uint8_t, 3>& fill = {0, 0, 0});

}  // namespace sg::image
