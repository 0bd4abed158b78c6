#include "image/resize.hpp"

#include "image/decode.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace sg::image {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double box_filter(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }
double bilinear_filter(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}
double hamming_filter(double x) {
  x = std::fabs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x *= M_PI;
  return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));
}
double bicubic_filter(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}
double lanczos_filter(double x) {
  if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
  return 0.0;
}

struct Filter {
  double (*fn)(double);
  double support;
};

Filter filter_of(Interpolation i) {
  switch (i) {
    case Interpolation::box: return {box_filter, 0.5};
    case Interpolation::bilinear: return {bilinear_filter, 1.0};
    case Interpolation::hamming: return {hamming_filter, 1.0};
    case Interpolation::bicubic: return {bicubic_filter, 2.0};
    case Interpolation::lanczos: return {lanczos_filter, 3.0};
    case Interpolation::nearest: break;
  }
  throw std::logic_error("no filter for nearest");
}

// For each output pixel: the first input pixel, the count, and `ksize` fixed-point weights.
struct Coefficients {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<std::int32_t> weights;
};

Coefficients coefficients(int in_size, int out_size, const Filter& filter) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = scale < 1.0 ? 1.0 : scale;
  const double support = filter.support * filter_scale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<std::size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filter_scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = filter.fn((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      c.weights[static_cast<std::size_t>(xx) * c.ksize + x] =
          static_cast<std::int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

std::uint8_t clip8(std::int32_t ss) {
  ss >>= kPrecisionBits;
  return static_cast<std::uint8_t>(ss < 0 ? 0 : ss > 255 ? 255 : ss);
}

// CH channels as a template argument: the per-pixel sums stay in registers.
template <int CH>
void horizontal_rows(const Image& in, Image& out, const Coefficients& c) {
  for (int y = 0; y < in.height; ++y) {
    const std::uint8_t* src = in.row(y);
    std::uint8_t* dst = out.row(y);
    for (int xx = 0; xx < out.width; ++xx) {
      const std::int32_t* k = &c.weights[static_cast<std::size_t>(xx) * c.ksize];
      const std::uint8_t* s = src + static_cast<std::size_t>(c.first[xx]) * CH;
      std::int32_t ss[CH];
      for (int b = 0; b < CH; ++b) ss[b] = 1 << (kPrecisionBits - 1);
      for (int x = 0; x < c.count[xx]; ++x)
        for (int b = 0; b < CH; ++b) ss[b] += s[x * CH + b] * k[x];
      for (int b = 0; b < CH; ++b) dst[xx * CH + b] = clip8(ss[b]);
    }
  }
}

Image resample_horizontal(const Image& in, int out_width, const Filter& filter) {
  const Coefficients c = coefficients(in.width, out_width, filter);
  Image out(in.height, out_width, in.channels);
  if (in.channels == 3)
    horizontal_rows<3>(in, out, c);
  else if (in.channels == 1)
    horizontal_rows<1>(in, out, c);
  else
    throw std::invalid_argument("resize: images have 1 or 3 channels, not " + std::to_string(in.channels));
  return out;
}

Image resample_vertical(const Image& in, int out_height, const Filter& filter) {
  const Coefficients c = coefficients(in.height, out_height, filter);
  const int n = in.width * in.channels;
  Image out(out_height, in.width, in.channels);
  std::vector<std::int32_t> acc(n);
  for (int yy = 0; yy < out_height; ++yy) {
    const std::int32_t* k = &c.weights[static_cast<std::size_t>(yy) * c.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < c.count[yy]; ++y) {
      const std::uint8_t* src = in.row(c.first[yy] + y);
      const std::int32_t w = k[y];
      for (int i = 0; i < n; ++i) acc[i] += src[i] * w;
    }
    std::uint8_t* dst = out.row(yy);
    for (int i = 0; i < n; ++i) dst[i] = clip8(acc[i]);
  }
  return out;
}

// PIL's ImagingScaleAffine: the source coordinate is accumulated step by step (its rounding
// decides which pixel a boundary case takes), then truncated.
std::vector<int> nearest_sources(int in_size, int out_size) {
  const double step = static_cast<double>(in_size) / out_size;
  std::vector<int> src(out_size);
  double pos = step * 0.5;
  for (int i = 0; i < out_size; ++i, pos += step) src[i] = std::min(in_size - 1, static_cast<int>(pos));
  return src;
}

Image resize_nearest(const Image& in, int out_height, int out_width) {
  const int ch = in.channels;
  Image out(out_height, out_width, ch);
  const std::vector<int> src_x = nearest_sources(in.width, out_width), src_y = nearest_sources(in.height, out_height);
  for (int y = 0; y < out_height; ++y) {
    const std::uint8_t* src = in.row(src_y[y]);
    std::uint8_t* dst = out.row(y);
    for (int x = 0; x < out_width; ++x)
      for (int b = 0; b < ch; ++b) dst[x * ch + b] = src[src_x[x] * ch + b];
  }
  return out;
}

}  // namespace

Interpolation parse_interpolation(const std::string& name) {
  for (Interpolation i : {Interpolation::nearest, Interpolation::box, Interpolation::bilinear, Interpolation::hamming,
                          Interpolation::bicubic, Interpolation::lanczos})
    if (name == interpolation_name(i)) return i;
  throw std::invalid_argument("unknown interpolation '" + name +
                              "' (nearest, box, bilinear, hamming, bicubic, lanczos)");
}

const char* interpolation_name(Interpolation i) {
  switch (i) {
    case Interpolation::nearest: return "nearest";
    case Interpolation::box: return "box";
    case Interpolation::bilinear: return "bilinear";
    case Interpolation::hamming: return "hamming";
    case Interpolation::bicubic: return "bicubic";
    case Interpolation::lanczos: return "lanczos";
  }
  return "?";
}

Image resize(const Image& in, int out_height, int out_width, Interpolation interpolation) {
  if (out_height <= 0 || out_width <= 0)
    throw std::invalid_argument("resize to " + std::to_string(out_height) + "x" + std::to_string(out_width) +
                                ": sizes must be positive");
  // Shorter side to N of a 1-pixel-high strip would be N times longer still: an image
  // within the decoding bound must not become one that exhausts memory.
  if (std::uint64_t(out_height) * std::uint64_t(out_width) > kPilMaxImagePixels)
    throw std::invalid_argument("resize to " + std::to_string(out_height) + "x" + std::to_string(out_width) +
                                ": more pixels than an image may hold (" + std::to_string(kPilMaxImagePixels) +
                                ", PIL's MAX_IMAGE_PIXELS)");
  if (out_height == in.height && out_width == in.width) return in;
  if (interpolation == Interpolation::nearest) return resize_nearest(in, out_height, out_width);
  const Filter filter = filter_of(interpolation);
  // PIL skips a pass whose size does not change.
  if (out_width == in.width) return resample_vertical(in, out_height, filter);
  Image horizontal = resample_horizontal(in, out_width, filter);
  return out_height != in.height ? resample_vertical(horizontal, out_height, filter) : horizontal;
}

}  // namespace sg::image
