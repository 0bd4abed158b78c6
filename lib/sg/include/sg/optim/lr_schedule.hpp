#pragma once
// SuperGradients' learning-rate policies as a pure function of the position in training,
// so that a resumed run gets exactly the rates an uninterrupted one would.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sg {

struct LrSchedule {
  std::string mode;                    // "StepLRScheduler", "CosineLRScheduler", "" (constant)
  double initial_lr = 0.1;
  std::vector<int64_t> lr_updates;     // step: epochs at which the rate is multiplied
  double lr_decay_factor = 0.1;        // step: the multiplier
  double cosine_final_lr_ratio = 0.01; // cosine: final rate / initial rate
  int64_t warmup_epochs = 0;           // linear warm-up per epoch, as SG's LinearEpochLRWarmup
  std::optional<double> warmup_initial_lr;
  int64_t max_epochs = 1;

  // The rate for batch `batch` of epoch `epoch` (both 0-based).
  double at(int64_t epoch, int64_t batch, int64_t batches_per_epoch) const;
};

}  // namespace sg
