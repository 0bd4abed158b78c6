#include "sg/optim/lr_schedule.hpp"

#include <cmath>
#include <stdexcept>

namespace sg {

double LrSchedule::at(int64_t epoch, int64_t batch, int64_t batches_per_epoch) const {
  if (epoch < warmup_epochs) {
    // SG: start at initial_lr / (warmup_epochs + 1) unless given, rise linearly per epoch.
    const double start = warmup_initial_lr.value_or(initial_lr / double(warmup_epochs + 1));
    return start + (initial_lr - start) * double(epoch) / double(warmup_epochs);
  }
  if (mode.empty() || mode == "constant") return initial_lr;
  if (mode == "StepLRScheduler") {
    int passed = 0;
    for (int64_t update : lr_updates) passed += update <= epoch;
    return initial_lr * std::pow(lr_decay_factor, passed);
  }
  if (mode == "CosineLRScheduler") {
    // Per step over the epochs after warm-up, from initial_lr down to final ratio.
    const double total = double(std::max<int64_t>(1, (max_epochs - warmup_epochs) * batches_per_epoch));
    const double done = double((epoch - warmup_epochs) * batches_per_epoch + batch);
    const double cosine = 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, done / total)));
    return initial_lr * (cosine_final_lr_ratio + (1.0 - cosine_final_lr_ratio) * cosine);
  }
  throw std::invalid_argument("unknown lr_mode '" + mode + "' (known: StepLRScheduler, CosineLRScheduler)");
}

}  // namespace sg
