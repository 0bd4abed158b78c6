// torch.optim.lr_scheduler.MultiStepLR: the chainable form, the current rate times
// gamma ** (the milestone's count) at each milestone.
#include <cmath>

#include "optim/schedulers/scheduler_base.hpp"

namespace sg::schedulers {
namespace {

class MultiStepLR final : public EpochScheduler {
 public:
  MultiStepLR(Args& args, const TorchSchedulerContext& ctx) : EpochScheduler("MultiStepLR", args, ctx.base_lrs) {
    for (int64_t m : args.int_list("milestones")) add_milestone(m, 1);  // Counter(milestones)
    gamma_ = args.num("gamma", Num::floating(0.1));
  }

 protected:
  std::vector<double> get_lr() override {
    int64_t count = 0;
    for (const auto& [m, c] : milestones_)
      if (m == last_epoch_) count = c;
    if (count == 0) return lrs_;  // `last_epoch not in milestones` (a Counter never holds 0 counts here)
    return scaled_lrs(std::pow(gamma_.v(), double(count)));  // gamma ** count
  }
  void write_fields(pth::Value& d) const override {
    // PyTorch: a collections.Counter; a plain dict holds the same and loads everywhere.
    pth::Value m = pth::Value::dict();
    for (const auto& [k, c] : milestones_)
      m.as_dict().items.emplace_back(pth::Value::integer(k), pth::Value::integer(c));
    put(d, "milestones", m);
    put(d, "gamma", gamma_.value());
  }
  void read_fields(const pth::Value& s) override {
    if (const pth::Value* v = field(s, "milestones")) {
      milestones_.clear();
      if (v->is_dict()) {
        for (const auto& [k, c] : v->as_dict().items) {
          if (!k.is_int()) bad_state(name_, "milestones", "expected int keys, got " + kind_of(k));
          if (!c.is_int()) bad_state(name_, "milestones", "expected int counts, got " + kind_of(c));
          milestones_.emplace_back(k.as_int(), c.as_int());
        }
      } else if (v->is_sequence()) {
        for (const pth::Value& k : v->items()) {
          if (!k.is_int()) bad_state(name_, "milestones", "expected ints, got " + kind_of(k));
          add_milestone(k.as_int(), 1);
        }
      } else {
        bad_state(name_, "milestones", "expected a dict or a list, got " + kind_of(*v));
      }
    }
    gamma_ = read_num(name_, s, "gamma", gamma_);
  }

 private:
  void add_milestone(int64_t m, int64_t c) {
    for (auto& [k, n] : milestones_)
      if (k == m) {
        n += c;
        return;
      }
    milestones_.emplace_back(m, c);
  }
  std::vector<std::pair<int64_t, int64_t>> milestones_;  // Counter, in first-seen order
  Num gamma_;
};

}  // namespace

std::unique_ptr<TorchScheduler> make_multi_step_lr(Args& args, const TorchSchedulerContext& context) {
  return make_epoch_scheduler<MultiStepLR>(args, context);
}

}  // namespace sg::schedulers
