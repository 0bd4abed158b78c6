#include "image/transforms.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "image/color.hpp"

namespace sg::image {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

// Python's round(): halves to even.
int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }

}  // namespace

Resize::Resize(int shorter_side, Interpolation interpolation, std::optional<int> max_size)
    : height_(shorter_side), max_size_(max_size), interpolation_(interpolation) {
  require(shorter_side > 0, "Resize: size must be positive");
  require(!max_size || *max_size > shorter_side, "Resize: max_size must be greater than size");
}

Resize::Resize(int height, int width, Interpolation interpolation)
    : height_(height), width_(width), interpolation_(interpolation) {
  require(height > 0 && width > 0, "Resize: size must be positive");
}

std::array<int, 2> Resize::output_size(int height, int width) const {
  if (width_ != 0) return {height_, width_};
  const int shorter = std::min(height, width), longer = std::max(height, width);
  int new_short = height_;
  int new_long = static_cast<int>(static_cast<double>(static_cast<long long>(height_) * longer) / shorter);
  if (max_size_ && new_long > *max_size_) {
    new_short = static_cast<int>(static_cast<double>(static_cast<long long>(*max_size_) * new_short) / new_long);
    new_long = *max_size_;
  }
  return width <= height ? std::array<int, 2>{new_long, new_short} : std::array<int, 2>{new_short, new_long};
}

Image Resize::apply(const Image& in, Rng&) const {
  const auto [h, w] = output_size(in.height, in.width);
  return resize(in, h, w, interpolation_);
}

CenterCrop::CenterCrop(int height, int width) : height_(height), width_(width) {
  require(height > 0 && width > 0, "CenterCrop: size must be positive");
}

Image CenterCrop::apply(const Image& in, Rng&) const {
  const Image* src = &in;
  Image padded;
  if (height_ > in.height || width_ > in.width) {
    const int dw = std::max(0, width_ - in.width), dh = std::max(0, height_ - in.height);
    padded = pad(in, dw / 2, dh / 2, (dw + 1) / 2, (dh + 1) / 2, PadMode::constant);
    src = &padded;
  }
  const int top = round_half_even((src->height - height_) / 2.0);
  const int left = round_half_even((src->width - width_) / 2.0);
  return crop(*src, top, left, height_, width_);
}

RandomCrop::RandomCrop(int height, int width, Options options) : height_(height), width_(width), options_(options) {
  require(height > 0 && width > 0, "RandomCrop: size must be positive");
  for (int p : options.padding) require(p >= 0, "RandomCrop: padding must not be negative");
}

RandomCrop RandomCrop::same_size(Options options) {
  RandomCrop c(1, 1, options);
  c.height_ = c.width_ = 0;
  return c;
}

Image RandomCrop::apply(const Image& in, Rng& rng) const {
  if (height_ == 0) return RandomCrop(in.height, in.width, options_).apply(in, rng);
  const auto& o = options_;
  Image img = in;
  if (o.padding != std::array<int, 4>{0, 0, 0, 0})
    img = pad(img, o.padding[0], o.padding[1], o.padding[2], o.padding[3], o.padding_mode, o.fill);
  // torchvision pads both sides by the whole shortfall.
  if (o.pad_if_needed && img.width < width_) {
    const int d = width_ - img.width;
    img = pad(img, d, 0, d, 0, o.padding_mode, o.fill);
  }
  if (o.pad_if_needed && img.height < height_) {
    const int d = height_ - img.height;
    img = pad(img, 0, d, 0, d, o.padding_mode, o.fill);
  }
  if (img.height < height_ || img.width < width_)
    throw std::invalid_argument("RandomCrop: crop " + std::to_string(height_) + "x" + std::to_string(width_) +
                                " larger than the (padded) image " + std::to_string(img.height) + "x" +
                                std::to_string(img.width));
  if (img.height == height_ && img.width == width_) return img;
  const int top = static_cast<int>(rng.randint(0, img.height - height_ + 1));
  const int left = static_cast<int>(rng.randint(0, img.width - width_ + 1));
  return crop(img, top, left, height_, width_);
}

RandomResizedCrop::RandomResizedCrop(int height, int width, std::array<double, 2> scale, std::array<double, 2> ratio,
                                     std::vector<Interpolation> interpolations)
    : height_(height), width_(width), scale_(scale), ratio_(ratio), interpolations_(std::move(interpolations)) {
  require(height > 0 && width > 0, "RandomResizedCrop: size must be positive");
  require(scale[0] > 0 && scale[0] <= scale[1], "RandomResizedCrop: scale must be 0 < min <= max");
  require(ratio[0] > 0 && ratio[0] <= ratio[1], "RandomResizedCrop: ratio must be 0 < min <= max");
  require(!interpolations_.empty(), "RandomResizedCrop: no interpolation");
}

RandomResizedCrop::Crop RandomResizedCrop::draw(int image_height, int image_width, Rng& rng) const {
  const double area = static_cast<double>(image_height) * image_width;
  const double log_lo = std::log(ratio_[0]), log_hi = std::log(ratio_[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale_[0], scale_[1]);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int w = round_half_even(std::sqrt(target_area * aspect));
    const int h = round_half_even(std::sqrt(target_area / aspect));
    if (0 < w && w <= image_width && 0 < h && h <= image_height) {
      const int top = static_cast<int>(rng.randint(0, image_height - h + 1));
      const int left = static_cast<int>(rng.randint(0, image_width - w + 1));
      return {top, left, h, w};
    }
  }
  const double in_ratio = static_cast<double>(image_width) / image_height;
  int w = image_width, h = image_height;
  if (in_ratio < ratio_[0])
    h = round_half_even(w / ratio_[0]);
  else if (in_ratio > ratio_[1])
    w = round_half_even(h * ratio_[1]);
  return {(image_height - h) / 2, (image_width - w) / 2, h, w};
}

Image RandomResizedCrop::apply(const Image& in, Rng& rng) const {
  const Crop c = draw(in.height, in.width, rng);
  const Interpolation interpolation =
      interpolations_.size() == 1 ? interpolations_[0]
                                  : interpolations_[static_cast<std::size_t>(rng.randint(0, interpolations_.size()))];
  return resize(crop(in, c.top, c.left, c.height, c.width), height_, width_, interpolation);
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  require(p >= 0 && p <= 1, "RandomHorizontalFlip: p must be in [0, 1]");
}

Image RandomHorizontalFlip::apply(const Image& in, Rng& rng) const { return rng.bernoulli(p_) ? hflip(in) : in; }

ColorJitter::ColorJitter(Range brightness, Range contrast, Range saturation, Range hue)
    : brightness_(brightness), contrast_(contrast), saturation_(saturation), hue_(hue) {
  for (const auto& [range, name] : {std::pair{brightness, "brightness"}, std::pair{contrast, "contrast"},
                                    std::pair{saturation, "saturation"}})
    require(!range || (0 <= (*range)[0] && (*range)[0] <= (*range)[1]),
            std::string("ColorJitter: ") + name + " range must be 0 <= min <= max");
  require(!hue || (-0.5 <= (*hue)[0] && (*hue)[0] <= (*hue)[1] && (*hue)[1] <= 0.5),
          "ColorJitter: hue range must be -0.5 <= min <= max <= 0.5");
}

ColorJitter::Range ColorJitter::factor_range(double value) {
  require(value >= 0, "ColorJitter: a brightness, contrast or saturation value must be non-negative");
  if (value == 0) return std::nullopt;
  return std::array<double, 2>{std::max(0.0, 1.0 - value), 1.0 + value};
}

ColorJitter::Range ColorJitter::hue_range(double value) {
  require(value >= 0 && value <= 0.5, "ColorJitter: hue must be in [0, 0.5]");
  if (value == 0) return std::nullopt;
  return std::array<double, 2>{-value, value};
}

Image ColorJitter::apply(const Image& in, Rng& rng) const {
  int order[4] = {0, 1, 2, 3};
  for (int i = 3; i > 0; --i) std::swap(order[i], order[rng.randint(0, i + 1)]);
  const Range* ranges[4] = {&brightness_, &contrast_, &saturation_, &hue_};
  double factors[4] = {0, 0, 0, 0};
  for (int i = 0; i < 4; ++i)
    if (*ranges[i]) factors[i] = rng.uniform((**ranges[i])[0], (**ranges[i])[1]);
  Image img = in;
  for (int step : order) {
    if (!*ranges[step]) continue;
    switch (step) {
      case 0: img = adjust_brightness(img, factors[0]); break;
      case 1: img = adjust_contrast(img, factors[1]); break;
      case 2: img = adjust_saturation(img, factors[2]); break;
      case 3: img = adjust_hue(img, factors[3]); break;
    }
  }
  return img;
}

Image Pipeline::transform_image(const Image& in, Rng& rng) const {
  if (image_steps.empty()) return in;
  Image img = image_steps.front()->apply(in, rng);   // no copy of the (large) decoded image
  for (std::size_t i = 1; i < image_steps.size(); ++i) img = image_steps[i]->apply(img, rng);
  return img;
}

std::array<int, 3> Pipeline::run(const Image& in, std::uint64_t seed, float* out, std::size_t capacity) const {
  Rng rng(seed);
  const Image img = transform_image(in, rng);
  const std::size_t n = static_cast<std::size_t>(img.channels) * img.height * img.width;
  if (n > capacity)
    throw std::invalid_argument("transformed image " + std::to_string(img.channels) + "x" + std::to_string(img.height) +
                                "x" + std::to_string(img.width) + " does not fit the buffer of " +
                                std::to_string(capacity) + " floats");
  write_tensor(img, rng, out);
  return {img.channels, img.height, img.width};
}

void Pipeline::write_tensor(const Image& transformed, Rng& rng, float* out) const {
  to_tensor_normalize(transformed, mean, std, out);
  for (const RandomErasing& e : tensor_steps) e.apply(out, transformed.channels, transformed.height, transformed.width, rng);
}

}  // namespace sg::image
