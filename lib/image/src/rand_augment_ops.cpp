// SG's RandAugment ops: each name, its level function (magnitude 0..10 to the PIL
// argument, in SG's arithmetic and order) and the PIL call it makes.
#include <stdexcept>

#include "image/color.hpp"
#include "image/rand_augment.hpp"
#include "pil_ops.hpp"

namespace sg::image {

namespace {

struct OpInfo {
  AugmentOp op;
  const char* name;
  bool is_signed;
};

constexpr OpInfo kOps[] = {
    {AugmentOp::auto_contrast, "AutoContrast", false},
    {AugmentOp::equalize, "Equalize", false},
    {AugmentOp::invert, "Invert", false},
    {AugmentOp::rotate, "Rotate", true},
    {AugmentOp::posterize, "Posterize", false},
    {AugmentOp::posterize_increasing, "PosterizeIncreasing", false},
    {AugmentOp::solarize, "Solarize", false},
    {AugmentOp::solarize_increasing, "SolarizeIncreasing", false},
    {AugmentOp::solarize_add, "SolarizeAdd", false},
    {AugmentOp::color, "Color", false},
    {AugmentOp::color_increasing, "ColorIncreasing", true},
    {AugmentOp::contrast, "Contrast", false},
    {AugmentOp::contrast_increasing, "ContrastIncreasing", true},
    {AugmentOp::brightness, "Brightness", false},
    {AugmentOp::brightness_increasing, "BrightnessIncreasing", true},
    {AugmentOp::sharpness, "Sharpness", false},
    {AugmentOp::sharpness_increasing, "SharpnessIncreasing", true},
    {AugmentOp::shear_x, "ShearX", true},
    {AugmentOp::shear_y, "ShearY", true},
    {AugmentOp::translate_x_rel, "TranslateXRel", true},
    {AugmentOp::translate_y_rel, "TranslateYRel", true},
};

const OpInfo& info(AugmentOp op) {
  for (const OpInfo& i : kOps)
    if (i.op == op) return i;
  throw std::invalid_argument("unknown RandAugment op");
}

// SG's level functions; `level` is the clipped magnitude.
double scaled(double level, double range) { return (level / 10.0) * range; }
double sign(double v, bool negate) { return negate ? -v : v; }
double enhance_factor(double level) { return scaled(level, 1.8) + 0.1; }
double enhance_increasing_factor(double level, bool negate) { return 1.0 + sign(scaled(level, 0.9), negate); }
int posterize_bits(double level) { return static_cast<int>(scaled(level, 4)); }
int solarize_threshold(double level) { return static_cast<int>(scaled(level, 256)); }

// SG's posterize: 8 bits or more leave the image as it is.
Image posterize(const Image& in, int bits) { return bits >= 8 ? in : pil::posterize(in, bits); }

Image enhance(AugmentOp op, const Image& in, double factor) {
  switch (op) {
    case AugmentOp::color:
    case AugmentOp::color_increasing: return adjust_saturation(in, factor);
    case AugmentOp::contrast:
    case AugmentOp::contrast_increasing: return adjust_contrast(in, factor);
    case AugmentOp::brightness:
    case AugmentOp::brightness_increasing: return adjust_brightness(in, factor);
    default: return pil::sharpness(in, factor);
  }
}

}  // namespace

const char* augment_op_name(AugmentOp op) { return info(op).name; }

AugmentOp parse_augment_op(const std::string& name) {
  std::string known;
  for (const OpInfo& i : kOps) {
    if (name == i.name) return i.op;
    known += (known.empty() ? "" : ", ") + std::string(i.name);
  }
  throw std::invalid_argument("unknown RandAugment op '" + name + "' (known: " + known + ")");
}

bool augment_op_signed(AugmentOp op) { return info(op).is_signed; }

Image apply_augment_op(AugmentOp op, const Image& in, double magnitude, bool negate,
                       const std::vector<std::uint8_t>& fill) {
  if (!(magnitude >= 0.0 && magnitude <= 10.0)) throw std::invalid_argument("RandAugment magnitude must be in [0, 10]");
  const double m = magnitude;
  switch (op) {
    case AugmentOp::auto_contrast: return pil::autocontrast(in);
    case AugmentOp::equalize: return pil::equalize(in);
    case AugmentOp::invert: return pil::invert(in);
    case AugmentOp::rotate: return pil::rotate(in, sign(scaled(m, 30.0), negate), fill);
    case AugmentOp::posterize: return posterize(in, posterize_bits(m));
    case AugmentOp::posterize_increasing: return posterize(in, 4 - posterize_bits(m));
    case AugmentOp::solarize: return pil::solarize(in, solarize_threshold(m));
    case AugmentOp::solarize_increasing: return pil::solarize(in, 256 - solarize_threshold(m));
    case AugmentOp::solarize_add: return pil::solarize_add(in, static_cast<int>(scaled(m, 110)), 128);
    case AugmentOp::color:
    case AugmentOp::contrast:
    case AugmentOp::brightness:
    case AugmentOp::sharpness: return enhance(op, in, enhance_factor(m));
    case AugmentOp::color_increasing:
    case AugmentOp::contrast_increasing:
    case AugmentOp::brightness_increasing:
    case AugmentOp::sharpness_increasing: return enhance(op, in, enhance_increasing_factor(m, negate));
    case AugmentOp::shear_x: return pil::affine(in, {1, sign(scaled(m, 0.3), negate), 0, 0, 1, 0}, fill);
    case AugmentOp::shear_y: return pil::affine(in, {1, 0, 0, sign(scaled(m, 0.3), negate), 1, 0}, fill);
    case AugmentOp::translate_x_rel:
      return pil::affine(in, {1, 0, sign(scaled(m, 0.45), negate) * in.width, 0, 1, 0}, fill);
    case AugmentOp::translate_y_rel:
      return pil::affine(in, {1, 0, 0, 0, 1, sign(scaled(m, 0.45), negate) * in.height}, fill);
  }
  throw std::invalid_argument("unknown RandAugment op");
}

}  // namespace sg::image
