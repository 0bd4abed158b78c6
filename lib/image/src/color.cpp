#include "image/color.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace sg::image {

namespace {

std::uint8_t gray_of(const std::uint8_t* rgb) {   // PIL's convert("L")
  return static_cast<std::uint8_t>((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
}

void check_factor(double factor, const char* what) {
  if (!(factor >= 0)) throw std::invalid_argument(std::string(what) + " factor must be non-negative");
}

std::uint8_t clip8(int v) { return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

// PIL's rgb2hsv_row (float and double as PIL's C code mixes them).
void rgb_to_hsv(const std::uint8_t* in, std::uint8_t* out) {
  const std::uint8_t r = in[0], g = in[1], b = in[2];
  const std::uint8_t maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
  out[2] = maxc;
  if (minc == maxc) {
    out[0] = out[1] = 0;
    return;
  }
  const float cr = static_cast<float>(maxc - minc);
  const float s = cr / static_cast<float>(maxc);
  const float rc = static_cast<float>(maxc - r) / cr, gc = static_cast<float>(maxc - g) / cr,
              bc = static_cast<float>(maxc - b) / cr;
  float h;
  if (r == maxc)
    h = bc - gc;
  else if (g == maxc)
    h = static_cast<float>(2.0 + rc - bc);
  else
    h = static_cast<float>(4.0 + gc - rc);
  h = static_cast<float>(std::fmod(h / 6.0 + 1.0, 1.0));
  out[0] = clip8(static_cast<int>(h * 255.0));
  out[1] = clip8(static_cast<int>(s * 255.0));
}

// PIL's hsv2rgb.
void hsv_to_rgb(const std::uint8_t* in, std::uint8_t* out) {
  const std::uint8_t h = in[0], s = in[1], v = in[2];
  if (s == 0) {
    out[0] = out[1] = out[2] = v;
    return;
  }
  const int i = static_cast<int>(std::floor(static_cast<float>(h) * 6.0 / 255.0));
  const float f = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
  const float fs = static_cast<float>(static_cast<float>(s) / 255.0);
  const std::uint8_t up = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs))));
  const std::uint8_t uq = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * f))));
  const std::uint8_t ut = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * (1.0 - f)))));
  const std::uint8_t rgb[6][3] = {{v, ut, up}, {uq, v, up}, {up, v, ut}, {up, uq, v}, {ut, up, v}, {v, up, uq}};
  for (int c = 0; c < 3; ++c) out[c] = rgb[i % 6][c];
}

}  // namespace

std::uint8_t blend(int degenerate, int value, float alpha) {
  const float v = static_cast<float>(degenerate) + alpha * static_cast<float>(value - degenerate);
  if (alpha >= 0 && alpha <= 1.0f) return static_cast<std::uint8_t>(v);
  return v <= 0.0f ? 0 : v >= 255.0f ? 255 : static_cast<std::uint8_t>(v);
}

Image adjust_brightness(const Image& in, double factor) {
  check_factor(factor, "brightness");
  Image out = in;
  for (std::uint8_t& p : out.pixels) p = blend(0, p, static_cast<float>(factor));
  return out;
}

Image adjust_contrast(const Image& in, double factor) {
  check_factor(factor, "contrast");
  // ImageStat's mean of the gray image, rounded as ImageEnhance.Contrast rounds it.
  const std::size_t n = static_cast<std::size_t>(in.height) * in.width;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += in.channels == 3 ? gray_of(&in.pixels[3 * i]) : in.pixels[i];
  const int mean = static_cast<int>(sum / static_cast<double>(n) + 0.5);
  Image out = in;
  for (std::uint8_t& p : out.pixels) p = blend(mean, p, static_cast<float>(factor));
  return out;
}

Image adjust_saturation(const Image& in, double factor) {
  check_factor(factor, "saturation");
  if (in.channels != 3) return in;
  Image out = in;
  const std::size_t n = static_cast<std::size_t>(in.height) * in.width;
  for (std::size_t i = 0; i < n; ++i) {
    const int gray = gray_of(&in.pixels[3 * i]);
    for (int c = 0; c < 3; ++c) out.pixels[3 * i + c] = blend(gray, in.pixels[3 * i + c], static_cast<float>(factor));
  }
  return out;
}

Image adjust_hue(const Image& in, double hue_factor) {
  if (!(hue_factor >= -0.5 && hue_factor <= 0.5)) throw std::invalid_argument("hue factor must be in [-0.5, 0.5]");
  if (in.channels != 3) return in;
  // np.uint8(hue_factor * 255): truncated toward zero, then wrapped to 0..255.
  const std::uint8_t shift = static_cast<std::uint8_t>(static_cast<std::int64_t>(hue_factor * 255));
  Image out = in;
  const std::size_t n = static_cast<std::size_t>(in.height) * in.width;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t hsv[3];
    rgb_to_hsv(&in.pixels[3 * i], hsv);
    hsv[0] = static_cast<std::uint8_t>(hsv[0] + shift);
    hsv_to_rgb(hsv, &out.pixels[3 * i]);
  }
  return out;
}

}  // namespace sg::image
