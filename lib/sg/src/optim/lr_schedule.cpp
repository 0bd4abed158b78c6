#include "sg/optim/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace sg {
namespace {

// When SG's callbacks act, as one count: within global batch g, its epoch's start (first
// batch only), the batch's start, then its optimizer step; an epoch's end comes after the
// step of its last batch. The rate a batch trains with is the latest setting up to its start.
int64_t epoch_start_time(int64_t epoch, int64_t n) { return 4 * epoch * n; }
int64_t batch_start_time(int64_t g) { return 4 * g + 1; }
int64_t step_time(int64_t g) { return 4 * g + 2; }
int64_t epoch_end_time(int64_t epoch, int64_t n) { return 4 * (epoch + 1) * n - 1; }

struct Setting {
  int64_t time = -1;
  double lr = 0;
};

void keep_latest(Setting& latest, int64_t time, double lr) {
  if (time > latest.time) latest = {time, lr};
}

// np.linspace(start, stop, num)[i], computed as NumPy does.
double linspace(double start, double stop, int64_t num, int64_t i) {
  if (num == 1) return start;
  if (i == num - 1) return stop;
  return double(i) * ((stop - start) / double(num - 1)) + start;
}

}  // namespace

std::vector<int64_t> step_lr_updates(double freq, int64_t warmup_epochs, int64_t max_epochs, int64_t cooldown_epochs) {
  const int64_t last = max_epochs - cooldown_epochs;
  std::vector<int64_t> updates;
  for (int64_t k = 1; k < last; ++k) {
    const auto epoch = int64_t(std::ceil(freq * double(k)));
    if (warmup_epochs <= epoch && epoch < last) updates.push_back(epoch);
  }
  return updates;
}

double LrSchedule::at(int64_t epoch, int64_t batch, int64_t n) const {
  const int64_t g = epoch * n + batch;
  const int64_t w = warmup_epochs;
  Setting latest;

  if (warmup == Warmup::epoch && w > 0) {   // at the start of epochs 0..w
    const int64_t e = std::min(epoch, w);
    const double start = warmup_initial_lr.value_or(initial_lr / double(w + 1));
    keep_latest(latest, epoch_start_time(e, n), start + double(e) * ((initial_lr - start) / double(w)));
  }
  if (warmup == Warmup::batch) {   // at the start of the first min(lr_warmup_steps, n) batches
    const int64_t steps = std::min(warmup_steps, n);
    if (steps > 0) {
      const int64_t i = std::min(g, steps - 1);
      keep_latest(latest, batch_start_time(i), linspace(warmup_initial_lr.value_or(0.0), initial_lr, steps, i));
    }
  }
  if (mode == "StepLRScheduler" && epoch > w) {   // at the end of epochs w, w+1, ...
    const int64_t e = epoch - 1;
    const auto passed = std::count_if(lr_updates.begin(), lr_updates.end(), [&](int64_t u) { return u <= e; });
    keep_latest(latest, epoch_end_time(e, n), initial_lr * std::pow(lr_decay_factor, double(passed)));
  }
  if (mode == "CosineLRScheduler" || mode == "PolyLRScheduler" || mode == "ExponentialLRScheduler") {
    // After the optimizer steps of global batches [first, end): SG's cosine with
    // lr_warmup_steps starts after them and never stops; otherwise epochs w .. max - cooldown.
    const bool from_steps = mode == "CosineLRScheduler" && warmup_steps > 0;
    const int64_t first = from_steps ? warmup_steps : w * n;
    const int64_t end = from_steps ? std::numeric_limits<int64_t>::max() : (max_epochs - cooldown_epochs) * n;
    const int64_t before = std::min(g, end) - 1;
    const int64_t s = before - (before + 1) % batch_accumulate;   // the latest batch that stepped
    if (before >= first && s >= first) {
      const int64_t done = s - w * n;   // SG: train_loader_len * (epoch - lr_warmup_epochs) + batch_idx
      const int64_t span = n * (max_epochs - w - cooldown_epochs);
      double lr = 0;
      if (mode == "CosineLRScheduler") {
        const int64_t total = span - warmup_steps;
        if (total + 1 == 0)
          throw std::invalid_argument("CosineLRScheduler: lr_warmup_steps leave no steps to anneal over");
        const int64_t step = std::max<int64_t>(0, done - warmup_steps);
        lr = 0.5 * initial_lr * (1.0 + std::cos(double(step) / double(total + 1) * M_PI));
        lr = lr * (1 - cosine_final_lr_ratio) + initial_lr * cosine_final_lr_ratio;
      } else if (mode == "PolyLRScheduler") {
        const double current = double(done) / double(batch_accumulate);
        const double total = double(span) / double(batch_accumulate);
        lr = initial_lr * std::pow(1.0 - current / total, 0.9);
      } else {
        lr = initial_lr * std::pow(lr_decay_factor, double(done) / double(n));
      }
      keep_latest(latest, step_time(s), lr);
    }
  }
  if (!mode.empty() && mode != "StepLRScheduler" && mode != "CosineLRScheduler" && mode != "PolyLRScheduler" &&
      mode != "ExponentialLRScheduler")
    throw std::invalid_argument("unknown lr_mode '" + mode +
                                "' (known: StepLRScheduler, CosineLRScheduler, PolyLRScheduler, ExponentialLRScheduler)");
  return latest.time >= 0 ? latest.lr : initial_lr;
}

}  // namespace sg
