// torch.optim.lr_scheduler.ExponentialLR: the chainable form, the current rate times gamma at
// every step.
#include "optim/schedulers/scheduler_base.hpp"

namespace sg::schedulers {
namespace {

class ExponentialLR final : public EpochScheduler {
 public:
  ExponentialLR(Args& args, const TorchSchedulerContext& ctx) : EpochScheduler("ExponentialLR", args, ctx.base_lrs) {
    if (!args.has("gamma")) args.bad("gamma", "required");
    gamma_ = args.num("gamma", Num::floating(0.0));
  }

 protected:
  std::vector<double> get_lr() override {
    if (last_epoch_ == 0) return lrs_;
    return scaled_lrs(gamma_.v());
  }
  void write_fields(pth::Value& d) const override { put(d, "gamma", gamma_.value()); }
  void read_fields(const pth::Value& s) override { gamma_ = read_num(name_, s, "gamma", gamma_); }

 private:
  Num gamma_;
};

}  // namespace

std::unique_ptr<TorchScheduler> make_exponential_lr(Args& args, const TorchSchedulerContext& context) {
  return make_epoch_scheduler<ExponentialLR>(args, context);
}

}  // namespace sg::schedulers
