// torch before Catch2: glog (through torch) also defines CHECK.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "pth/checkpoint.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/models/model.hpp"
#include "sg/optim/ema.hpp"
#include "temp_dir.hpp"

namespace {

torch::nn::Sequential small_model() {
  torch::manual_seed(3);
  return torch::nn::Sequential(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
}

// Moves every floating entry of the model somewhere new and bumps integer buffers,
// as a training step would.
void fake_step(torch::nn::Module& model, int k) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : sg::state_dict(model)) {
    if (torch::isFloatingType(t.scalar_type())) {
      t.copy_(torch::sin(torch::arange(t.numel(), torch::kFloat).reshape(t.sizes()) * 0.37 + k));
    } else {
      t.add_(1);
    }
  }
}

torch::Tensor find(const sg::NamedTensors& tensors, const std::string& name) {
  for (const auto& [n, t] : tensors) {
    if (n == name) return t;
  }
  FAIL("no entry " << name);
  return {};
}

}  // namespace

TEST_CASE("EMA decay schedules follow SG's formulas") {
  CHECK(sg::ema_decay("constant", 0.9, 15, 7, 100) == 0.9);
  CHECK(sg::ema_decay("threshold", 0.9999, 15, 0, 100) == Approx(0.1));
  CHECK(sg::ema_decay("threshold", 0.9999, 15, 5, 100) == Approx(6.0 / 15.0));
  CHECK(sg::ema_decay("threshold", 0.5, 15, 1000, 100) == 0.5);
  CHECK(sg::ema_decay("exp", 0.9999, 15, 0, 100) == 0.0);
  CHECK(sg::ema_decay("exp", 0.9999, 15, 40, 100) == Approx(0.9999 * (1 - std::exp(-15 * 0.4))));
  CHECK_THROWS_AS(sg::ema_decay("exp", 0.9999, 15, 1, 0), std::invalid_argument);
  CHECK_THROWS_AS(sg::ema_decay("linear", 0.9999, 15, 1, 10), std::invalid_argument);
  auto m = small_model();
  CHECK_THROWS_AS(sg::ModelEMA(*m, 0.9, "cosine"), std::invalid_argument);
}

TEST_CASE("EMA starts as a detached copy and applies ema*d + (1-d)*model to floating entries only") {
  auto model = small_model();
  sg::ModelEMA ema(*model, 0.9999, "threshold", 15, 0);
  const sg::NamedTensors initial = [&] {
    sg::NamedTensors out;
    for (const auto& [n, t] : ema.state()) out.emplace_back(n, t.clone());
    return out;
  }();
  REQUIRE(ema.state().size() == sg::state_dict(*model).size());
  for (const auto& [n, t] : ema.state()) CHECK_FALSE(t.requires_grad());

  // Reference computed here with the same float32 expression.
  sg::NamedTensors expected = initial;
  for (int step = 1; step <= 5; ++step) {
    fake_step(*model, step);
    ema.update(*model, step, 100);
    const double d = std::min(0.9999, (1.0 + step) / (10.0 + step));
    torch::NoGradGuard no_grad;
    for (auto& [n, t] : expected) {
      if (torch::isFloatingType(t.scalar_type())) t = t * d + (1.0 - d) * find(sg::state_dict(*model), n);
    }
  }
  CHECK(ema.updates() == 5);
  for (const auto& [n, t] : ema.state()) {
    INFO(n);
    CHECK(torch::equal(t, find(expected, n)));
  }
  // num_batches_tracked: the model's went 0 -> 5, the EMA keeps its own (SG never updates it).
  CHECK(find(sg::state_dict(*model), "1.num_batches_tracked").item<int64_t>() == 5);
  CHECK(find(ema.state(), "1.num_batches_tracked").item<int64_t>() == 0);
  // The model's tensors were not touched by the EMA.
  CHECK_FALSE(find(ema.state(), "0.weight").is_same(find(sg::state_dict(*model), "0.weight")));
}

TEST_CASE("EMA update(model) counts steps from 1 with the constructor's total_steps") {
  auto a = small_model();
  auto b = small_model();
  sg::ModelEMA e1(*a, 0.999, "exp", 15, 20);
  sg::ModelEMA e2(*a, 0.999, "exp", 15, 20);
  for (int k = 1; k <= 3; ++k) {
    fake_step(*a, k);
    e1.update(*a);
    e2.update(*a, k, 20);
  }
  for (size_t i = 0; i < e1.state().size(); ++i) CHECK(torch::equal(e1.state()[i].second, e2.state()[i].second));
  CHECK(e1.decay_at(1, 20) == Approx(0.999 * (1 - std::exp(-15.0 / 20))));
}

TEST_CASE("EMA with a holder module updates the holder's own tensors") {
  auto model = small_model();
  torch::manual_seed(99);
  auto holder = std::make_shared<torch::nn::SequentialImpl>(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
  sg::ModelEMA ema(*model, 0.5, "constant", 15, 0, holder);
  CHECK(torch::equal(find(sg::state_dict(*holder), "0.weight"), find(sg::state_dict(*model), "0.weight")));
  fake_step(*model, 1);
  ema.update(*model);
  CHECK(find(ema.state(), "0.weight").is_same(find(sg::state_dict(*holder), "0.weight")));
  for (const auto& p : holder->parameters()) CHECK_FALSE(p.requires_grad());

  auto wrong = std::make_shared<torch::nn::SequentialImpl>(torch::nn::Linear(4, 2));
  CHECK_THROWS_AS(sg::ModelEMA(*model, 0.5, "constant", 15, 0, wrong), std::invalid_argument);
}

TEST_CASE("EMA state saves to .pth, loads back, and copies into a model") {
  TempDir dir;
  auto model = small_model();
  sg::ModelEMA ema(*model, 0.9, "constant");
  for (int k = 1; k <= 3; ++k) {
    fake_step(*model, k);
    ema.update(*model);
  }
  pth::Value root = pth::Value::dict();
  root.as_dict().set(pth::Value::string("ema_net"), sg::to_pth_state_dict(ema.state()));
  pth::write_checkpoint(dir.file("ema.pth"), root);

  auto other = small_model();
  sg::ModelEMA restored(*other, 0.9, "constant");
  const pth::Checkpoint ckpt = pth::read_checkpoint(dir.file("ema.pth"));
  restored.load(*ckpt.root.as_dict().find("ema_net"));
  for (size_t i = 0; i < ema.state().size(); ++i) {
    CHECK(torch::equal(ema.state()[i].second, restored.state()[i].second));
  }
  auto target = small_model();
  restored.copy_to(*target);
  CHECK(torch::equal(find(sg::state_dict(*target), "0.bias"), find(ema.state(), "0.bias")));

  sg::NamedTensors partial(ema.state().begin(), ema.state().begin() + 2);
  CHECK_THROWS_AS(restored.load(partial), std::invalid_argument);
  sg::NamedTensors extra = ema.state();
  extra.emplace_back("2.weight", torch::zeros({1}));
  CHECK_THROWS_AS(restored.load(extra), std::invalid_argument);
}

// Not run by default: `test_ema "[.bench]"` prints the cost of one update for resnet_mini.
TEST_CASE("EMA update overhead on resnet_mini", "[.bench]") {
  sg::ModelOptions opts;
  opts.in_channels = 1;
  auto model = sg::create_model("resnet_mini", opts);
  sg::ModelEMA ema(*model, 0.9999, "exp", 15, 1000);
  for (int i = 0; i < 10; ++i) ema.update(*model);
  const int n = 500;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) ema.update(*model);
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n;
  int64_t numel = 0;
  for (const auto& [name, t] : ema.state()) numel += t.numel();
  std::printf("resnet_mini EMA update: %.1f us per update (%zu entries, %lld elements, %d threads)\n", us,
              ema.state().size(), (long long)numel, torch::get_num_threads());
  CHECK(us > 0);
}
