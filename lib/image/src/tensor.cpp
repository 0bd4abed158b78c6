#include "image/tensor.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace sg::image {

namespace {

float per_channel(const std::vector<float>& v, int c, const char* what, int channels) {
  if (v.size() == 1) return v[0];
  if (static_cast<int>(v.size()) != channels)
    throw std::invalid_argument(std::string(what) + " has " + std::to_string(v.size()) + " values for " +
                                std::to_string(channels) + " channels");
  return v[c];
}

}  // namespace

void to_tensor_normalize(const Image& in, const std::vector<float>& mean, const std::vector<float>& std, float* out) {
  const std::size_t plane = static_cast<std::size_t>(in.height) * in.width;
  for (int c = 0; c < in.channels; ++c) {
    const float m = per_channel(mean, c, "Normalize mean", in.channels);
    const float s = per_channel(std, c, "Normalize std", in.channels);
    if (s == 0.0f) throw std::invalid_argument("Normalize std must not be 0");
    float lut[256];
    for (int v = 0; v < 256; ++v) lut[v] = (static_cast<float>(v) / 255.0f - m) / s;
    const std::uint8_t* src = in.pixels.data() + c;
    float* dst = out + c * plane;
    for (std::size_t i = 0; i < plane; ++i) dst[i] = lut[src[i * in.channels]];
  }
}

void RandomErasing::check() const {
  if (!(p >= 0 && p <= 1)) throw std::invalid_argument("RandomErasing probability must be in [0, 1]");
  if (!(scale[0] >= 0 && scale[0] <= scale[1] && scale[1] <= 1))
    throw std::invalid_argument("RandomErasing scale must be 0 <= min <= max <= 1");
  if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) throw std::invalid_argument("RandomErasing ratio must be 0 < min <= max");
}

void RandomErasing::apply(float* chw, int channels, int height, int width, Rng& rng) const {
  if (!rng.bernoulli(p)) return;
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double erase_area = area * rng.uniform(scale[0], scale[1]);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int h = static_cast<int>(std::nearbyint(std::sqrt(erase_area * aspect)));
    const int w = static_cast<int>(std::nearbyint(std::sqrt(erase_area / aspect)));
    if (!(h < height && w < width)) continue;
    const int top = static_cast<int>(rng.randint(0, height - h + 1));
    const int left = static_cast<int>(rng.randint(0, width - w + 1));
    for (int c = 0; c < channels; ++c) {
      const float fixed = value ? per_channel(*value, c, "RandomErasing value", channels) : 0.0f;
      for (int y = top; y < top + h; ++y) {
        float* row = chw + (static_cast<std::size_t>(c) * height + y) * width;
        for (int x = left; x < left + w; ++x) row[x] = value ? fixed : static_cast<float>(rng.normal());
      }
    }
    return;
  }
}

}  // namespace sg::image
