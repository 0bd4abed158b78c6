// sg::LrSchedule::at: SG's warm-ups, policies and cool-down at the edges. The expected
// values are SG's formulas (callbacks.py) written out with the same operations, so the
// checks are exact.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include "sg/optim/lr_schedule.hpp"

namespace {

using Warmup = sg::LrSchedule::Warmup;

sg::LrSchedule schedule(const std::string& mode, double lr, int64_t max_epochs, Warmup warmup = Warmup::epoch) {
  sg::LrSchedule s;
  s.mode = mode;
  s.initial_lr = lr;
  s.max_epochs = max_epochs;
  s.warmup = warmup;
  return s;
}

// CosineLRScheduler.compute_learning_rate
double cosine(double lr, double ratio, int64_t step, int64_t total) {
  const double c = 0.5 * lr * (1.0 + std::cos(double(step) / double(total + 1) * M_PI));
  return c * (1 - ratio) + lr * ratio;
}

}  // namespace

TEST_CASE("LinearEpochLRWarmup: from initial_lr / (epochs + 1) (or warmup_initial_lr) at each epoch's start") {
  auto s = schedule("", 0.3, 6);
  s.warmup_epochs = 2;
  const double start = 0.3 / 3;
  CHECK(s.at(0, 0, 10) == start);
  CHECK(s.at(0, 9, 10) == start);   // the whole first epoch
  CHECK(s.at(1, 0, 10) == start + 1 * ((0.3 - start) / 2));
  CHECK(s.at(2, 0, 10) == start + 2 * ((0.3 - start) / 2));   // SG acts at epoch == warm-up epochs too
  CHECK(s.at(5, 9, 10) == s.at(2, 0, 10));                    // and leaves that rate
  s.warmup_initial_lr = 0.0;
  CHECK(s.at(0, 3, 10) == 0.0);
  CHECK(s.at(1, 3, 10) == 0.15);
  s.warmup = Warmup::none;
  CHECK(s.at(0, 0, 10) == 0.3);
}

TEST_CASE("LinearBatchLRWarmup: np.linspace over min(lr_warmup_steps, batches per epoch) batches") {
  auto s = schedule("", 0.1, 3, Warmup::batch);
  s.warmup_steps = 4;
  s.warmup_initial_lr = 0.01;
  CHECK(s.at(0, 0, 10) == 0.01);                                // first warm-up batch
  CHECK(s.at(0, 1, 10) == 1 * ((0.1 - 0.01) / 3) + 0.01);
  CHECK(s.at(0, 3, 10) == 0.1);                                 // last warm-up batch: exactly initial_lr
  CHECK(s.at(0, 4, 10) == 0.1);
  CHECK(s.at(2, 0, 10) == 0.1);
  s.warmup_steps = 25;                                          // capped to the epoch
  CHECK(s.at(0, 9, 10) == 0.1);
  CHECK(s.at(0, 8, 10) == 8 * ((0.1 - 0.01) / 9) + 0.01);
  s.warmup_steps = 1;                                           // linspace(num=1) is [start], and it stays
  CHECK(s.at(0, 0, 10) == 0.01);
  CHECK(s.at(2, 5, 10) == 0.01);
}

TEST_CASE("StepLRScheduler: at the end of each epoch from the warm-up on, times decay per passed update") {
  auto s = schedule("StepLRScheduler", 0.2, 6);
  s.lr_updates = {2, 4};
  s.lr_decay_factor = 0.5;
  CHECK(s.at(2, 0, 5) == 0.2);       // the end of epoch 1 counts the updates <= 1
  CHECK(s.at(3, 0, 5) == 0.2 * 0.5);
  CHECK(s.at(4, 4, 5) == 0.2 * 0.5);
  CHECK(s.at(5, 0, 5) == 0.2 * 0.25);
  s.warmup_epochs = 2;
  s.lr_updates = {1, 2};
  const double start = 0.2 / 3;
  CHECK(s.at(2, 0, 5) == start + 2 * ((0.2 - start) / 2));   // epochs 0, 1 end inside the warm-up
  CHECK(s.at(3, 0, 5) == 0.2 * 0.25);
}

TEST_CASE("step_lr_update_freq: ceil(freq * k) between the warm-up and max_epochs - cool-down") {
  CHECK(sg::step_lr_updates(2.4, 3, 10, 0) == std::vector<int64_t>{3, 5, 8});
  CHECK(sg::step_lr_updates(2.4, 3, 10, 3) == std::vector<int64_t>{3, 5});
  CHECK(sg::step_lr_updates(2.4, 0, 10, 0) == std::vector<int64_t>{3, 5, 8});
  CHECK(sg::step_lr_updates(0.5, 1, 3, 0) == std::vector<int64_t>{1, 1});   // as SG: a repeat counts twice
}

TEST_CASE("CosineLRScheduler: set after each step for the next batch, frozen through the cool-down") {
  auto s = schedule("CosineLRScheduler", 1.0, 4);
  s.cosine_final_lr_ratio = 0.1;
  s.cooldown_epochs = 1;
  CHECK(s.at(0, 0, 5) == 1.0);                          // no step yet
  CHECK(s.at(0, 1, 5) == cosine(1.0, 0.1, 0, 15));
  CHECK(s.at(1, 0, 5) == cosine(1.0, 0.1, 4, 15));
  CHECK(s.at(2, 4, 5) == cosine(1.0, 0.1, 13, 15));
  CHECK(s.at(3, 0, 5) == cosine(1.0, 0.1, 14, 15));     // first cool-down batch: the last annealed rate
  CHECK(s.at(3, 4, 5) == cosine(1.0, 0.1, 14, 15));
  s.batch_accumulate = 2;                               // SG steps where (global batch + 1) % 2 == 0
  CHECK(s.at(0, 2, 5) == cosine(1.0, 0.1, 1, 15));
  CHECK(s.at(0, 3, 5) == cosine(1.0, 0.1, 1, 15));
}

TEST_CASE("CosineLRScheduler after an epoch warm-up, and with lr_warmup_steps after a batch warm-up") {
  auto s = schedule("CosineLRScheduler", 0.4, 3);
  s.warmup_epochs = 1;
  CHECK(s.at(0, 3, 4) == 0.4 / 2);
  CHECK(s.at(1, 0, 4) == 0.4 / 2 + 1 * ((0.4 - 0.4 / 2) / 1));
  CHECK(s.at(1, 1, 4) == cosine(0.4, 0.01, 0, 8));
  CHECK(s.at(2, 3, 4) == cosine(0.4, 0.01, 6, 8));

  auto b = schedule("CosineLRScheduler", 0.4, 2, Warmup::batch);
  b.warmup_steps = 3;
  b.warmup_initial_lr = 0.0;
  CHECK(b.at(0, 0, 5) == 0.0);
  CHECK(b.at(0, 2, 5) == 0.4);   // the last warm-up batch
  CHECK(b.at(0, 3, 5) == 0.4);   // the cosine starts after the step of batch lr_warmup_steps
  CHECK(b.at(0, 4, 5) == cosine(0.4, 0.01, 0, 7));
  CHECK(b.at(1, 0, 5) == cosine(0.4, 0.01, 1, 7));
  CHECK(b.at(1, 4, 5) == cosine(0.4, 0.01, 5, 7));
}

TEST_CASE("PolyLRScheduler and ExponentialLRScheduler, per step after the warm-up") {
  auto p = schedule("PolyLRScheduler", 0.1, 2);
  CHECK(p.at(0, 1, 4) == 0.1 * std::pow(1.0 - 0.0 / 8.0, 0.9));
  CHECK(p.at(1, 3, 4) == 0.1 * std::pow(1.0 - 6.0 / 8.0, 0.9));
  p.batch_accumulate = 2;
  CHECK(p.at(0, 2, 4) == 0.1 * std::pow(1.0 - 0.5 / 4.0, 0.9));

  auto e = schedule("ExponentialLRScheduler", 0.1, 4);
  e.lr_decay_factor = 0.5;
  e.warmup_epochs = 1;
  e.cooldown_epochs = 1;
  CHECK(e.at(1, 0, 4) == 0.1 / 2 + 1 * ((0.1 - 0.1 / 2) / 1));
  CHECK(e.at(1, 1, 4) == 0.1 * std::pow(0.5, 0.0 / 4.0));
  CHECK(e.at(2, 0, 4) == 0.1 * std::pow(0.5, 3.0 / 4.0));
  CHECK(e.at(3, 2, 4) == 0.1 * std::pow(0.5, 7.0 / 4.0));   // cool-down: the last rate of epoch 2
}

TEST_CASE("an unknown lr_mode is an error naming it") {
  auto s = schedule("Exponential", 0.1, 2);
  CHECK_THROWS_WITH(s.at(0, 0, 4), Catch::Contains("'Exponential'"));
}
