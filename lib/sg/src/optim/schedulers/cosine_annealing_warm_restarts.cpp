// torch.optim.lr_scheduler.CosineAnnealingWarmRestarts: the closed cosine form over T_cur, the
// period restarting (and growing by T_mult) at each T_i. Its own step() leaves _step_count at 0,
// as PyTorch's does.
#include <cmath>

#include "optim/schedulers/scheduler_base.hpp"

namespace sg::schedulers {
namespace {

class CosineAnnealingWarmRestarts final : public EpochScheduler {
 public:
  CosineAnnealingWarmRestarts(Args& args, const TorchSchedulerContext& ctx)
      : EpochScheduler("CosineAnnealingWarmRestarts", args, ctx.base_lrs) {
    if (!args.has("T_0")) args.bad("T_0", "required");
    t_0_ = args.integer("T_0", 0);
    if (t_0_ <= 0) args.bad("T_0", "Expected positive integer T_0, but got " + std::to_string(t_0_));
    t_mult_ = args.integer("T_mult", 1);
    if (t_mult_ < 1) args.bad("T_mult", "Expected integer T_mult >= 1, but got " + std::to_string(t_mult_));
    eta_min_ = args.num("eta_min", Num::integer(0));
    t_i_ = t_0_;
  }

  // Stepping without an epoch, the only way the training loop steps it.
  void step(std::optional<double> /*metric*/ = std::nullopt) override {
    if (last_epoch_ < 0) {
      t_i_ = t_0_;
      t_cur_ = Num::integer(0);
      last_epoch_ = 0;
    } else {
      t_cur_ = t_cur_.is_int ? Num::integer(t_cur_.i + 1) : Num::floating(t_cur_.d + 1);
      if (t_cur_.v() >= double(t_i_)) {
        t_cur_ = t_cur_.is_int ? Num::integer(t_cur_.i - t_i_) : Num::floating(t_cur_.d - double(t_i_));
        t_i_ *= t_mult_;
      }
      last_epoch_ += 1;
    }
    lrs_ = get_lr();
  }

 protected:
  std::vector<double> get_lr() override {
    std::vector<double> out;
    const double eta = eta_min_.v();
    for (double base : base_lrs_)
      out.push_back(eta + (base - eta) * (1 + std::cos(kPi * t_cur_.v() / double(t_i_))) / 2);
    return out;
  }
  void write_fields(pth::Value& d) const override {
    put(d, "T_0", pth::Value::integer(t_0_));
    put(d, "T_i", pth::Value::integer(t_i_));
    put(d, "T_mult", pth::Value::integer(t_mult_));
    put(d, "eta_min", eta_min_.value());
    put(d, "T_cur", t_cur_.value());
  }
  void read_fields(const pth::Value& s) override {
    t_0_ = read_int(name_, s, "T_0", t_0_);
    t_i_ = read_int(name_, s, "T_i", t_i_);
    if (t_i_ <= 0) bad_state(name_, "T_i", "must be positive");
    t_mult_ = read_int(name_, s, "T_mult", t_mult_);
    eta_min_ = read_num(name_, s, "eta_min", eta_min_);
    t_cur_ = read_num(name_, s, "T_cur", t_cur_);
  }

 private:
  int64_t t_0_ = 1, t_i_ = 1, t_mult_ = 1;
  Num eta_min_;
  Num t_cur_ = Num::integer(-1);  // PyTorch: T_cur = last_epoch until the initial step
};

}  // namespace

std::unique_ptr<TorchScheduler> make_cosine_annealing_warm_restarts(Args& args, const TorchSchedulerContext& context) {
  return make_epoch_scheduler<CosineAnnealingWarmRestarts>(args, context);
}

}  // namespace sg::schedulers
