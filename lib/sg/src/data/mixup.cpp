// CollateMixup as SG's mixup.py computes it, with our own draws: one image::Rng keyed by
// (seed, "MIXUP", epoch, batch index), read in the order SG draws. Precision follows SG's
// where it shows in the result: lam is a float32 Beta sample; in mode "batch" SG then
// carries it as a Python float (box and 1 - lam in double), in mode "elem" as a float32
// tensor element (box ratio and 1 - lam in float32).
#include "sg/data/mixup.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "data/random.hpp"
#include "image/random.hpp"

namespace sg {
namespace {

// log of a Gamma(a, 1) sample: Marsaglia-Tsang for a >= 1, boosted by U^(1/a) below 1 (in
// logs, so that SG's small alphas such as 0.2 never underflow).
double log_gamma_sample(image::Rng& rng, double a) {
  if (a < 1) return log_gamma_sample(rng, a + 1) + std::log(1.0 - rng.uniform(0.0, 1.0)) / a;
  const double d = a - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = rng.normal();
    double v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = 1.0 - rng.uniform(0.0, 1.0);
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return std::log(d * v);
  }
}

// Beta(alpha, alpha), rounded to float32 as torch's Beta(...).sample() gives it.
double beta_sample(image::Rng& rng, double alpha) {
  const double g1 = log_gamma_sample(rng, alpha), g2 = log_gamma_sample(rng, alpha);
  return static_cast<double>(static_cast<float>(1.0 / (1.0 + std::exp(g2 - g1))));
}

double effective_cutmix_alpha(const MixupOptions& o) { return o.cutmix_minmax ? 1.0 : o.cutmix_alpha; }

// SG's rand_bbox (margin 0) or rand_bbox_minmax, the draws only.
void draw_box(const MixupOptions& o, image::Rng& rng, int64_t h, int64_t w, MixDraw& d) {
  d.has_box = true;
  if (o.cutmix_minmax) {
    const auto [lo, hi] = *o.cutmix_minmax;
    const int64_t h_lo = int64_t(double(h) * lo), h_hi = int64_t(double(h) * hi);
    const int64_t w_lo = int64_t(double(w) * lo), w_hi = int64_t(double(w) * hi);
    if (h_lo >= h_hi || w_lo >= w_hi)
      throw std::invalid_argument("CollateMixup: cutmix_minmax leaves no box size to draw for " + std::to_string(h) +
                                  "x" + std::to_string(w) + " images");
    d.box_size = {rng.randint(h_lo, h_hi), rng.randint(w_lo, w_hi)};
    d.box_at = {rng.randint(0, h - d.box_size[0]), rng.randint(0, w - d.box_size[1])};
  } else {
    d.box_at = {rng.randint(0, h), rng.randint(0, w)};
  }
}

// Mixup or cutmix, as SG picks: switch_prob decides when both alphas are positive (the
// draw recorded in d.switch_u). Returns the chosen Beta alpha.
double choose_alpha(const MixupOptions& o, image::Rng& rng, MixDraw& d, bool& cutmix) {
  const double ca = effective_cutmix_alpha(o);
  if (o.mixup_alpha > 0 && ca > 0) {
    d.switch_u = rng.uniform(0.0, 1.0);
    cutmix = d.switch_u < o.switch_prob;
  } else {
    cutmix = ca > 0;
  }
  return cutmix ? ca : o.mixup_alpha;
}

struct Box {
  int64_t yl = 0, yh = 0, xl = 0, xh = 0;
};

// SG's cutmix_bbox_and_lam over the drawn values; `lam` is corrected in place. `single`:
// lam is a float32 (mode elem), so the side ratio is computed in float32 as SG's is.
Box resolve_box(const MixupOptions& o, const MixDraw& d, int64_t h, int64_t w, double& lam, bool single) {
  Box b;
  if (o.cutmix_minmax) {
    b = {d.box_at[0], d.box_at[0] + d.box_size[0], d.box_at[1], d.box_at[1] + d.box_size[1]};
  } else {
    int64_t cut_h = 0, cut_w = 0;
    if (single) {
      const float ratio = std::sqrt(1.0f - static_cast<float>(lam));
      cut_h = int64_t(float(h) * ratio);
      cut_w = int64_t(float(w) * ratio);
    } else {
      const double ratio = std::sqrt(1.0 - lam);
      cut_h = int64_t(double(h) * ratio);
      cut_w = int64_t(double(w) * ratio);
    }
    const auto clip = [](int64_t v, int64_t hi) { return std::min(std::max(v, int64_t{0}), hi); };
    b = {clip(d.box_at[0] - cut_h / 2, h), clip(d.box_at[0] + cut_h / 2, h), clip(d.box_at[1] - cut_w / 2, w),
         clip(d.box_at[1] + cut_w / 2, w)};
  }
  if (o.correct_lam || o.cutmix_minmax) lam = 1.0 - double((b.yh - b.yl) * (b.xh - b.xl)) / double(h * w);
  if (single) lam = static_cast<double>(static_cast<float>(lam));
  return b;
}

using torch::indexing::Slice;

void paste(torch::Tensor& out, int64_t i, const torch::Tensor& from, const Box& b) {
  out[i].index_put_({Slice(), Slice(b.yl, b.yh), Slice(b.xl, b.xh)},
                    from.index({Slice(), Slice(b.yl, b.yh), Slice(b.xl, b.xh)}));
}

// SG's one_hot with mixup_target's on/off values, as float32.
torch::Tensor smoothed_one_hot(const torch::Tensor& labels, const MixupOptions& o) {
  const double off = o.label_smoothing / double(o.num_classes);
  const double on = 1.0 - o.label_smoothing + off;
  return torch::full({labels.size(0), o.num_classes}, off, torch::kFloat32).scatter_(1, labels.view({-1, 1}), on);
}

MixedBatch mix_whole_batch(const MixupOptions& o, image::Rng& rng, const torch::Tensor& images,
                           const torch::Tensor& y1, const torch::Tensor& y2) {
  const int64_t h = images.size(2), w = images.size(3);
  MixDraw d;
  bool cutmix = false;
  d.apply_u = rng.uniform(0.0, 1.0);
  if (d.apply_u < o.prob) {
    const double alpha = choose_alpha(o, rng, d, cutmix);
    d.lam = beta_sample(rng, alpha);
  }
  double lam = d.lam;
  Box box;
  if (cutmix) {
    draw_box(o, rng, h, w, d);
    box = resolve_box(o, d, h, w, lam, false);
  }
  const torch::Tensor flipped = images.flip(0);
  MixedBatch out;
  if (lam == 1.0) {
    out.images = images.clone();
  } else if (cutmix) {
    out.images = images.clone();
    for (int64_t i = 0; i < images.size(0); ++i) paste(out.images, i, flipped[i], box);
  } else {
    out.images = images * lam + flipped * (1.0 - lam);
  }
  out.targets = y1 * lam + y2 * (1.0 - lam);
  out.draws.push_back(d);
  return out;
}

MixedBatch mix_each_sample(const MixupOptions& o, image::Rng& rng, const torch::Tensor& images,
                           const torch::Tensor& y1, const torch::Tensor& y2) {
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  MixedBatch out;
  out.images = images.clone();
  torch::Tensor lams = torch::ones({n, 1}, torch::kFloat32);
  for (int64_t i = 0; i < n; ++i) {
    MixDraw d;
    bool cutmix = false;
    const double drawn = beta_sample(rng, choose_alpha(o, rng, d, cutmix));
    d.apply_u = rng.uniform(0.0, 1.0);
    if (d.apply_u < o.prob) d.lam = drawn;
    double lam = d.lam;
    const int64_t j = n - 1 - i;
    if (lam != 1.0) {
      if (cutmix) {
        draw_box(o, rng, h, w, d);
        paste(out.images, i, images[j], resolve_box(o, d, h, w, lam, true));
      } else {
        const float lf = static_cast<float>(lam);
        out.images[i] = images[i] * double(lf) + images[j] * double(1.0f - lf);
      }
    }
    lams[i][0] = lam;
    out.draws.push_back(d);
  }
  out.targets = y1 * lams + y2 * (1.0 - lams);
  return out;
}

}  // namespace

void check_mixup_options(const MixupOptions& o) {
  const auto require = [](bool ok, const char* name, const char* what) {
    if (!ok) throw std::invalid_argument(std::string(name) + ": " + what);
  };
  require(o.mixup_alpha >= 0 && std::isfinite(o.mixup_alpha), "mixup_alpha", "must be a finite number >= 0");
  require(o.cutmix_alpha >= 0 && std::isfinite(o.cutmix_alpha), "cutmix_alpha", "must be a finite number >= 0");
  if (o.cutmix_minmax) {
    const auto [lo, hi] = *o.cutmix_minmax;
    require(lo >= 0 && lo < hi && hi <= 1, "cutmix_minmax", "must be [min, max] with 0 <= min < max <= 1");
  }
  require(o.prob >= 0 && o.prob <= 1, "prob", "must be in [0, 1]");
  require(o.switch_prob >= 0 && o.switch_prob <= 1, "switch_prob", "must be in [0, 1]");
  require(o.label_smoothing >= 0 && o.label_smoothing <= 1, "label_smoothing", "must be in [0, 1]");
  require(o.num_classes > 0, "num_classes", "must be positive");
  require(o.mixup_alpha > 0 || effective_cutmix_alpha(o) > 0, "mixup_alpha",
          "one of mixup_alpha > 0, cutmix_alpha > 0 or cutmix_minmax must be set (as SG requires)");
}

MixedBatch mixup_batch(const MixupOptions& options, const torch::Tensor& images, const torch::Tensor& labels,
                       uint64_t seed, int64_t epoch, int64_t batch) {
  check_mixup_options(options);
  const int64_t n = images.size(0);
  if (n % 2 != 0)
    throw std::invalid_argument("CollateMixup: batch " + std::to_string(batch) + " has " + std::to_string(n) +
                                " samples; SG's CollateMixup needs an even batch size (drop_last: True drops an odd last batch)");
  if (labels.numel() > 0 && (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= options.num_classes))
    throw std::invalid_argument("CollateMixup: a label outside 0.." + std::to_string(options.num_classes - 1) +
                                " (num_classes " + std::to_string(options.num_classes) + ")");
  image::Rng rng(data_detail::key(seed, data_detail::kMixupStream, uint64_t(epoch), uint64_t(batch)));
  const torch::Tensor y1 = smoothed_one_hot(labels, options);
  const torch::Tensor y2 = y1.flip(0);
  return options.mode == MixupOptions::Mode::batch ? mix_whole_batch(options, rng, images, y1, y2)
                                                   : mix_each_sample(options, rng, images, y1, y2);
}

}  // namespace sg
