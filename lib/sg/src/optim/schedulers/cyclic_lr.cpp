// torch.optim.lr_scheduler.CyclicLR: stepped per batch; the rate cycles between base_lr and
// max_lr (triangular, triangular2 or exp_range) and, with cycle_momentum, the momentum cycles
// inversely between max_momentum and base_momentum.
//
// PyTorch 1.13's state_dict() holds `_scale_fn_ref`, a weakref.WeakMethod that cannot be
// pickled; we leave it out, as PyTorch >= 2.0 does, and write `_scale_fn_custom` None (a recipe
// cannot give a scale_fn). Python's load_state_dict then keeps its own scale function.
#include <cmath>

#include "optim/schedulers/scheduler_base.hpp"

namespace sg::schedulers {
namespace {

class CyclicLR final : public EpochScheduler {
 public:
  CyclicLR(Args& args, const TorchSchedulerContext& ctx) : EpochScheduler("CyclicLR", args, ctx.base_lrs) {
    const size_t groups = ctx.base_lrs.size();
    for (const char* key : {"base_lr", "max_lr"})
      if (!args.has(key)) args.bad(key, "required");
    const std::vector<Num> base = args.per_group("base_lr", {}, groups);
    max_lrs_ = args.per_group("max_lr", {}, groups);
    const Num up = args.num("step_size_up", Num::integer(2000));
    if (up.v() <= 0) args.bad("step_size_up", "expected a positive number");
    const Num down = args.has("step_size_down") ? args.num("step_size_down", up) : up;
    if (down.v() < 0) args.bad("step_size_down", "expected a number >= 0");
    total_size_ = up.v() + down.v();
    step_ratio_ = up.v() / total_size_;

    mode_ = args.string("mode", "triangular");
    if (mode_ != "triangular" && mode_ != "triangular2" && mode_ != "exp_range")
      args.bad("mode", "mode is invalid and scale_fn is None (known: triangular, triangular2, exp_range)");
    gamma_ = args.num("gamma", Num::floating(1.0));
    scale_mode_ = mode_ == "exp_range" ? "iterations" : "cycle";
    // PyTorch reads scale_mode only with a scale_fn (a Python callable, which a recipe cannot give).
    if (args.has("scale_mode") && args.string("scale_mode", "") != scale_mode_)
      args.bad("scale_mode", "only used with scale_fn (not supported); mode '" + mode_ + "' scales per '" +
                                 scale_mode_ + "'");

    cycle_momentum_ = args.boolean("cycle_momentum", true);
    const std::vector<Num> base_m = args.per_group("base_momentum", std::vector<Num>(groups, Num::floating(0.8)), groups);
    const std::vector<Num> max_m = args.per_group("max_momentum", std::vector<Num>(groups, Num::floating(0.9)), groups);
    if (cycle_momentum_) {
      if (ctx.optimizer_has_betas)
        args.bad("cycle_momentum", "optimizer must support momentum with `cycle_momentum` option enabled");
      base_momentums_ = base_m;
      max_momentums_ = max_m;
      for (const Num& m : base_m) momentums_.push_back(m.v());
    }
    // The optimizer's lr becomes base_lr, which is also what _LRScheduler takes as base_lrs.
    base_lrs_.clear();
    for (const Num& b : base) base_lrs_.push_back(b.v());
    lrs_ = base_lrs_;
  }

  bool steps_per_batch() const override { return true; }

  std::optional<double> momentum(size_t group) const override {
    if (!cycle_momentum_) return std::nullopt;
    return momentums_.at(group);
  }

 protected:
  std::vector<double> get_lr() override {
    const double le = double(last_epoch_);
    const double cycle = std::floor(1 + le / total_size_);
    const double x = 1. + le / total_size_ - cycle;
    const double scale_factor = x <= step_ratio_ ? x / step_ratio_ : (x - 1) / (step_ratio_ - 1);
    const double scale = scale_fn(scale_mode_ == "cycle" ? cycle : le);
    std::vector<double> out;
    for (size_t g = 0; g < base_lrs_.size(); ++g)
      out.push_back(base_lrs_[g] + (max_lrs_[g].v() - base_lrs_[g]) * scale_factor * scale);
    if (cycle_momentum_)
      for (size_t g = 0; g < momentums_.size(); ++g)
        momentums_[g] = max_momentums_[g].v() - (max_momentums_[g].v() - base_momentums_[g].v()) * scale_factor * scale;
    return out;
  }

  void write_fields(pth::Value& d) const override {
    put(d, "max_lrs", num_list(max_lrs_));
    put(d, "total_size", pth::Value::floating(total_size_));
    put(d, "step_ratio", pth::Value::floating(step_ratio_));
    put(d, "mode", pth::Value::string(mode_));
    put(d, "gamma", gamma_.value());
    put(d, "_scale_fn_custom", pth::Value::none());
    put(d, "scale_mode", pth::Value::string(scale_mode_));
    put(d, "cycle_momentum", pth::Value::boolean(cycle_momentum_));
    if (cycle_momentum_) {
      put(d, "base_momentums", num_list(base_momentums_));
      put(d, "max_momentums", num_list(max_momentums_));
    }
  }

  void read_fields(const pth::Value& s) override {
    const size_t groups = base_lrs_.size();
    max_lrs_ = read_num_list(name_, s, "max_lrs", max_lrs_, groups);
    total_size_ = read_double(name_, s, "total_size", total_size_);
    step_ratio_ = read_double(name_, s, "step_ratio", step_ratio_);
    if (total_size_ <= 0 || step_ratio_ <= 0 || step_ratio_ > 1)
      bad_state(name_, "step_ratio", "expected total_size > 0 and 0 < step_ratio <= 1");
    mode_ = read_string(name_, s, "mode", mode_);
    if (mode_ != "triangular" && mode_ != "triangular2" && mode_ != "exp_range")
      bad_state(name_, "mode", "unknown '" + mode_ + "'");
    gamma_ = read_num(name_, s, "gamma", gamma_);
    if (const pth::Value* fn = field(s, "_scale_fn_custom"); fn != nullptr && !fn->is_none())
      bad_state(name_, "_scale_fn_custom", "a custom scale function is not supported");
    scale_mode_ = read_string(name_, s, "scale_mode", scale_mode_);
    if (scale_mode_ != "cycle" && scale_mode_ != "iterations") bad_state(name_, "scale_mode", "unknown '" + scale_mode_ + "'");
    cycle_momentum_ = read_bool(name_, s, "cycle_momentum", cycle_momentum_);
    if (cycle_momentum_) {
      const std::vector<Num> none(groups, Num::floating(0.0));
      if (base_momentums_.empty() && (field(s, "base_momentums") == nullptr || field(s, "max_momentums") == nullptr))
        bad_state(name_, "cycle_momentum", "true without base_momentums and max_momentums");
      base_momentums_ = read_num_list(name_, s, "base_momentums", base_momentums_.empty() ? none : base_momentums_, groups);
      max_momentums_ = read_num_list(name_, s, "max_momentums", max_momentums_.empty() ? none : max_momentums_, groups);
      momentums_.resize(groups);
    }
  }

 private:
  double scale_fn(double x) const {
    if (mode_ == "triangular") return 1.;
    if (mode_ == "triangular2") return 1 / std::pow(2., x - 1);
    return std::pow(gamma_.v(), x);
  }

  std::vector<Num> max_lrs_;
  double total_size_ = 0, step_ratio_ = 0;
  std::string mode_, scale_mode_;
  Num gamma_;
  bool cycle_momentum_ = true;
  std::vector<Num> base_momentums_, max_momentums_;
  std::vector<double> momentums_;  // what get_lr() last set in the param groups
};

}  // namespace

std::unique_ptr<TorchScheduler> make_cyclic_lr(Args& args, const TorchSchedulerContext& context) {
  return make_epoch_scheduler<CyclicLR>(args, context);
}

}  // namespace sg::schedulers
