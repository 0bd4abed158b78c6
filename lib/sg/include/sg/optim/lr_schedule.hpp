#pragma once
// SuperGradients' learning-rate policies as a pure function of the position in training,
// so that a resumed run gets exactly the rates an uninterrupted one would.
//
// SG sets the rate from callbacks at four points: the warm-up at the start of an epoch
// (LinearEpochLRWarmup) or of a batch (LinearBatchLRWarmup), the per-step policies
// (Cosine, Poly, Exponential) after each optimizer step, and StepLRScheduler at the end of
// an epoch. A batch trains with the rate the latest of those left; where none has acted
// yet, initial_lr. `at` returns exactly that rate.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sg {

struct LrSchedule {
  enum class Warmup { none, epoch, batch };   // warmup_mode: null, LinearEpochLRWarmup, LinearBatchLRWarmup

  // "" (constant: lr_mode null), StepLRScheduler, CosineLRScheduler, PolyLRScheduler, ExponentialLRScheduler.
  std::string mode;
  double initial_lr = 0.1;
  std::vector<int64_t> lr_updates;     // step: epochs whose end multiplies the rate
  double lr_decay_factor = 0.1;        // step and exponential: the multiplier
  double cosine_final_lr_ratio = 0.01; // cosine: final rate / initial rate
  Warmup warmup = Warmup::epoch;       // SG's default: LinearEpochLRWarmup
  int64_t warmup_epochs = 0;           // lr_warmup_epochs
  int64_t warmup_steps = 0;            // lr_warmup_steps
  int64_t cooldown_epochs = 0;         // lr_cooldown_epochs: the last epochs keep the rate the policy reached
  std::optional<double> warmup_initial_lr;
  int64_t max_epochs = 1;
  int64_t batch_accumulate = 1;        // batches per optimizer step (the per-step policies act after a step)

  // The rate for batch `batch` of epoch `epoch` (both 0-based).
  double at(int64_t epoch, int64_t batch, int64_t batches_per_epoch) const;
};

// SG's StepLRScheduler with step_lr_update_freq: the epochs ceil(freq * k), k = 1, 2, ...,
// from lr_warmup_epochs up to max_epochs - lr_cooldown_epochs (exclusive).
std::vector<int64_t> step_lr_updates(double freq, int64_t warmup_epochs, int64_t max_epochs, int64_t cooldown_epochs);

}  // namespace sg
