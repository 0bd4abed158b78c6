// torch before Catch2: glog (through torch) also defines CHECK.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "pth/checkpoint.hpp"
#include "sg/optim/torch_scheduler.hpp"
#include "temp_dir.hpp"

namespace {

constexpr double kPi = 3.141592653589793;

using Params = sg::TorchSchedulerParams;

std::vector<double> run(sg::TorchScheduler& s, int steps, const std::vector<double>& metrics = {}) {
  std::vector<double> out{s.lr()};
  for (int i = 0; i < steps; ++i) {
    if (metrics.empty()) s.step();
    else s.step(metrics.at(size_t(i)));
    out.push_back(s.lr());
  }
  return out;
}

std::vector<std::string> keys(const pth::Value& d) {
  std::vector<std::string> out;
  for (const auto& [k, v] : d.as_dict().items) out.push_back(k.as_string());
  return out;
}

const pth::Value& field_of(const pth::Value& d, const std::string& key) {
  const pth::Value* v = d.as_dict().find(key);
  REQUIRE(v != nullptr);
  return *v;
}

}  // namespace

TEST_CASE("StepLR multiplies the current rate by gamma every step_size epochs, as PyTorch") {
  auto s = sg::make_torch_scheduler("StepLR", Params{{"step_size", int64_t(3)}, {"gamma", 0.1}}, 0.1);
  CHECK(s->name() == "StepLR");
  CHECK_FALSE(s->steps_per_batch());
  const std::vector<double> lrs = run(*s, 10);
  double lr = 0.1;
  std::vector<double> want;
  for (int e = 0; e <= 10; ++e) {
    if (e > 0 && e % 3 == 0) lr = lr * 0.1;   // PyTorch's chainable form, not 0.1 * 0.1 ** k
    want.push_back(lr);
  }
  CHECK(lrs == want);
  CHECK(lrs[3] == 0.1 * 0.1);
  CHECK(s->last_epoch() == 10);

  const pth::Value sd = s->state_dict();
  CHECK(keys(sd) == std::vector<std::string>{"step_size", "gamma", "base_lrs", "last_epoch", "verbose", "_step_count",
                                             "_get_lr_called_within_step", "_last_lr"});
  CHECK(field_of(sd, "step_size").is_int());
  CHECK(field_of(sd, "gamma").is_float());
  CHECK(field_of(sd, "last_epoch").as_int() == 10);
  CHECK(field_of(sd, "_step_count").as_int() == 11);
  CHECK(field_of(sd, "_get_lr_called_within_step").is_bool());
  CHECK(field_of(sd, "_last_lr").items().at(0).as_number() == lrs.back());
  CHECK(field_of(sd, "base_lrs").items().at(0).as_number() == 0.1);
  const auto entries = s->param_group_entries(0);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].first == "initial_lr");
}

TEST_CASE("MultiStepLR applies gamma ** count at repeated milestones and writes them as a dict") {
  auto s = sg::make_torch_scheduler(
      "MultiStepLR", Params{{"milestones", std::vector<int64_t>{5, 2, 5}}, {"gamma", 0.5}}, 1.0);
  const std::vector<double> lrs = run(*s, 7);
  CHECK(lrs == std::vector<double>{1.0, 1.0, 0.5, 0.5, 0.5, 0.5 * std::pow(0.5, 2.0), 0.125, 0.125});
  const pth::Value sd = s->state_dict();
  const pth::Value& m = field_of(sd, "milestones");
  REQUIRE(m.is_dict());
  REQUIRE(m.as_dict().items.size() == 2);
  CHECK(m.as_dict().items[0].first.as_int() == 5);   // Counter order: first seen
  CHECK(m.as_dict().items[0].second.as_int() == 2);
  CHECK(m.as_dict().items[1].first.as_int() == 2);
}

TEST_CASE("CosineAnnealingLR follows PyTorch's recursive form, which drifts from the closed form") {
  const int T = 10;
  auto s = sg::make_torch_scheduler("CosineAnnealingLR", Params{{"T_max", int64_t(T)}, {"eta_min", 0.001}}, 0.1);
  const std::vector<double> lrs = run(*s, 3 * T);
  double lr = 0.1;
  const double eta = 0.001, base = 0.1;
  int differs_from_closed = 0;
  for (int e = 1; e <= 3 * T; ++e) {
    if ((e - 1 - T) % (2 * T) == 0) lr = lr + (base - eta) * (1 - std::cos(kPi / T)) / 2;
    else lr = (1 + std::cos(kPi * e / T)) / (1 + std::cos(kPi * (e - 1) / T)) * (lr - eta) + eta;
    CHECK(lrs[size_t(e)] == lr);
    const double closed = eta + (base - eta) * (1 + std::cos(kPi * e / T)) / 2;
    CHECK(std::fabs(lrs[size_t(e)] - closed) < 1e-12);
    differs_from_closed += lrs[size_t(e)] != closed;
  }
  CHECK(differs_from_closed > 0);
  CHECK(std::fabs(lrs[T] - eta) < 1e-15);
  CHECK(lrs[T + 1] > lrs[T]);   // past T_max it rises again, as PyTorch's does
  const pth::Value sd = s->state_dict();
  CHECK(keys(sd).at(0) == "T_max");
  CHECK(keys(sd).at(1) == "eta_min");
  CHECK(field_of(sd, "eta_min").is_float());
  // PyTorch's default eta_min is the int 0, and so is ours.
  auto d = sg::make_torch_scheduler("CosineAnnealingLR", Params{{"T_max", int64_t(5)}}, 0.1);
  CHECK(field_of(d->state_dict(), "eta_min").is_int());
}

TEST_CASE("OneCycleLR warms up to max_lr, anneals to min_lr and cycles the momentum") {
  Params p{{"max_lr", 1.0}, {"total_steps", int64_t(20)}, {"pct_start", 0.25}};
  auto s = sg::make_torch_scheduler("OneCycleLR", p, 0.1);
  CHECK(s->steps_per_batch());
  CHECK(sg::steps_per_batch("OneCycleLR"));
  CHECK_FALSE(sg::steps_per_batch("StepLR"));
  REQUIRE(s->momentum());
  CHECK(*s->momentum() == Approx(0.95));
  const std::vector<double> lrs = run(*s, 20);
  CHECK(lrs[0] == Approx(1.0 / 25));
  CHECK(lrs[4] == 1.0);   // end of the warm-up phase: step pct_start * total - 1
  CHECK(lrs[19] == Approx(1.0 / 25 / 1e4));
  CHECK(std::is_sorted(lrs.begin(), lrs.begin() + 5));
  CHECK(std::is_sorted(lrs.rbegin() + 1, lrs.rend() - 4));
  CHECK_THROWS_AS(s->step(), std::runtime_error);   // PyTorch: "Tried to step 22 times"

  auto t = sg::make_torch_scheduler("OneCycleLR", p, 0.1);
  const pth::Value sd = t->state_dict();
  CHECK(keys(sd) == std::vector<std::string>{"total_steps", "_schedule_phases", "_anneal_func_type", "cycle_momentum",
                                             "use_beta1", "base_lrs", "last_epoch", "verbose", "_step_count",
                                             "_get_lr_called_within_step", "_last_lr"});
  const pth::Value& phases = field_of(sd, "_schedule_phases");
  REQUIRE(phases.items().size() == 2);
  CHECK(field_of(phases.items()[0], "end_step").is_float());   // float(pct_start * total_steps) - 1
  CHECK(field_of(phases.items()[1], "end_step").is_int());     // total_steps - 1
  CHECK(field_of(sd, "base_lrs").items()[0].as_number() == 1.0 / 25);
  std::vector<std::string> entry_keys;
  for (const auto& e : t->param_group_entries(0)) entry_keys.push_back(e.first);
  CHECK(entry_keys == std::vector<std::string>{"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"});

  // total_steps from the trainer when the params have neither form; max_lr defaults to the lr.
  auto u = sg::make_torch_scheduler("OneCycleLR", Params{{"cycle_momentum", false}}, 0.3, 7);
  CHECK_FALSE(u->momentum());
  CHECK(u->lr() == Approx(0.3 / 25));
  CHECK_NOTHROW(run(*u, 7));
  CHECK_THROWS_AS(sg::make_torch_scheduler("OneCycleLR", Params{}, 0.3), std::invalid_argument);
  auto e = sg::make_torch_scheduler("OneCycleLR", Params{{"epochs", int64_t(3)}, {"steps_per_epoch", int64_t(4)}}, 0.3);
  CHECK(field_of(e->state_dict(), "total_steps").as_int() == 12);
}

TEST_CASE("ReduceLROnPlateau reduces after patience bad epochs, honours cooldown, min_lr and eps") {
  auto s = sg::make_torch_scheduler("ReduceLROnPlateau",
                                    Params{{"patience", int64_t(1)}, {"factor", 0.5}, {"cooldown", int64_t(1)},
                                           {"min_lr", 0.02}},
                                    0.1);
  CHECK_THROWS_AS(s->step(), std::invalid_argument);
  CHECK(keys(s->state_dict()) == std::vector<std::string>{"factor", "min_lrs", "patience", "verbose", "cooldown",
                                                          "cooldown_counter", "mode", "threshold", "threshold_mode",
                                                          "best", "num_bad_epochs", "mode_worse", "eps",
                                                          "last_epoch"});
  CHECK(field_of(s->state_dict(), "best").as_number() == std::numeric_limits<double>::infinity());
  //                               best  bad1  bad2->cut  cooldown  bad1  bad2->cut  ...
  const std::vector<double> lrs = run(*s, 8, {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0});
  CHECK(lrs == std::vector<double>{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025});
  const std::vector<double> more = run(*s, 3, {1.0, 1.0, 1.0});
  CHECK(more.back() == 0.02);   // max(0.0125, min_lr)
  CHECK(field_of(s->state_dict(), "_last_lr").items().at(0).as_number() == 0.02);

  // mode max: a larger metric is better.
  auto m = sg::make_torch_scheduler("ReduceLROnPlateau", Params{{"mode", std::string("max")}, {"patience", int64_t(0)}},
                                    1.0);
  CHECK(run(*m, 3, {1.0, 2.0, 1.5}) == std::vector<double>{1.0, 1.0, 1.0, 0.1});
  CHECK_THROWS_AS(sg::make_torch_scheduler("ReduceLROnPlateau", Params{{"factor", 1.0}}, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(sg::make_torch_scheduler("ReduceLROnPlateau", Params{{"mode", std::string("avg")}}, 0.1),
                  std::invalid_argument);
}

TEST_CASE("ExponentialLR, ConstantLR and LinearLR follow PyTorch's chainable forms") {
  auto e = sg::make_torch_scheduler("ExponentialLR", Params{{"gamma", 0.5}}, 0.8);
  CHECK(run(*e, 3) == std::vector<double>{0.8, 0.4, 0.2, 0.1});
  CHECK(keys(e->state_dict()).at(0) == "gamma");
  CHECK_THROWS_AS(sg::make_torch_scheduler("ExponentialLR", Params{}, 0.1), std::invalid_argument);

  // ConstantLR: lr * factor until total_iters, then lr * (1 / factor) once.
  auto c = sg::make_torch_scheduler("ConstantLR", Params{{"factor", 0.5}, {"total_iters", int64_t(2)}}, 0.1);
  CHECK(run(*c, 4) == std::vector<double>{0.1 * 0.5, 0.1 * 0.5, 0.1 * 0.5 * (1.0 / 0.5), 0.1, 0.1});
  CHECK(keys(c->state_dict()).at(0) == "factor");
  CHECK(field_of(c->state_dict(), "total_iters").is_int());
  CHECK_THROWS_AS(sg::make_torch_scheduler("ConstantLR", Params{{"factor", 1.5}}, 0.1), std::invalid_argument);
  auto zero = sg::make_torch_scheduler("ConstantLR", Params{{"factor", 0.0}, {"total_iters", int64_t(1)}}, 0.1);
  CHECK_THROWS_AS(zero->step(), std::runtime_error);   // PyTorch: ZeroDivisionError

  // LinearLR reaches end_factor * lr at total_iters and stays there.
  auto l = sg::make_torch_scheduler("LinearLR", Params{{"start_factor", 0.5}, {"total_iters", int64_t(4)}}, 0.05);
  const std::vector<double> lrs = run(*l, 6);
  CHECK(lrs[0] == 0.025);
  CHECK(lrs[2] == Approx(0.0375));
  CHECK(lrs[4] == Approx(0.05));
  CHECK(lrs[5] == lrs[4]);
  CHECK(lrs[6] == lrs[4]);
  CHECK(keys(l->state_dict()).at(1) == "end_factor");
  CHECK_THROWS_AS(sg::make_torch_scheduler("LinearLR", Params{{"start_factor", 0.0}}, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(sg::make_torch_scheduler("LinearLR", Params{{"end_factor", 1.5}}, 0.1), std::invalid_argument);
}

TEST_CASE("CosineAnnealingWarmRestarts restarts at T_i, growing it by T_mult, and keeps _step_count 0") {
  auto s = sg::make_torch_scheduler("CosineAnnealingWarmRestarts",
                                    Params{{"T_0", int64_t(2)}, {"T_mult", int64_t(2)}, {"eta_min", 0.0}}, 1.0);
  const std::vector<double> lrs = run(*s, 7);
  // T_cur 0 1 | 0 1 2 3 | 0 1, T_i 2 then 4 then 8
  CHECK(lrs[0] == 1.0);
  CHECK(lrs[1] == Approx(0.5));
  CHECK(lrs[2] == 1.0);
  CHECK(lrs[4] == Approx(0.5));
  CHECK(lrs[6] == 1.0);
  CHECK(lrs[7] == Approx((1 + std::cos(kPi / 8)) / 2));
  const pth::Value sd = s->state_dict();
  CHECK(keys(sd) == std::vector<std::string>{"T_0", "T_i", "T_mult", "eta_min", "T_cur", "base_lrs", "last_epoch",
                                             "verbose", "_step_count", "_get_lr_called_within_step", "_last_lr"});
  CHECK(field_of(sd, "T_i").as_int() == 8);
  CHECK(field_of(sd, "T_cur").as_int() == 1);
  CHECK(field_of(sd, "_step_count").as_int() == 0);
  CHECK(field_of(sd, "last_epoch").as_int() == 7);
  CHECK_THROWS_AS(sg::make_torch_scheduler("CosineAnnealingWarmRestarts", Params{{"T_0", int64_t(0)}}, 0.1),
                  std::invalid_argument);
  CHECK_THROWS_AS(sg::make_torch_scheduler("CosineAnnealingWarmRestarts", Params{{"T_0", 2.5}}, 0.1),
                  std::invalid_argument);
  CHECK_THROWS_AS(
      sg::make_torch_scheduler("CosineAnnealingWarmRestarts", Params{{"T_0", int64_t(2)}, {"T_mult", int64_t(0)}}, 0.1),
      std::invalid_argument);
}

TEST_CASE("CyclicLR cycles the rate between base_lr and max_lr per batch and the momentum inversely") {
  Params p{{"base_lr", 0.1}, {"max_lr", 1.0}, {"step_size_up", int64_t(2)}};
  auto s = sg::make_torch_scheduler("CyclicLR", p, 0.5);
  CHECK(s->steps_per_batch());
  CHECK(sg::steps_per_batch("CyclicLR"));
  REQUIRE(s->momentum());
  CHECK(*s->momentum() == 0.9);   // max_momentum at the cycle's start
  std::vector<double> moms;
  std::vector<double> lrs{s->lr()};
  for (int i = 0; i < 4; ++i) {
    s->step();
    lrs.push_back(s->lr());
    moms.push_back(*s->momentum());
  }
  CHECK(lrs[0] == 0.1);   // the optimizer's lr becomes base_lr
  CHECK(lrs[1] == Approx(0.55));
  CHECK(lrs[2] == 1.0);
  CHECK(lrs[4] == Approx(0.1));
  CHECK(moms[1] == Approx(0.8));   // base_momentum at the peak
  CHECK(s->param_group_entries(0).at(0).second.as_number() == 0.1);   // initial_lr: base_lr
  const std::vector<std::string> k = keys(s->state_dict());
  CHECK(std::find(k.begin(), k.end(), "_scale_fn_ref") == k.end());
  CHECK(k.at(0) == "max_lrs");

  // triangular2 halves the amplitude each cycle; no momentum without cycle_momentum.
  auto t = sg::make_torch_scheduler("CyclicLR",
                                    Params{{"base_lr", 0.0}, {"max_lr", 1.0}, {"step_size_up", int64_t(1)},
                                           {"mode", std::string("triangular2")}, {"cycle_momentum", false}},
                                    0.5);
  CHECK_FALSE(t->momentum());
  CHECK(run(*t, 5) == std::vector<double>{0.0, 1.0, 0.0, 0.5, 0.0, 0.25});

  CHECK_THROWS_AS(sg::make_torch_scheduler("CyclicLR", Params{{"base_lr", 0.1}}, 0.1), std::invalid_argument);
  Params bad_mode = p;
  bad_mode["mode"] = std::string("sine");
  CHECK_THROWS_AS(sg::make_torch_scheduler("CyclicLR", bad_mode, 0.1), std::invalid_argument);
  Params bad_scale = p;
  bad_scale["scale_mode"] = std::string("iterations");
  CHECK_THROWS_AS(sg::make_torch_scheduler("CyclicLR", bad_scale, 0.1), std::invalid_argument);
  // PyTorch 1.13's CyclicLR cycles only a `momentum`, never Adam's beta1.
  CHECK_THROWS_AS(sg::make_torch_scheduler("CyclicLR", p, 0.1, 0, true), std::invalid_argument);
}

TEST_CASE("state_dict / load_state_dict (through a .pth file) continues exactly like an uninterrupted run") {
  struct Case {
    std::string name;
    Params params;
    int n, k;
    bool metrics;
  };
  const std::vector<Case> cases = {
      {"StepLR", {{"step_size", int64_t(2)}, {"gamma", 0.7}}, 5, 9, false},
      {"MultiStepLR", {{"milestones", std::vector<int64_t>{3, 6, 6}}}, 4, 6, false},
      {"CosineAnnealingLR", {{"T_max", int64_t(6)}, {"eta_min", 0.01}}, 7, 11, false},
      {"OneCycleLR",
       {{"max_lr", 0.8}, {"total_steps", int64_t(30)}, {"three_phase", true}, {"anneal_strategy", std::string("linear")}},
       12, 18, false},
      {"ReduceLROnPlateau", {{"patience", int64_t(1)}, {"threshold_mode", std::string("abs")}}, 5, 7, true},
      {"ExponentialLR", {{"gamma", 0.8}}, 3, 4, false},
      {"ConstantLR", {{"factor", 0.25}, {"total_iters", int64_t(4)}}, 2, 5, false},
      {"LinearLR", {{"start_factor", 0.2}, {"total_iters", int64_t(5)}}, 3, 5, false},
      {"CosineAnnealingWarmRestarts", {{"T_0", int64_t(3)}, {"T_mult", int64_t(2)}}, 4, 9, false},
      {"CyclicLR", {{"base_lr", 0.01}, {"max_lr", 0.1}, {"step_size_up", int64_t(3)}, {"mode", std::string("exp_range")},
                    {"gamma", 0.9}}, 5, 9, false},
  };
  const std::vector<double> metrics = {3, 2, 2, 2, 1.9, 1.9, 1.9, 1.9, 1, 1, 1, 1};
  TempDir dir;
  for (const Case& c : cases) {
    INFO(c.name);
    auto whole = sg::make_torch_scheduler(c.name, c.params, 0.1);
    const std::vector<double> ref = run(*whole, c.n + c.k, c.metrics ? metrics : std::vector<double>{});

    auto first = sg::make_torch_scheduler(c.name, c.params, 0.1);
    run(*first, c.n, c.metrics ? metrics : std::vector<double>{});
    const std::string path = dir.file(c.name + ".pth");
    pth::write_checkpoint(path, first->state_dict());
    const pth::Checkpoint ck = pth::read_checkpoint(path);

    // A scheduler built with other hyperparameters takes the stored ones, as in Python.
    auto second = sg::make_torch_scheduler(c.name, c.params, 0.1);
    second->load_state_dict(ck.root);
    CHECK(second->last_epoch() == first->last_epoch());
    CHECK(second->lr() == first->lr());
    const std::vector<double> rest =
        run(*second, c.k,
            c.metrics ? std::vector<double>(metrics.begin() + c.n, metrics.begin() + c.n + c.k) : std::vector<double>{});
    CHECK(rest == std::vector<double>(ref.begin() + c.n, ref.end()));
    CHECK(keys(second->state_dict()) == keys(whole->state_dict()));
  }
}

TEST_CASE("load_state_dict takes stored hyperparameters, ignores unknown keys, names mistyped ones") {
  auto a = sg::make_torch_scheduler("StepLR", Params{{"step_size", int64_t(2)}, {"gamma", 0.5}}, 1.0);
  auto b = sg::make_torch_scheduler("StepLR", Params{{"step_size", int64_t(10)}}, 1.0);
  pth::Value sd = a->state_dict();
  sd.as_dict().set(pth::Value::string("some_future_key"), pth::Value::integer(1));
  b->load_state_dict(sd);
  CHECK(run(*b, 4) == std::vector<double>{1.0, 1.0, 0.5, 0.5, 0.25});

  pth::Value bad = a->state_dict();
  bad.as_dict().set(pth::Value::string("gamma"), pth::Value::string("x"));
  try {
    b->load_state_dict(bad);
    FAIL("expected a throw");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("'gamma'") != std::string::npos);
  }
  CHECK_THROWS_AS(b->load_state_dict(pth::Value::list()), std::runtime_error);

  // MultiStepLR also reads milestones as a list (duplicates counted).
  auto m = sg::make_torch_scheduler("MultiStepLR", Params{{"milestones", std::vector<int64_t>{100}}}, 1.0);
  pth::Value msd = m->state_dict();
  msd.as_dict().set(pth::Value::string("milestones"),
                    pth::Value::list({pth::Value::integer(1), pth::Value::integer(1)}));
  m->load_state_dict(msd);
  CHECK(run(*m, 1) == std::vector<double>{1.0, 1.0 * std::pow(0.1, 2.0)});
}

TEST_CASE("make_torch_scheduler refuses unknown names and parameters and YAML params keep ints and floats apart") {
  CHECK(sg::is_torch_scheduler("CosineAnnealingLR"));
  CHECK_FALSE(sg::is_torch_scheduler("CosineLRScheduler"));
  CHECK(sg::torch_scheduler_names() ==
        "StepLR, MultiStepLR, CosineAnnealingLR, OneCycleLR, ReduceLROnPlateau, ExponentialLR, ConstantLR, LinearLR, "
        "CosineAnnealingWarmRestarts, CyclicLR");
  CHECK_THROWS_AS(sg::make_torch_scheduler("LambdaLR", Params{}, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(sg::make_torch_scheduler("StepLR", Params{{"step_size", int64_t(3)}, {"gama", 0.1}}, 0.1),
                  std::invalid_argument);
  CHECK_THROWS_AS(sg::make_torch_scheduler("StepLR", Params{}, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(sg::make_torch_scheduler("StepLR", Params{{"step_size", 2.5}}, 0.1), std::invalid_argument);
  // SuperGradients' own keys in its lr_mode mapping are ignored.
  CHECK_NOTHROW(sg::make_torch_scheduler(
      "StepLR", Params{{"step_size", int64_t(3)}, {"phase", std::string("TRAIN_EPOCH_END")}}, 0.1));

  const Params p = sg::torch_scheduler_params_from_yaml(
      YAML::Load("{step_size: 30, gamma: 0.1, eta_min: 0, big: 1e4, milestones: [30, 60], lrs: [0.1, 1], "
                 "three_phase: true, anneal_strategy: cos, quoted: '5', skipped: null}"));
  CHECK(std::get<int64_t>(p.at("step_size")) == 30);
  CHECK(std::get<double>(p.at("gamma")) == 0.1);
  CHECK(std::get<int64_t>(p.at("eta_min")) == 0);
  CHECK(std::get<double>(p.at("big")) == 1e4);
  CHECK(std::get<std::vector<int64_t>>(p.at("milestones")) == std::vector<int64_t>{30, 60});
  CHECK(std::get<std::vector<double>>(p.at("lrs")) == std::vector<double>{0.1, 1.0});
  CHECK(std::get<bool>(p.at("three_phase")));
  CHECK(std::get<std::string>(p.at("anneal_strategy")) == "cos");
  CHECK(std::get<std::string>(p.at("quoted")) == "5");
  CHECK(p.count("skipped") == 0);
}
