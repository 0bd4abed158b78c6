// torch before Catch2: glog (through torch) also defines CHECK.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <limits>

#include "pth/checkpoint.hpp"
#include "sg/optim/grad_scaler.hpp"
#include "temp_dir.hpp"

namespace {

struct Setup {
  torch::Tensor w = torch::ones({3}, torch::requires_grad());
  torch::Tensor b = torch::zeros({2}, torch::requires_grad());
  torch::optim::SGD opt{std::vector<torch::Tensor>{w, b}, torch::optim::SGDOptions(0.1)};
  std::vector<torch::Tensor> params{w, b};

  // Backward of scaler.scale(loss) with loss = sum(w) + sum(b) (grads = scale), then
  // optionally poison one grad.
  void backward(sg::GradScaler& scaler, float poison = 0.0f, bool use_poison = false) {
    opt.zero_grad();
    torch::Tensor loss = w.sum() + b.sum();
    scaler.scale(loss).backward();
    if (use_poison) {
      torch::NoGradGuard g;
      b.mutable_grad()[1] = poison;
    }
  }
};

const pth::Value& get(const pth::Value& d, const char* key) {
  const pth::Value* v = d.as_dict().find(key);
  REQUIRE(v != nullptr);
  return *v;
}

}  // namespace

TEST_CASE("GradScaler scales the loss and unscales finite grads; the step runs") {
  sg::GradScaler scaler(true);
  Setup s;
  CHECK(scaler.get_scale() == 65536.0);
  torch::Tensor loss = torch::tensor(1.5f);
  torch::Tensor scaled = scaler.scale(loss);
  CHECK(scaled.item<float>() == 1.5f * 65536.0f);
  CHECK(scaled.sizes() == loss.sizes());

  s.backward(scaler);
  CHECK(s.w.grad()[0].item<float>() == 65536.0f);
  CHECK(scaler.step(s.opt));
  CHECK(torch::allclose(s.w.grad(), torch::ones({3})));     // unscaled
  CHECK(torch::allclose(s.w, torch::full({3}, 0.9f)));      // and stepped
  scaler.update();
  CHECK(scaler.get_scale() == 65536.0);
  CHECK(scaler.growth_tracker() == 1);
}

TEST_CASE("GradScaler skips the step and backs off on inf or NaN grads") {
  for (float poison : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                       std::numeric_limits<float>::quiet_NaN()}) {
    sg::GradScaler scaler(true, {1024.0, 2.0, 0.5, 3});
    Setup s;
    // Two clean steps first: tracker 2.
    for (int i = 0; i < 2; ++i) {
      s.backward(scaler);
      CHECK(scaler.step(s.opt));
      scaler.update();
    }
    CHECK(scaler.growth_tracker() == 2);
    const torch::Tensor before = s.w.detach().clone();
    s.backward(scaler, poison, true);
    CHECK_FALSE(scaler.step(s.opt));
    CHECK(scaler.found_inf());
    CHECK(torch::equal(s.w.detach(), before));   // no step
    scaler.update();
    CHECK(scaler.get_scale() == 512.0);
    CHECK(scaler.growth_tracker() == 0);
  }
}

TEST_CASE("GradScaler grows after growth_interval clean steps, not before") {
  sg::GradScaler scaler(true, {8.0, 2.0, 0.5, 4});
  Setup s;
  for (int i = 1; i <= 3; ++i) {
    s.backward(scaler);
    REQUIRE(scaler.unscale_and_check(s.params));
    CHECK(scaler.step(s.opt, s.params));    // already unscaled: not again
    CHECK(torch::allclose(s.w.grad(), torch::ones({3})));
    scaler.update();
    CHECK(scaler.get_scale() == 8.0);
    CHECK(scaler.growth_tracker() == i);
  }
  s.backward(scaler);
  CHECK(scaler.step(s.opt));
  scaler.update();
  CHECK(scaler.get_scale() == 16.0);
  CHECK(scaler.growth_tracker() == 0);
  // An overflow in the middle of the next interval restarts the count.
  s.backward(scaler);
  scaler.step(s.opt);
  scaler.update();
  s.backward(scaler, std::numeric_limits<float>::infinity(), true);
  CHECK_FALSE(scaler.step(s.opt));
  scaler.update();
  CHECK(scaler.get_scale() == 8.0);
  CHECK(scaler.growth_tracker() == 0);
}

TEST_CASE("GradScaler never grows to an infinite scale") {
  sg::GradScaler scaler(true, {3.0e38, 2.0, 0.5, 1});
  Setup s;
  s.backward(scaler);
  scaler.unscale_and_check(s.params);
  scaler.update();
  CHECK(scaler.get_scale() == double(3.0e38f));
  CHECK(scaler.growth_tracker() == 0);
}

TEST_CASE("GradScaler misuse is reported as PyTorch does") {
  sg::GradScaler scaler(true);
  Setup s;
  CHECK_THROWS_AS(scaler.update(), std::logic_error);
  s.backward(scaler);
  scaler.unscale_(s.opt);
  CHECK_THROWS_AS(scaler.unscale_(s.opt), std::logic_error);
  torch::Tensor h = torch::ones({2}, torch::TensorOptions().dtype(torch::kHalf).requires_grad(true));
  h.mutable_grad() = torch::ones({2}, torch::kHalf);
  scaler.update();
  CHECK_THROWS_AS(scaler.unscale_and_check({h}), std::invalid_argument);
  CHECK_THROWS_AS(sg::GradScaler(true, {65536.0, 0.5, 0.5, 10}), std::invalid_argument);
}

TEST_CASE("GradScaler state_dict has PyTorch's keys and types and round-trips through a .pth") {
  TempDir dir;
  sg::GradScaler scaler(true, {65536.0, 2.0, 0.5, 2000});
  Setup s;
  for (int i = 0; i < 5; ++i) {
    s.backward(scaler, std::numeric_limits<float>::infinity(), i == 0);
    scaler.step(s.opt);
    scaler.update();
  }
  const pth::Value sd = scaler.state_dict();
  REQUIRE(sd.is_dict());
  std::vector<std::string> keys;
  for (const auto& [k, v] : sd.as_dict().items) keys.push_back(k.as_string());
  CHECK(keys == std::vector<std::string>{"scale", "growth_factor", "backoff_factor", "growth_interval",
                                         "_growth_tracker"});
  CHECK(get(sd, "scale").is_float());
  CHECK(get(sd, "scale").as_number() == 32768.0);
  CHECK(get(sd, "growth_factor").is_float());
  CHECK(get(sd, "backoff_factor").is_float());
  CHECK(get(sd, "growth_interval").is_int());
  CHECK(get(sd, "growth_interval").as_int() == 2000);
  CHECK(get(sd, "_growth_tracker").is_int());
  CHECK(get(sd, "_growth_tracker").as_int() == 4);

  pth::Value root = pth::Value::dict();
  root.as_dict().set(pth::Value::string("scaler_state_dict"), sd);
  pth::write_checkpoint(dir.file("s.pth"), root);
  const pth::Checkpoint ckpt = pth::read_checkpoint(dir.file("s.pth"));

  sg::GradScaler restored(true);
  restored.load_state_dict(*ckpt.root.as_dict().find("scaler_state_dict"));
  CHECK(restored.get_scale() == 32768.0);
  CHECK(restored.growth_tracker() == 4);
  CHECK(restored.options().growth_interval == 2000);
  // Python's int for the scale (a hand-written state) is accepted too.
  pth::Value hand = pth::Value::dict();
  hand.as_dict().set(pth::Value::string("scale"), pth::Value::integer(1024));
  hand.as_dict().set(pth::Value::string("growth_factor"), pth::Value::floating(4.0));
  hand.as_dict().set(pth::Value::string("backoff_factor"), pth::Value::floating(0.25));
  hand.as_dict().set(pth::Value::string("growth_interval"), pth::Value::integer(7));
  hand.as_dict().set(pth::Value::string("_growth_tracker"), pth::Value::integer(6));
  restored.load_state_dict(hand);
  Setup s2;
  s2.backward(restored);
  restored.step(s2.opt);
  restored.update();
  CHECK(restored.get_scale() == 4096.0);   // 6 + 1 == 7: grows by 4
  // Empty state on an enabled scaler: PyTorch's error. Missing key: an error too.
  CHECK_THROWS_AS(restored.load_state_dict(pth::Value::dict()), std::runtime_error);
  pth::Value partial = pth::Value::dict();
  partial.as_dict().set(pth::Value::string("scale"), pth::Value::floating(2.0));
  CHECK_THROWS_AS(restored.load_state_dict(partial), std::invalid_argument);
}

TEST_CASE("A disabled GradScaler is a pass-through with an empty state") {
  sg::GradScaler scaler(false);
  Setup s;
  torch::Tensor loss = torch::tensor(2.0f);
  CHECK(scaler.scale(loss).is_same(loss));
  CHECK(scaler.get_scale() == 1.0);
  s.backward(scaler, std::numeric_limits<float>::infinity(), true);
  CHECK(scaler.unscale_and_check(s.params));
  CHECK(scaler.step(s.opt));   // PyTorch's disabled scaler just calls optimizer.step()
  scaler.update();
  CHECK(scaler.state_dict().as_dict().items.empty());
  scaler.load_state_dict(pth::Value::dict());   // no-op, no error
  CHECK_FALSE(scaler.enabled());
}
