#pragma once
// An 8-bit image in memory: height x width x channels (1 = gray, 3 = RGB), rows top to
// bottom, channels interleaved (HWC), as numpy sees a PIL image.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sg::image {

struct Image {
  int height = 0;
  int width = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels;

  Image() = default;
  Image(int h, int w, int c, std::uint8_t fill = 0)
      : height(h), width(w), channels(c), pixels(static_cast<std::size_t>(h) * w * c, fill) {}

  std::uint8_t* row(int y) { return pixels.data() + static_cast<std::size_t>(y) * width * channels; }
  const std::uint8_t* row(int y) const { return pixels.data() + static_cast<std::size_t>(y) * width * channels; }
};

}  // namespace sg::image
