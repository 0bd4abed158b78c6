// torch.optim.lr_scheduler.StepLR: the chainable form, the current rate times gamma at each
// multiple of step_size.
#include "optim/schedulers/scheduler_base.hpp"

namespace sg::schedulers {
namespace {

class StepLR final : public PeriodicScheduler {
 public:
  StepLR(Args& args, const TorchSchedulerContext& ctx)
      : PeriodicScheduler("StepLR", args, ctx, "step_size", "gamma", Num::floating(0.1)) {}

 protected:
  std::vector<double> get_lr() override {
    const int64_t step_size = period_;
    const double gamma = number_.v();
    if (last_epoch_ == 0 || py_mod(last_epoch_, step_size) != 0) return lrs_;
    return scaled_lrs(gamma);
  }
};

}  // namespace

std::unique_ptr<TorchScheduler> make_step_lr(Args& args, const TorchSchedulerContext& context) {
  return make_epoch_scheduler<StepLR>(args, context);
}

}  // namespace sg::schedulers
