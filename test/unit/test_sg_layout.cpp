#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "pth/sg_layout.hpp"
#include "pth/value.hpp"

using namespace pth;

namespace {

Value state_dict(std::vector<const char*> names) {
  Value d = Value::dict(true);
  for (const char* name : names) d.as_dict().set(name, Value::integer(1));
  return d;
}

// {net, ema_net, epoch}: each of net and ema_net absent, None or a state dict.
Value checkpoint(bool net, bool ema, bool net_none = false, bool ema_none = false) {
  Value root = Value::dict();
  Dict& d = root.as_dict();
  if (net) d.set(sg_keys::kNet, net_none ? Value::none() : state_dict({"w"}));
  if (ema) d.set(sg_keys::kEmaNet, ema_none ? Value::none() : state_dict({"w"}));
  d.set(sg_keys::kEpoch, Value::integer(3));
  return root;
}

}  // namespace

TEST_CASE("select_weights: each choice over net, ema_net, both and neither") {
  const Value both = checkpoint(true, true);
  const Value* net = both.as_dict().find("net");
  const Value* ema = both.as_dict().find("ema_net");
  for (WeightsChoice c : {WeightsChoice::PreferEma, WeightsChoice::Ema}) {
    const SelectedWeights s = select_weights(both, c);
    CHECK(s.weights == ema);
    CHECK(s.which == "ema_net");
    CHECK(s.ema == ema);
  }
  for (WeightsChoice c : {WeightsChoice::PreferNet, WeightsChoice::Net}) {
    const SelectedWeights s = select_weights(both, c);
    CHECK(s.weights == net);
    CHECK(s.which == "net");
    CHECK(s.ema == ema);
    CHECK(s.missing.empty());
  }

  const Value only_net = checkpoint(true, false);
  for (WeightsChoice c : {WeightsChoice::PreferEma, WeightsChoice::PreferNet, WeightsChoice::Net}) {
    CHECK(select_weights(only_net, c).which == "net");
    CHECK(select_weights(only_net, c).ema == nullptr);
  }
  const SelectedWeights no_ema = select_weights(only_net, WeightsChoice::Ema);
  CHECK(no_ema.weights == nullptr);
  CHECK(no_ema.missing == "ema_net");

  const Value only_ema = checkpoint(false, true);
  CHECK(select_weights(only_ema, WeightsChoice::PreferEma).which == "ema_net");
  CHECK(select_weights(only_ema, WeightsChoice::PreferNet).which == "ema_net");
  const SelectedWeights no_net = select_weights(only_ema, WeightsChoice::Net);
  CHECK(no_net.weights == nullptr);
  CHECK(no_net.missing == "net");
  CHECK(no_net.ema == only_ema.as_dict().find("ema_net"));

  const Value plain = state_dict({"conv.weight", "fc.bias"});
  for (WeightsChoice c : {WeightsChoice::PreferEma, WeightsChoice::PreferNet, WeightsChoice::Net}) {
    const SelectedWeights s = select_weights(plain, c);
    CHECK(s.weights == &plain);
    CHECK(s.which.empty());
    CHECK(s.missing.empty());
  }
  CHECK(select_weights(plain, WeightsChoice::Ema).missing == "ema_net");
}

TEST_CASE("select_weights: None is absent, a root that is not a dict is a plain state dict") {
  const Value net_none = checkpoint(true, true, /*net_none=*/true);
  CHECK(select_weights(net_none, WeightsChoice::PreferNet).which == "ema_net");
  CHECK(select_weights(net_none, WeightsChoice::Net).missing == "net");

  const Value ema_none = checkpoint(true, true, false, /*ema_none=*/true);
  CHECK(select_weights(ema_none, WeightsChoice::PreferEma).which == "net");
  CHECK(select_weights(ema_none, WeightsChoice::PreferEma).ema == nullptr);
  CHECK(select_weights(ema_none, WeightsChoice::Ema).missing == "ema_net");

  const Value both_none = checkpoint(true, true, true, true);
  const SelectedWeights s = select_weights(both_none, WeightsChoice::Net);
  CHECK(s.weights == &both_none);
  CHECK(s.which.empty());

  const Value list = Value::list({Value::integer(1)});
  CHECK(select_weights(list, WeightsChoice::PreferEma).weights == &list);
  CHECK(select_weights(list, WeightsChoice::PreferEma).which.empty());
}

TEST_CASE("ddp_prefix_length: every key a string under module., at least one") {
  CHECK(ddp_prefix_length(state_dict({"module.conv.weight", "module.fc.bias"}).as_dict()) == 7);
  CHECK(ddp_prefix_length(state_dict({"module.conv.weight", "fc.bias"}).as_dict()) == 0);
  CHECK(ddp_prefix_length(state_dict({}).as_dict()) == 0);
  CHECK(ddp_prefix_length(state_dict({"module"}).as_dict()) == 0);
  Value bytes_key = Value::dict();
  bytes_key.as_dict().set(Value::bytes("module.w"), Value::integer(1));
  CHECK(ddp_prefix_length(bytes_key.as_dict()) == 0);

  CHECK(ddp_prefix_length(std::vector<std::string_view>{"module.a", "module.b"}) == kDdpPrefix.size());
  CHECK(ddp_prefix_length(std::vector<std::string_view>{"module.a", "b"}) == 0);
  CHECK(ddp_prefix_length(std::vector<std::string_view>{}) == 0);
}

TEST_CASE("make_average_checkpoint: the epoch's checkpoint in its order, net averaged, training state left out") {
  Value ckpt = Value::dict();
  Dict& c = ckpt.as_dict();
  c.set(sg_keys::kNet, state_dict({"w"}));
  c.set(sg_keys::kAcc, Value::floating(0.5));
  c.set(sg_keys::kEpoch, Value::integer(7));
  c.set(sg_keys::kMetrics, Value::dict());
  c.set(sg_keys::kPackages, Value::dict());
  c.set(sg_keys::kBestCkptMetrics, Value::none());
  c.set(sg_keys::kOptimizerStateDict, Value::dict());
  c.set(sg_keys::kScalerStateDict, Value::dict());
  c.set(sg_keys::kEmaNet, state_dict({"w"}));
  c.set(sg_keys::kTorchSchedulerStateDict, Value::dict());
  c.set(sg_keys::kSgCppState, Value::dict());
  const Value avg = make_average_checkpoint(ckpt, state_dict({"averaged"}));
  const Dict& d = avg.as_dict();
  std::vector<std::string> keys;
  for (const auto& item : d.items) keys.push_back(item.first.as_string());
  CHECK(keys == std::vector<std::string>{"net", "acc", "epoch", "metrics", "packages", "_best_ckpt_metrics",
                                         "torch_scheduler_state_dict"});
  CHECK(d.find("net")->as_dict().find("averaged") != nullptr);
  CHECK(d.find("acc")->as_number() == 0.5);
  CHECK(d.find("epoch")->as_int() == 7);
  CHECK_FALSE(d.ordered);
  CHECK(ckpt.as_dict().find("net")->as_dict().find("w") != nullptr);   // the checkpoint itself is unchanged
}
