#include "sg/optim/lr_policy.hpp"

#include <stdexcept>
#include <string>

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
  // As PyTorch's constructors, the scheduler sets the rates (and OneCycleLR's or CyclicLR's
  // momentum) of every group at once.
  TorchLrPolicy(std::unique_ptr<TorchScheduler> scheduler, Optimizer& optimizer) : scheduler_(std::move(scheduler)) {
    if (scheduler_->lrs().size() != optimizer.group_count())
      throw std::invalid_argument(scheduler_->name() + ": made for " + std::to_string(scheduler_->lrs().size()) +
                                  " param groups, the optimizer has " + std::to_string(optimizer.group_count()));
    for (size_t g = 0; g < optimizer.group_count(); ++g)
      optimizer.set_group_extras(g, scheduler_->param_group_entries(g));
    apply(optimizer);
  }

  void before_batch(Optimizer&, int64_t, int64_t, int64_t) override {}
  void after_step(Optimizer& optimizer) override {
    if (!scheduler_->steps_per_batch()) return;
    scheduler_->step();
    apply(optimizer);
  }
  void after_epoch(Optimizer& optimizer, std::optional<double> watched) override {
    if (scheduler_->steps_per_batch() || (scheduler_->steps_on_metric() && !watched)) return;
    scheduler_->step(watched);
    apply(optimizer);
  }
  std::optional<pth::Value> state_dict() const override { return scheduler_->state_dict(); }
  // The momentum stays as the optimizer's state restored it.
  void load_state_dict(const pth::Value& state, Optimizer& optimizer) override {
    scheduler_->load_state_dict(state);
    optimizer.set_lrs(scheduler_->lrs());
  }

 private:
  void apply(Optimizer& optimizer) {
    optimizer.set_lrs(scheduler_->lrs());
    for (size_t g = 0; g < optimizer.group_count(); ++g)
      if (auto momentum = scheduler_->momentum(g)) optimizer.set_momentum(g, *momentum);
  }

  std::unique_ptr<TorchScheduler> scheduler_;
};

}  // namespace

std::unique_ptr<LrPolicy> make_sg_lr_policy(const LrSchedule& schedule) { return std::make_unique<SgLrPolicy>(schedule); }

std::unique_ptr<LrPolicy> make_torch_lr_policy(std::unique_ptr<TorchScheduler> scheduler, Optimizer& optimizer) {
  return std::make_unique<TorchLrPolicy>(std::move(scheduler), optimizer);
}

}  // namespace sg
