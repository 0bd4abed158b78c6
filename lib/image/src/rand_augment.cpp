#include "image/rand_augment.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace sg::image {

namespace {

using Op = AugmentOp;

// SG's _RAND_TRANSFORMS and _RAND_INCREASING_TRANSFORMS, in SG's order.
const std::vector<Op> kRandOps = {
    Op::auto_contrast, Op::equalize, Op::invert, Op::rotate, Op::posterize, Op::solarize, Op::solarize_add,
    Op::color, Op::contrast, Op::brightness, Op::sharpness, Op::shear_x, Op::shear_y, Op::translate_x_rel,
    Op::translate_y_rel};
const std::vector<Op> kRandIncreasingOps = {
    Op::auto_contrast, Op::equalize, Op::invert, Op::rotate, Op::posterize_increasing, Op::solarize_increasing,
    Op::solarize_add, Op::color_increasing, Op::contrast_increasing, Op::brightness_increasing,
    Op::sharpness_increasing, Op::shear_x, Op::shear_y, Op::translate_x_rel, Op::translate_y_rel};
// SG's _RAND_CHOICE_WEIGHTS_0, by position in the list (SG indexes them by the names of the
// plain list, whichever list is used).
const std::vector<double> kWeights0 = {0.025, 0.005, 0.0, 0.3, 0.0, 0.005, 0.005, 0.025,
                                       0.005, 0.005, 0.025, 0.2, 0.2, 0.1,   0.1};

[[noreturn]] void refuse(const std::string& config, const std::string& problem) {
  throw std::invalid_argument("RandAugment config '" + config + "': " + problem);
}

int parse_int(const std::string& config, const std::string& section, const std::string& value) {
  if (value.size() > 6 || !std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }))
    refuse(config, "section '" + section + "': expected a whole number after the key");
  return std::stoi(value);
}

double parse_float(const std::string& config, const std::string& section, const std::string& value) {
  const bool plain = std::all_of(value.begin(), value.end(), [](unsigned char c) {
    return std::isdigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+';
  });
  char* end = nullptr;
  const double v = plain ? std::strtod(value.c_str(), &end) : 0.0;
  if (!plain || end != value.c_str() + value.size() || !std::isfinite(v))
    refuse(config, "section '" + section + "': expected a number after the key");
  return v;
}

}  // namespace

RandAugmentConfig parse_rand_augment_config(const std::string& config_str) {
  std::vector<std::string> sections;
  std::size_t start = 0;
  for (std::size_t dash; (dash = config_str.find('-', start)) != std::string::npos; start = dash + 1)
    sections.push_back(config_str.substr(start, dash - start));
  sections.push_back(config_str.substr(start));
  if (sections[0] != "rand") refuse(config_str, "must start with 'rand' (SG's only RandAugment variant)");
  RandAugmentConfig c;
  std::set<std::string> seen;
  for (std::size_t i = 1; i < sections.size(); ++i) {
    const std::string& s = sections[i];
    const std::size_t digit = s.find_first_of("0123456789");
    if (digit == std::string::npos)
      refuse(config_str, "section '" + s + "' has no value (expected m, n, mstd, w or inc followed by a number)");
    const std::string key = s.substr(0, digit), value = s.substr(digit);
    if (!seen.insert(key).second) refuse(config_str, "'" + key + "' given twice");
    if (key == "m") {
      c.magnitude = parse_int(config_str, s, value);
    } else if (key == "n") {
      c.num_ops = parse_int(config_str, s, value);
    } else if (key == "mstd") {
      c.magnitude_std = parse_float(config_str, s, value);
    } else if (key == "w") {
      if (parse_int(config_str, s, value) != 0) refuse(config_str, "section '" + s + "': SG has only weight set 0");
      c.weighted = true;
    } else if (key == "inc") {
      parse_int(config_str, s, value);
      c.increasing = true;   // SG's bool(val) of a non-empty string: inc0 as well
    } else {
      refuse(config_str, "unknown key '" + key + "' in section '" + s + "' (SG's keys: m, n, mstd, w, inc)");
    }
  }
  if (c.weighted && c.num_ops > 13)
    refuse(config_str, "w0 draws without replacement from the 13 ops it weights above 0, so n must be at most 13");
  return c;
}

RandAugment::RandAugment(const std::string& config_str, int crop_size, const std::vector<double>& img_mean)
    : config_(parse_rand_augment_config(config_str)),
      ops_(config_.increasing ? kRandIncreasingOps : kRandOps) {
  if (crop_size <= 0) throw std::invalid_argument("RandAugment crop_size must be positive");
  if (img_mean.empty()) throw std::invalid_argument("RandAugment img_mean must have a value per channel");
  for (double v : img_mean) {
    if (!(v >= 0.0) || !std::isfinite(v)) throw std::invalid_argument("RandAugment img_mean values must be >= 0");
    // Python's round (half to even) of 255 * value, capped at 255.
    fill_.push_back(static_cast<std::uint8_t>(std::min(255.0, std::nearbyint(255.0 * v))));
  }
  if (config_.weighted) weights_ = kWeights0;
}

std::size_t RandAugment::choose(Rng& rng, std::vector<bool>& taken) const {
  if (weights_.empty()) return static_cast<std::size_t>(rng.randint(0, static_cast<std::int64_t>(ops_.size())));
  // numpy's choice(replace=False, p=...): the next op in proportion to the weights left.
  double total = 0.0;
  for (std::size_t i = 0; i < weights_.size(); ++i)
    if (!taken[i]) total += weights_[i];
  const double u = rng.uniform(0.0, total);
  double cumulative = 0.0;
  std::size_t last = 0;
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    if (taken[i] || weights_[i] == 0.0) continue;
    last = i;
    cumulative += weights_[i];
    if (u < cumulative) break;
  }
  taken[last] = true;
  return last;
}

std::vector<RandAugment::Step> RandAugment::draw(Rng& rng) const {
  std::vector<bool> taken(ops_.size(), false);
  std::vector<std::size_t> chosen;
  for (int i = 0; i < config_.num_ops; ++i) chosen.push_back(choose(rng, taken));
  std::vector<Step> steps;
  for (std::size_t index : chosen) {
    Step s{ops_[index], false, 0.0, false};
    // SG's AugmentOp: skipped when random() > 0.5; the magnitude noise and the sign are
    // drawn only for an op that runs.
    s.applied = rng.uniform(0.0, 1.0) <= 0.5;
    if (s.applied) {
      double m = config_.magnitude;
      if (config_.magnitude_std > 0) m += config_.magnitude_std * rng.normal();
      s.magnitude = std::clamp(m, 0.0, 10.0);
      s.negate = augment_op_signed(s.op) && rng.uniform(0.0, 1.0) > 0.5;
    }
    steps.push_back(s);
  }
  return steps;
}

Image RandAugment::apply(const Image& in, Rng& rng) const {
  if (in.channels != static_cast<int>(fill_.size()))
    throw std::invalid_argument("RandAugment: img_mean has " + std::to_string(fill_.size()) +
                                " values but the image has " + std::to_string(in.channels) +
                                " channels (PIL refuses such a fill colour)");
  Image out = in;
  for (const Step& s : draw(rng))
    if (s.applied) out = apply_augment_op(s.op, out, s.magnitude, s.negate, fill_);
  return out;
}

}  // namespace sg::image
