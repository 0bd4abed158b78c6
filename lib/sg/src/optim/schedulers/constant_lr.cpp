// torch.optim.lr_scheduler.ConstantLR: the chainable form, the rate times factor until
// total_iters, then divided back.
#include <stdexcept>

#include "optim/schedulers/scheduler_base.hpp"

namespace sg::schedulers {
namespace {

class ConstantLR final : public EpochScheduler {
 public:
  ConstantLR(Args& args, const TorchSchedulerContext& ctx) : EpochScheduler("ConstantLR", args, ctx.base_lrs) {
    factor_ = args.num("factor", Num::floating(1.0 / 3));
    if (factor_.v() > 1.0 || factor_.v() < 0)
      args.bad("factor", "Constant multiplicative factor expected to be between 0 and 1.");
    total_iters_ = args.integer("total_iters", 5);
  }

 protected:
  std::vector<double> get_lr() override {
    if (last_epoch_ == 0) return scaled_lrs(factor_.v());
    if (last_epoch_ != total_iters_) return lrs_;
    if (factor_.v() == 0)
      throw std::runtime_error("ConstantLR: 'factor' 0 cannot be undone at total_iters (ZeroDivisionError in PyTorch)");
    return scaled_lrs(1.0 / factor_.v());
  }
  void write_fields(pth::Value& d) const override {
    put(d, "factor", factor_.value());
    put(d, "total_iters", pth::Value::integer(total_iters_));
  }
  void read_fields(const pth::Value& s) override {
    factor_ = read_num(name_, s, "factor", factor_);
    total_iters_ = read_int(name_, s, "total_iters", total_iters_);
  }

 private:
  Num factor_;
  int64_t total_iters_ = 5;
};

}  // namespace

std::unique_ptr<TorchScheduler> make_constant_lr(Args& args, const TorchSchedulerContext& context) {
  return make_epoch_scheduler<ConstantLR>(args, context);
}

}  // namespace sg::schedulers
