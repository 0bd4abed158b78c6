// torch.optim.lr_scheduler.ReduceLROnPlateau: not an _LRScheduler; stepped with the watched
// metric, it multiplies the rates by factor after `patience` epochs without improvement.
#include <stdexcept>

#include "optim/schedulers/scheduler_base.hpp"

namespace sg::schedulers {
namespace {

class ReduceLROnPlateau final : public TorchScheduler {
 public:
  ReduceLROnPlateau(Args& args, const TorchSchedulerContext& ctx) {
    const size_t groups = ctx.base_lrs.size();
    lrs_ = ctx.base_lrs;
    mode_ = args.string("mode", "min");
    factor_ = args.num("factor", Num::floating(0.1));
    if (factor_.v() >= 1.0) args.bad("factor", "should be < 1.0");
    patience_ = args.integer("patience", 10);
    threshold_ = args.num("threshold", Num::floating(1e-4));
    threshold_mode_ = args.string("threshold_mode", "rel");
    cooldown_ = args.integer("cooldown", 0);
    min_lrs_ = args.per_group("min_lr", std::vector<Num>(groups, Num::integer(0)), groups);
    eps_ = args.num("eps", Num::floating(1e-8));
    verbose_ = args.boolean("verbose", false);
    init_is_better([&](const std::string& key, const std::string& what) { args.bad(key, what); });
    best_ = mode_worse_;  // _reset()
    cooldown_counter_ = 0;
    num_bad_epochs_ = 0;
  }

  std::string name() const override { return "ReduceLROnPlateau"; }
  bool steps_on_metric() const override { return true; }
  int64_t last_epoch() const override { return last_epoch_; }

  void step(std::optional<double> metric) override {
    if (!metric) throw std::invalid_argument("ReduceLROnPlateau.step needs the watched metric");
    const double current = *metric;
    last_epoch_ += 1;
    if (is_better(current, best_)) {
      best_ = current;
      num_bad_epochs_ = 0;
    } else {
      num_bad_epochs_ += 1;
    }
    if (cooldown_counter_ > 0) {
      cooldown_counter_ -= 1;
      num_bad_epochs_ = 0;
    }
    if (num_bad_epochs_ > patience_) {
      for (size_t g = 0; g < lrs_.size(); ++g) {
        const double old_lr = lrs_[g];
        const double new_lr = py_max(old_lr * factor_.v(), min_lrs_[g].v());
        if (old_lr - new_lr > eps_.v()) lrs_[g] = new_lr;
      }
      cooldown_counter_ = cooldown_;
      num_bad_epochs_ = 0;
    }
    has_last_lr_ = true;
  }

  pth::Value state_dict() const override {
    pth::Value d = pth::Value::dict();
    put(d, "factor", factor_.value());
    put(d, "min_lrs", num_list(min_lrs_));
    put(d, "patience", pth::Value::integer(patience_));
    put(d, "verbose", pth::Value::boolean(verbose_));
    put(d, "cooldown", pth::Value::integer(cooldown_));
    put(d, "cooldown_counter", pth::Value::integer(cooldown_counter_));
    put(d, "mode", pth::Value::string(mode_));
    put(d, "threshold", threshold_.value());
    put(d, "threshold_mode", pth::Value::string(threshold_mode_));
    put(d, "best", pth::Value::floating(best_));
    put(d, "num_bad_epochs", pth::Value::integer(num_bad_epochs_));
    put(d, "mode_worse", pth::Value::floating(mode_worse_));
    put(d, "eps", eps_.value());
    put(d, "last_epoch", pth::Value::integer(last_epoch_));
    if (has_last_lr_) put(d, "_last_lr", float_list(lrs_));  // PyTorch sets it in the first step()
    return d;
  }

  void load_state_dict(const pth::Value& s) override {
    const std::string n = name();
    require_dict(n, s);
    factor_ = read_num(n, s, "factor", factor_);
    min_lrs_ = read_num_list(n, s, "min_lrs", min_lrs_, lrs_.size());
    patience_ = read_int(n, s, "patience", patience_);
    verbose_ = read_bool(n, s, "verbose", verbose_);
    cooldown_ = read_int(n, s, "cooldown", cooldown_);
    cooldown_counter_ = read_int(n, s, "cooldown_counter", cooldown_counter_);
    mode_ = read_string(n, s, "mode", mode_);
    threshold_ = read_num(n, s, "threshold", threshold_);
    threshold_mode_ = read_string(n, s, "threshold_mode", threshold_mode_);
    best_ = read_double(n, s, "best", best_);
    num_bad_epochs_ = read_int(n, s, "num_bad_epochs", num_bad_epochs_);
    eps_ = read_num(n, s, "eps", eps_);
    last_epoch_ = read_int(n, s, "last_epoch", last_epoch_);
    if (field(s, "_last_lr") != nullptr) {
      lrs_ = read_double_list(n, s, "_last_lr", lrs_);
      has_last_lr_ = true;
    }
    init_is_better([&](const std::string& key, const std::string& what) { bad_state(n, key, what); });
  }

 private:
  // PyTorch's _init_is_better(): validates the modes (fail(key, message) throws for an unknown
  // one) and sets mode_worse.
  template <class Fail>
  void init_is_better(Fail fail) {
    if (mode_ != "min" && mode_ != "max") fail("mode", "mode " + mode_ + " is unknown!");
    if (threshold_mode_ != "rel" && threshold_mode_ != "abs")
      fail("threshold_mode", "threshold mode " + threshold_mode_ + " is unknown!");
    mode_worse_ = mode_ == "min" ? kInf : -kInf;
  }

  bool is_better(double a, double best) const {
    const double t = threshold_.v();
    if (mode_ == "min" && threshold_mode_ == "rel") {
      const double rel_epsilon = 1. - t;
      return a < best * rel_epsilon;
    }
    if (mode_ == "min" && threshold_mode_ == "abs") return a < best - t;
    if (mode_ == "max" && threshold_mode_ == "rel") {
      const double rel_epsilon = t + 1.;
      return a > best * rel_epsilon;
    }
    return a > best + t;
  }

  Num factor_;
  std::vector<Num> min_lrs_;
  int64_t patience_ = 10;
  bool verbose_ = false;
  int64_t cooldown_ = 0;
  int64_t cooldown_counter_ = 0;
  std::string mode_ = "min";
  Num threshold_;
  std::string threshold_mode_ = "rel";
  double best_ = kInf;
  int64_t num_bad_epochs_ = 0;
  double mode_worse_ = kInf;
  Num eps_;
  int64_t last_epoch_ = 0;
  bool has_last_lr_ = false;
};

}  // namespace

std::unique_ptr<TorchScheduler> make_reduce_lr_on_plateau(Args& args, const TorchSchedulerContext& context) {
  auto s = std::make_unique<ReduceLROnPlateau>(args, context);
  args.finish();
  return s;
}

}  // namespace sg::schedulers
