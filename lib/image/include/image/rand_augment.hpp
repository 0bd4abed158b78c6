#pragma once
// SG's RandAugmentTransform (super_gradients/training/datasets/auto_augment.py, a port of
// timm's RandAugment): per image, n ops chosen from a list of 15 (uniformly with
// replacement, or with SG's weights 0 without replacement), each applied with probability
// 0.5 at magnitude m (0..10; with mstd, m + N(0, mstd) per application, clipped to 0..10).
// The ops equal SG's PIL calls pixel for pixel; geometric ops resample bilinearly (SG never
// sets timm's random interpolation) and fill with img_mean. The draws come from our Rng:
// the same distributions as SG's `random`/numpy draws, not the same stream.
//
// config_str is SG's: "rand" then dash-separated sections KEY+VALUE, the value starting at
// the first digit: m<int> magnitude (default 10), n<int> ops per image (default 2),
// mstd<float> magnitude noise (default 0), w<int> weight set (only 0), inc<digits>
// the "Increasing" op list. As in SG, inc0 selects it too (SG tests bool("0"), which is
// True). Stricter than SG: a section without a value, a key given twice, or a value that
// is not a plain number is refused (SG skips, lets the last win, or fails in Python).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "image/image.hpp"
#include "image/transforms.hpp"

namespace sg::image {

enum class AugmentOp {
  auto_contrast, equalize, invert, rotate, posterize, posterize_increasing, solarize, solarize_increasing,
  solarize_add, color, color_increasing, contrast, contrast_increasing, brightness, brightness_increasing,
  sharpness, sharpness_increasing, shear_x, shear_y, translate_x_rel, translate_y_rel
};

const char* augment_op_name(AugmentOp op);                // SG's name: "AutoContrast", "ShearX", ...
AugmentOp parse_augment_op(const std::string& name);      // throws std::invalid_argument
// Whether SG's level function negates the op's argument with probability 0.5.
bool augment_op_signed(AugmentOp op);
// The op at `magnitude` (0..10) as SG's AugmentOp applies it, its argument negated where
// `negate` (signed ops only). `fill` (one value per channel) for the geometric ops.
Image apply_augment_op(AugmentOp op, const Image& in, double magnitude, bool negate,
                       const std::vector<std::uint8_t>& fill);

struct RandAugmentConfig {
  int magnitude = 10;
  int num_ops = 2;
  double magnitude_std = 0.0;
  bool increasing = false;
  bool weighted = false;   // w0
};
// Throws std::invalid_argument naming the config string and the bad section.
RandAugmentConfig parse_rand_augment_config(const std::string& config_str);

class RandAugment : public ImageTransform {
 public:
  // crop_size is checked (> 0) and, as in SG, used by no op of the lists (it sets timm's
  // translate_const, read only by the absolute TranslateX/Y). img_mean: per channel in
  // [0, 1] (SG caps 255 * value at 255), the fill colour min(255, round(255 * value)).
  RandAugment(const std::string& config_str, int crop_size, const std::vector<double>& img_mean);

  // One op of an image's draw: which, whether it runs, at what magnitude and sign.
  struct Step {
    AugmentOp op;
    bool applied;
    double magnitude;
    bool negate;
  };
  std::vector<Step> draw(Rng& rng) const;   // the random choices one apply() makes
  Image apply(const Image& in, Rng& rng) const override;

  const std::vector<AugmentOp>& ops() const { return ops_; }
  const std::vector<std::uint8_t>& fill() const { return fill_; }
  const RandAugmentConfig& config() const { return config_; }

 private:
  std::size_t choose(Rng& rng, std::vector<bool>& taken) const;

  RandAugmentConfig config_;
  std::vector<AugmentOp> ops_;
  std::vector<double> weights_;   // empty: uniform with replacement
  std::vector<std::uint8_t> fill_;
};

}  // namespace sg::image
