#include "sg/optim/lr_policy.hpp"

namespace sg {
namespace {

class SgLrPolicy final : public LrPolicy {
 public:
  explicit SgLrPolicy(const LrSchedule& schedule) : schedule_(schedule) {}

  void before_batch(Optimizer& optimizer, int64_t epoch, int64_t batch, int64_t batches_per_epoch) override {
    optimizer.set_lr(schedule_.at(epoch, batch, batches_per_epoch));
  }
  void after_step(Optimizer&) override {}
  void after_epoch(Optimizer&, std::optional<double>) override {}
  std::optional<pth::Value> state_dict() const override { return std::nullopt; }
  void load_state_dict(const pth::Value&, Optimizer&) override {}   // nothing to restore: a function of the position

 private:
  LrSchedule schedule_;
};

class TorchLrPolicy final : public LrPolicy {
 public:
  TorchLrPolicy(std::unique_ptr<TorchScheduler> scheduler, Optimizer& optimizer) : scheduler_(std::move(scheduler)) {
    optimizer.set_lr(scheduler_->lr());
    optimizer.set_group_extras(scheduler_->param_group_entries(0));
  }

  void before_batch(Optimizer&, int64_t, int64_t, int64_t) override {}
  void after_step(Optimizer& optimizer) override {
    if (!scheduler_->steps_per_batch()) return;
    scheduler_->step();
    optimizer.set_lr(scheduler_->lr());
    if (auto momentum = scheduler_->momentum()) optimizer.set_momentum(*momentum);
  }
  void after_epoch(Optimizer& optimizer, std::optional<double> watched) override {
    if (scheduler_->steps_per_batch() || (scheduler_->steps_on_metric() && !watched)) return;
    scheduler_->step(watched);
    optimizer.set_lr(scheduler_->lr());
  }
  std::optional<pth::Value> state_dict() const override { return scheduler_->state_dict(); }
  void load_state_dict(const pth::Value& state, Optimizer& optimizer) override {
    scheduler_->load_state_dict(state);
    optimizer.set_lr(scheduler_->lr());
  }

 private:
  std::unique_ptr<TorchScheduler> scheduler_;
};

}  // namespace

std::unique_ptr<LrPolicy> make_sg_lr_policy(const LrSchedule& schedule) { return std::make_unique<SgLrPolicy>(schedule); }

std::unique_ptr<LrPolicy> make_torch_lr_policy(std::unique_ptr<TorchScheduler> scheduler, Optimizer& optimizer) {
  return std::make_unique<TorchLrPolicy>(std::move(scheduler), optimizer);
}

}  // namespace sg
