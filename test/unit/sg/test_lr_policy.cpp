// sg::LrPolicy: the training loop's one view of SG's schedules and PyTorch's schedulers.
// torch before Catch2: glog (through torch) also defines CHECK.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "sg/optim/lr_policy.hpp"

namespace {

sg::Optimizer make_optimizer(double lr) {
  sg::OptimizerConfig config;
  config.lr = lr;
  config.momentum = 0.9;
  return sg::Optimizer(config, {torch::zeros({2}, torch::requires_grad())});
}

std::unique_ptr<sg::LrPolicy> torch_policy(const std::string& name, const sg::TorchSchedulerParams& params,
                                           sg::Optimizer& optimizer, int64_t total_steps = 0) {
  return sg::make_torch_lr_policy(sg::make_torch_scheduler(name, params, optimizer.lr(), total_steps), optimizer);
}

}  // namespace

TEST_CASE("an SG schedule sets the rate of each batch from its position, and keeps no state") {
  sg::LrSchedule schedule;
  schedule.mode = "StepLRScheduler";
  schedule.initial_lr = 0.1;
  schedule.lr_updates = {2};
  schedule.max_epochs = 4;
  sg::Optimizer optimizer = make_optimizer(0.5);
  auto policy = sg::make_sg_lr_policy(schedule);
  CHECK(optimizer.lr() == 0.5);   // untouched until the first batch
  policy->before_batch(optimizer, 0, 0, 10);
  CHECK(optimizer.lr() == schedule.at(0, 0, 10));
  policy->after_step(optimizer);
  policy->after_epoch(optimizer, 0.7);
  CHECK(optimizer.lr() == schedule.at(0, 0, 10));
  policy->before_batch(optimizer, 3, 5, 10);
  CHECK(optimizer.lr() == schedule.at(3, 5, 10));
  CHECK_FALSE(policy->state_dict().has_value());
}

TEST_CASE("an epoch scheduler steps after every epoch, validated or not, and not after batches") {
  sg::Optimizer optimizer = make_optimizer(1.0);
  auto policy = torch_policy("StepLR", {{"step_size", int64_t(1)}, {"gamma", 0.5}}, optimizer);
  CHECK(optimizer.lr() == 1.0);
  policy->before_batch(optimizer, 0, 0, 10);
  policy->after_step(optimizer);
  CHECK(optimizer.lr() == 1.0);
  policy->after_epoch(optimizer, std::nullopt);
  CHECK(optimizer.lr() == 0.5);
  policy->after_epoch(optimizer, 0.9);
  CHECK(optimizer.lr() == 0.25);
  REQUIRE(policy->state_dict().has_value());
  CHECK(policy->state_dict()->as_dict().find("last_epoch")->as_int() == 2);
}

TEST_CASE("OneCycleLR steps after every optimizer step and sets the momentum; epochs do not step it") {
  sg::Optimizer optimizer = make_optimizer(0.1);
  auto policy = torch_policy("OneCycleLR", {{"max_lr", 1.0}}, optimizer, 10);
  const double first = optimizer.lr();
  policy->after_epoch(optimizer, 0.5);
  CHECK(optimizer.lr() == first);
  policy->after_step(optimizer);
  CHECK(optimizer.lr() > first);
}

TEST_CASE("ReduceLROnPlateau steps only on validated epochs, on the watched metric") {
  sg::Optimizer optimizer = make_optimizer(1.0);
  auto policy = torch_policy("ReduceLROnPlateau", {{"patience", int64_t(0)}, {"factor", 0.5}}, optimizer);
  policy->after_epoch(optimizer, 1.0);   // the best so far
  for (int i = 0; i < 3; ++i) policy->after_epoch(optimizer, std::nullopt);
  CHECK(optimizer.lr() == 1.0);
  policy->after_epoch(optimizer, 2.0);   // mode min: worse, patience 0
  CHECK(optimizer.lr() == 0.5);
}

TEST_CASE("a PyTorch scheduler's state goes back into a fresh one, and sets the optimizer's rate") {
  sg::Optimizer a = make_optimizer(1.0), b = make_optimizer(1.0);
  auto policy = torch_policy("StepLR", {{"step_size", int64_t(1)}, {"gamma", 0.5}}, a);
  policy->after_epoch(a, std::nullopt);
  auto resumed = torch_policy("StepLR", {{"step_size", int64_t(1)}, {"gamma", 0.5}}, b);
  resumed->load_state_dict(*policy->state_dict(), b);
  CHECK(b.lr() == 0.5);
  resumed->after_epoch(b, std::nullopt);
  policy->after_epoch(a, std::nullopt);
  CHECK(b.lr() == a.lr());
}
