#pragma once
// The float end of a transform list: ToTensor + Normalize into the caller's buffer, and
// RandomErasing on that buffer.
#include <array>
#include <cstddef>
#include <optional>
#include <vector>

#include "image/image.hpp"
#include "image/random.hpp"

namespace sg::image {

// torchvision's ToTensor then Normalize, in float32 as torch computes them:
// out[c][y][x] = (pixel / 255 - mean[c]) / std[c], CHW. mean/std hold one value per channel
// (or one for all); `out` holds channels * height * width floats.
void to_tensor_normalize(const Image& in, const std::vector<float>& mean, const std::vector<float>& std, float* out);

// torchvision's RandomErasing on a CHW float image: with probability p, a rectangle of
// scale (area fraction) and ratio (aspect) drawn as torchvision draws them (10 tries, else
// nothing) is set to `value` (one per channel, or one for all) or, without a value, to
// N(0, 1) noise (SG's RandomErase value "random").
struct RandomErasing {
  double p = 0.5;
  std::array<double, 2> scale = {0.02, 0.33};
  std::array<double, 2> ratio = {0.3, 3.3};
  std::optional<std::vector<float>> value;

  void check() const;   // throws std::invalid_argument naming the bad parameter
  void apply(float* chw, int channels, int height, int width, Rng& rng) const;
};

}  // namespace sg::image
