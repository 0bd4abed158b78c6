// torch.optim.lr_scheduler.LinearLR: the chainable form, the rate scaled from start_factor to
// end_factor over total_iters steps.
#include "optim/schedulers/scheduler_base.hpp"

namespace sg::schedulers {
namespace {

class LinearLR final : public EpochScheduler {
 public:
  LinearLR(Args& args, const TorchSchedulerContext& ctx) : EpochScheduler("LinearLR", args, ctx.base_lrs) {
    start_ = args.num("start_factor", Num::floating(1.0 / 3));
    // PyTorch 1.13 accepts 0 and then divides by zero at the first step; later versions refuse it.
    if (start_.v() > 1.0 || start_.v() <= 0)
      args.bad("start_factor", "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.");
    end_ = args.num("end_factor", Num::floating(1.0));
    if (end_.v() > 1.0 || end_.v() < 0)
      args.bad("end_factor", "Ending multiplicative factor expected to be between 0 and 1.");
    total_iters_ = args.integer("total_iters", 5);
  }

 protected:
  std::vector<double> get_lr() override {
    if (last_epoch_ == 0) return scaled_lrs(start_.v());
    if (last_epoch_ > total_iters_) return lrs_;
    const double span = end_.v() - start_.v();
    const double factor = 1. + span / (double(total_iters_) * start_.v() + double(last_epoch_ - 1) * span);
    return scaled_lrs(factor);
  }
  void write_fields(pth::Value& d) const override {
    put(d, "start_factor", start_.value());
    put(d, "end_factor", end_.value());
    put(d, "total_iters", pth::Value::integer(total_iters_));
  }
  void read_fields(const pth::Value& s) override {
    start_ = read_num(name_, s, "start_factor", start_);
    end_ = read_num(name_, s, "end_factor", end_);
    total_iters_ = read_int(name_, s, "total_iters", total_iters_);
  }

 private:
  Num start_, end_;
  int64_t total_iters_ = 5;
};

}  // namespace

std::unique_ptr<TorchScheduler> make_linear_lr(Args& args, const TorchSchedulerContext& context) {
  return make_epoch_scheduler<LinearLR>(args, context);
}

}  // namespace sg::schedulers
