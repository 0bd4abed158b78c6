#include "image/geometry.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace sg::image {

namespace {

// The source index of padded position `i` (may be outside [0, n)), as numpy.pad maps it.
int source_index(int i, int n, PadMode mode) {
  if (mode == PadMode::edge) return std::clamp(i, 0, n - 1);
  if (mode == PadMode::reflect) {
    if (n == 1) return 0;
    const int period = 2 * (n - 1);
    int j = ((i % period) + period) % period;
    return j < n ? j : period - j;
  }
  const int period = 2 * n;   // symmetric: the edge pixel repeated
  int j = ((i % period) + period) % period;
  return j < n ? j : period - 1 - j;
}

}  // namespace

Image crop(const Image& in, int top, int left, int height, int width) {
  if (top < 0 || left < 0 || height <= 0 || width <= 0 || top + height > in.height || left + width > in.width)
    throw std::invalid_argument("crop (top " + std::to_string(top) + ", left " + std::to_string(left) + ", " +
                                std::to_string(height) + "x" + std::to_string(width) + ") outside the " +
                                std::to_string(in.height) + "x" + std::to_string(in.width) + " image");
  Image out(height, width, in.channels);
  const std::size_t row_bytes = static_cast<std::size_t>(width) * in.channels;
  for (int y = 0; y < height; ++y)
    std::memcpy(out.row(y), in.row(top + y) + static_cast<std::size_t>(left) * in.channels, row_bytes);
  return out;
}

Image hflip(const Image& in) {
  Image out(in.height, in.width, in.channels);
  const int ch = in.channels;
  for (int y = 0; y < in.height; ++y) {
    const std::uint8_t* s = in.row(y);
    std::uint8_t* d = out.row(y);
    for (int x = 0; x < in.width; ++x) std::memcpy(d + x * ch, s + (in.width - 1 - x) * ch, ch);
  }
  return out;
}

PadMode parse_pad_mode(const std::string& name) {
  if (name == "constant") return PadMode::constant;
  if (name == "edge") return PadMode::edge;
  if (name == "reflect") return PadMode::reflect;
  if (name == "symmetric") return PadMode::symmetric;
  throw std::invalid_argument("unknown padding_mode '" + name + "' (constant, edge, reflect, symmetric)");
}

Image pad(const Image& in, int left, int top, int right, int bottom, PadMode mode,
          const std::array<std::uint8_t, 3>& fill) {
  if (left < 0 || top < 0 || right < 0 || bottom < 0) throw std::invalid_argument("padding must not be negative");
  const int ch = in.channels;
  Image out(in.height + top + bottom, in.width + left + right, ch);
  if (mode == PadMode::constant) {
    for (int y = 0; y < out.height; ++y) {
      std::uint8_t* d = out.row(y);
      const bool inside = y >= top && y < top + in.height;
      for (int x = 0; x < out.width; ++x) {
        if (inside && x >= left && x < left + in.width)
          std::memcpy(d + x * ch, in.row(y - top) + (x - left) * ch, ch);
        else
          std::memcpy(d + x * ch, fill.data(), ch);
      }
    }
    return out;
  }
  std::vector<int> src_x(out.width);
  for (int x = 0; x < out.width; ++x) src_x[x] = source_index(x - left, in.width, mode);
  for (int y = 0; y < out.height; ++y) {
    const std::uint8_t* s = in.row(source_index(y - top, in.height, mode));
    std::uint8_t* d = out.row(y);
    for (int x = 0; x < out.width; ++x) std::memcpy(d + x * ch, s + src_x[x] * ch, ch);
  }
  return out;
}

}  // namespace sg::image
