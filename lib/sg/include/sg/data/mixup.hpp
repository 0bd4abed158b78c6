#pragma once
// SuperGradients' CollateMixup (super_gradients.training.datasets.mixup): a training batch
// mixed with itself reversed (sample i with sample N-1-i), by mixup (a blend) or cutmix (a
// box pasted in), with soft targets: the two labels' smoothed one-hots weighted by lam.
// Modes "batch" (one draw for the whole batch) and "elem" (one per sample). The draws come
// from a generator keyed by (seed, epoch, batch index) alone.
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include <torch/types.h>

namespace sg {

struct MixupOptions {
  enum class Mode { batch, elem };
  double mixup_alpha = 1.0;   // SG's defaults
  double cutmix_alpha = 0.0;
  std::optional<std::array<double, 2>> cutmix_minmax;   // box sides as fractions of the image; forces cutmix_alpha 1
  double prob = 1.0;
  double switch_prob = 0.5;
  Mode mode = Mode::batch;
  bool correct_lam = true;
  double label_smoothing = 0.1;
  int64_t num_classes = 1000;
};

// What one mix drew, in the order SG draws it: the uniform compared with prob, the one
// compared with switch_prob (only when both alphas are positive), lam from the Beta
// distribution, then the box: its centre (cy, cx), or with cutmix_minmax its height and
// width, then its top-left corner.
struct MixDraw {
  double apply_u = 0, switch_u = 0;
  double lam = 1;   // the Beta draw (a float32 value, as SG's), before the box corrects it
  bool has_box = false;
  std::array<int64_t, 2> box_size{0, 0}, box_at{0, 0};
};

struct MixedBatch {
  torch::Tensor images;    // float32 (N, C, H, W)
  torch::Tensor targets;   // float32 (N, num_classes)
  std::vector<MixDraw> draws;   // one (mode batch) or one per sample (mode elem)
};

// Throws std::invalid_argument naming the parameter that is out of range.
void check_mixup_options(const MixupOptions& options);

// Batch `batch` of `epoch` mixed: `images` float32 (N, C, H, W) with N even, `labels` int64
// below num_classes. Throws std::invalid_argument for options check_mixup_options refuses, an
// odd N (as SG's) or a cutmix_minmax that leaves no box size to draw.
MixedBatch mixup_batch(const MixupOptions& options, const torch::Tensor& images, const torch::Tensor& labels,
                       uint64_t seed, int64_t epoch, int64_t batch);

}  // namespace sg
