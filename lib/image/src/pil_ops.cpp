#include "pil_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "image/color.hpp"

namespace sg::image::pil {

namespace {

using Lut = std::array<std::uint8_t, 256>;

// img.point(lut) with one table per channel.
Image apply_luts(const Image& in, const std::vector<Lut>& luts) {
  Image out = in;
  const int c = in.channels;
  for (std::size_t i = 0; i < out.pixels.size(); ++i) out.pixels[i] = luts[i % c][out.pixels[i]];
  return out;
}

Image apply_lut(const Image& in, const Lut& lut) { return apply_luts(in, std::vector<Lut>(in.channels, lut)); }

// img.histogram(), one 256-bin histogram per channel.
std::vector<std::array<long long, 256>> histograms(const Image& in) {
  std::vector<std::array<long long, 256>> h(in.channels);
  for (auto& band : h) band.fill(0);
  for (std::size_t i = 0; i < in.pixels.size(); ++i) ++h[i % in.channels][in.pixels[i]];
  return h;
}

Lut identity() {
  Lut lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<std::uint8_t>(i);
  return lut;
}

// Python's round(v, 15): the correctly rounded 15-decimal string read back.
double round15(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%.15f", v);
  return std::strtod(text, nullptr);
}

// Python's float a % b for b > 0.
double python_mod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0.0) {
    if (m < 0.0) m += b;
  } else {
    m = 0.0;
  }
  return m;
}

// Pillow's FLOOR (Geometry.c) and the edge clamps of its bilinear filter.
int pil_floor(double v) { return v < 0.0 ? static_cast<int>(std::floor(v)) : static_cast<int>(v); }
int clamp_index(int v, int size) { return v < 0 ? 0 : v < size ? v : size - 1; }

// Pillow's bilinear_filter8 / bilinear_filter32RGB: false where (x, y) lies outside.
bool bilinear_at(const Image& in, double x, double y, std::uint8_t* out) {
  if (x < 0.0 || x >= in.width || y < 0.0 || y >= in.height) return false;
  x -= 0.5;
  y -= 0.5;
  const int xi = pil_floor(x), yi = pil_floor(y);
  const double dx = x - xi, dy = y - yi;
  const int c = in.channels;
  const int x0 = clamp_index(xi, in.width) * c, x1 = clamp_index(xi + 1, in.width) * c;
  const std::uint8_t* top = in.row(clamp_index(yi, in.height));
  const bool has_bottom = yi + 1 >= 0 && yi + 1 < in.height;
  const std::uint8_t* bottom = has_bottom ? in.row(yi + 1) : nullptr;
  for (int b = 0; b < c; ++b) {
    const double v1 = top[x0 + b] + (top[x1 + b] - top[x0 + b]) * dx;
    const double v2 = has_bottom ? bottom[x0 + b] + (bottom[x1 + b] - bottom[x0 + b]) * dx : v1;
    out[b] = static_cast<std::uint8_t>(v1 + (v2 - v1) * dy);
  }
  return true;
}

void check_fill(const Image& in, const std::vector<std::uint8_t>& fill) {
  if (static_cast<int>(fill.size()) != in.channels)
    throw std::invalid_argument("fill colour has " + std::to_string(fill.size()) + " values for an image of " +
                                std::to_string(in.channels) + " channels");
}

// ImageFilter.SMOOTH: the 3x3 kernel (1 1 1 / 1 5 1 / 1 1 1) / 13 in C floats, 0.5 added for
// rounding, the border rows and columns copied; an image under 3x3 is copied whole.
Image smooth(const Image& in) {
  if (in.width < 3 || in.height < 3) return in;
  const float side = 1.0f / 13.0f, centre = 5.0f / 13.0f;
  const int c = in.channels;
  Image out = in;
  auto row_sum = [&](const std::uint8_t* row, int i, float middle) {
    return static_cast<float>(row[i - c]) * side + static_cast<float>(row[i]) * middle +
           static_cast<float>(row[i + c]) * side;
  };
  for (int y = 1; y < in.height - 1; ++y) {
    const std::uint8_t *above = in.row(y - 1), *here = in.row(y), *below = in.row(y + 1);
    std::uint8_t* dst = out.row(y);
    for (int i = c; i < (in.width - 1) * c; ++i) {
      float ss = 0.5f;
      ss += row_sum(below, i, side);
      ss += row_sum(here, i, centre);
      ss += row_sum(above, i, side);
      ss = ss < 0.0f ? 0.0f : ss > 255.0f ? 255.0f : ss;
      dst[i] = static_cast<std::uint8_t>(ss);
    }
  }
  return out;
}

}  // namespace

Image autocontrast(const Image& in) {
  std::vector<Lut> luts;
  for (const auto& h : histograms(in)) {
    int lo = 0, hi = 255;
    while (lo < 255 && !h[lo]) ++lo;
    while (hi > 0 && !h[hi]) --hi;
    Lut lut = identity();
    if (hi > lo) {
      const double scale = 255.0 / (hi - lo), offset = -lo * scale;
      for (int i = 0; i < 256; ++i)
        lut[i] = static_cast<std::uint8_t>(std::clamp(static_cast<int>(i * scale + offset), 0, 255));
    }
    luts.push_back(lut);
  }
  return apply_luts(in, luts);
}

Image equalize(const Image& in) {
  std::vector<Lut> luts;
  for (const auto& h : histograms(in)) {
    long long total = 0, last = 0, used = 0;
    for (long long count : h) {
      if (!count) continue;
      total += count;
      last = count;
      ++used;
    }
    Lut lut = identity();
    const long long step = used > 1 ? (total - last) / 255 : 0;
    if (step) {
      long long n = step / 2;
      for (int i = 0; i < 256; ++i) {
        lut[i] = static_cast<std::uint8_t>(std::min<long long>(n / step, 255));   // point() clips the table to 0..255
        n += h[i];
      }
    }
    luts.push_back(lut);
  }
  return apply_luts(in, luts);
}

Image invert(const Image& in) {
  Lut lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<std::uint8_t>(255 - i);
  return apply_lut(in, lut);
}

Image posterize(const Image& in, int bits) {
  if (bits < 0 || bits > 8) throw std::invalid_argument("posterize: bits must be in 0..8");
  const int mask = ~((1 << (8 - bits)) - 1);
  Lut lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<std::uint8_t>(i & mask);
  return apply_lut(in, lut);
}

Image solarize(const Image& in, int threshold) {
  Lut lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<std::uint8_t>(i < threshold ? i : 255 - i);
  return apply_lut(in, lut);
}

Image solarize_add(const Image& in, int add, int threshold) {
  Lut lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<std::uint8_t>(i < threshold ? std::min(255, i + add) : i);
  return apply_lut(in, lut);
}

Image sharpness(const Image& in, double factor) {
  const Image degenerate = smooth(in);
  Image out = in;
  for (std::size_t i = 0; i < out.pixels.size(); ++i)
    out.pixels[i] = blend(degenerate.pixels[i], in.pixels[i], static_cast<float>(factor));
  return out;
}

Image affine(const Image& in, const std::array<double, 6>& m, const std::vector<std::uint8_t>& fill) {
  check_fill(in, fill);
  Image out(in.height, in.width, in.channels);
  for (int y = 0; y < in.height; ++y) {
    std::uint8_t* dst = out.row(y);
    const double yc = y + 0.5;
    for (int x = 0; x < in.width; ++x, dst += in.channels) {
      const double xc = x + 0.5;
      if (!bilinear_at(in, m[0] * xc + m[1] * yc + m[2], m[3] * xc + m[4] * yc + m[5], dst))
        std::copy(fill.begin(), fill.end(), dst);
    }
  }
  return out;
}

Image rotate(const Image& in, double degrees, const std::vector<std::uint8_t>& fill) {
  check_fill(in, fill);
  const double angle = python_mod(degrees, 360.0);
  if (angle == 0.0) return in;
  // Image.rotate: the inverse rotation about (w / 2, h / 2), entries rounded to 15 decimals.
  const double radians = -(angle * (M_PI / 180.0));
  std::array<double, 6> m = {round15(std::cos(radians)), round15(std::sin(radians)), 0.0,
                             round15(-std::sin(radians)), round15(std::cos(radians)), 0.0};
  const double cx = in.width / 2.0, cy = in.height / 2.0;
  m[2] = m[0] * -cx + m[1] * -cy + 0.0 + cx;
  m[5] = m[3] * -cx + m[4] * -cy + 0.0 + cy;
  return affine(in, m, fill);
}

}  // namespace sg::image::pil
