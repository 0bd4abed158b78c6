// torch.optim.lr_scheduler.CosineAnnealingLR: PyTorch's recursive update (not the closed
// form), so the rounding accumulates as in Python.
#include <cmath>

#include "optim/schedulers/scheduler_base.hpp"

namespace sg::schedulers {
namespace {

class CosineAnnealingLR final : public PeriodicScheduler {
 public:
  CosineAnnealingLR(Args& args, const TorchSchedulerContext& ctx)
      : PeriodicScheduler("CosineAnnealingLR", args, ctx, "T_max", "eta_min", Num::integer(0)) {}

 protected:
  std::vector<double> get_lr() override {
    const int64_t t_max = period_;
    const double T = double(t_max);
    const double eta = number_.v();  // eta_min
    std::vector<double> out;
    if (last_epoch_ == 0) return lrs_;
    if (step_count_ == 1 && last_epoch_ > 0) {
      for (double base : base_lrs_)
        out.push_back(eta + (base - eta) * (1 + std::cos(double(last_epoch_) * kPi / T)) / 2);
      return out;
    }
    if (py_mod(last_epoch_ - 1 - t_max, 2 * t_max) == 0) {
      for (size_t g = 0; g < lrs_.size(); ++g)
        out.push_back(lrs_[g] + (base_lrs_[g] - eta) * (1 - std::cos(kPi / T)) / 2);
      return out;
    }
    for (double lr : lrs_)
      out.push_back((1 + std::cos(kPi * double(last_epoch_) / T)) / (1 + std::cos(kPi * double(last_epoch_ - 1) / T)) *
                        (lr - eta) +
                    eta);
    return out;
  }
};

}  // namespace

std::unique_ptr<TorchScheduler> make_cosine_annealing_lr(Args& args, const TorchSchedulerContext& context) {
  return make_epoch_scheduler<CosineAnnealingLR>(args, context);
}

}  // namespace sg::schedulers
