#pragma once
// SuperGradients' classification transforms (torchvision's, on PIL images) on 8-bit images.
// Deterministic ones equal torchvision's output pixel for pixel; random ones draw their
// parameters from the caller's Rng as torchvision draws them from torch's generator (same
// distributions, same rejection rules, not the same stream). Constructors check their
// parameters and throw std::invalid_argument naming the transform and the parameter.
//
// SG's names: Resize, CenterCrop, RandomCrop, RandomHorizontalFlip, ColorJitter as here;
// RandomResizedCropAndInterpolation is RandomResizedCrop with interpolation "default"
// (bilinear), "random" (bilinear or bicubic) or a named one; ToTensor + Normalize are the
// Pipeline's mean/std; RandomErase(probability, value) is RandomErasing (value "random":
// noise, a number: that value); RandAugmentTransform is RandAugment (image/rand_augment.hpp).
// Not implemented (an SG recipe naming them must be refused): AutoAugment, Lighting.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "image/geometry.hpp"
#include "image/image.hpp"
#include "image/random.hpp"
#include "image/resize.hpp"
#include "image/tensor.hpp"

namespace sg::image {

class ImageTransform {
 public:
  virtual ~ImageTransform() = default;
  virtual Image apply(const Image& in, Rng& rng) const = 0;
};

// Resize(size): an int resizes the shorter side to `size` keeping the aspect ratio (the
// longer side int(size * long / short), optionally capped at max_size); (h, w) resizes to it.
class Resize : public ImageTransform {
 public:
  Resize(int shorter_side, Interpolation interpolation = Interpolation::bilinear, std::optional<int> max_size = {});
  Resize(int height, int width, Interpolation interpolation = Interpolation::bilinear);
  Image apply(const Image& in, Rng& rng) const override;
  std::array<int, 2> output_size(int height, int width) const;

 private:
  int height_ = 0, width_ = 0;   // width_ == 0: shorter side to height_
  std::optional<int> max_size_;
  Interpolation interpolation_;
};

// CenterCrop(h, w): zero-padded first where the image is smaller, as torchvision does.
class CenterCrop : public ImageTransform {
 public:
  CenterCrop(int height, int width);
  Image apply(const Image& in, Rng& rng) const override;

 private:
  int height_, width_;
};

// RandomCrop(size, padding, pad_if_needed, fill, padding_mode). same_size() crops the padded
// image back to the size of its input (the built-in recipes' crop_padding).
class RandomCrop : public ImageTransform {
 public:
  struct Options {
    std::array<int, 4> padding = {0, 0, 0, 0};   // left, top, right, bottom
    bool pad_if_needed = false;
    std::array<std::uint8_t, 3> fill = {0, 0, 0};
    PadMode padding_mode = PadMode::constant;
  };
  RandomCrop(int height, int width, Options options);
  static RandomCrop same_size(Options options);
  Image apply(const Image& in, Rng& rng) const override;

 private:
  int height_, width_;   // 0, 0: the input's size
  Options options_;
};

// RandomResizedCrop(size, scale, ratio, interpolation), and SG's
// RandomResizedCropAndInterpolation: with more than one interpolation ("random": bilinear
// and bicubic), one is chosen uniformly per sample, after the crop is drawn.
class RandomResizedCrop : public ImageTransform {
 public:
  struct Crop {
    int top, left, height, width;
  };
  RandomResizedCrop(int height, int width, std::array<double, 2> scale = {0.08, 1.0},
                    std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0},
                    std::vector<Interpolation> interpolations = {Interpolation::bilinear});
  Image apply(const Image& in, Rng& rng) const override;
  // torchvision's RandomResizedCrop.get_params: 10 tries, then the central crop.
  Crop draw(int image_height, int image_width, Rng& rng) const;

 private:
  int height_, width_;
  std::array<double, 2> scale_, ratio_;
  std::vector<Interpolation> interpolations_;
};

class RandomHorizontalFlip : public ImageTransform {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  Image apply(const Image& in, Rng& rng) const override;

 private:
  double p_;
};

// ColorJitter(brightness, contrast, saturation, hue): ranges [lo, hi] (torchvision turns a
// number b into [max(0, 1 - b), 1 + b], and hue h into [-h, h]); the four adjustments in a
// random order, each factor uniform in its range; an absent range is skipped.
class ColorJitter : public ImageTransform {
 public:
  using Range = std::optional<std::array<double, 2>>;
  ColorJitter(Range brightness, Range contrast, Range saturation, Range hue);
  static Range factor_range(double value);   // torchvision's b -> [max(0, 1 - b), 1 + b]; 0 -> none
  static Range hue_range(double value);      // h -> [-h, h]; 0 -> none
  Image apply(const Image& in, Rng& rng) const override;

 private:
  Range brightness_, contrast_, saturation_, hue_;
};

// A transform list: image steps, then ToTensor + Normalize (mean 0, std 1 for a plain
// ToTensor), then RandomErasing steps on the floats.
struct Pipeline {
  using Step = std::shared_ptr<const ImageTransform>;
  std::vector<Step> image_steps;
  std::vector<float> mean = {0.0f};
  std::vector<float> std = {1.0f};
  std::vector<RandomErasing> tensor_steps;

  // The transformed image of one sample (before ToTensor), all randomness from `rng`.
  Image transform_image(const Image& in, Rng& rng) const;
  // ToTensor + Normalize of a transformed image into `out` (channels * height * width floats),
  // then the RandomErasing steps, drawing from the same `rng`.
  void write_tensor(const Image& transformed, Rng& rng, float* out) const;
  // All of it: CHW floats into `out` (room for `capacity` floats; a larger result is an
  // error). Returns {channels, height, width}.
  std::array<int, 3> run(const Image& in, std::uint64_t seed, float* out, std::size_t capacity) const;
};

}  // namespace sg::image
