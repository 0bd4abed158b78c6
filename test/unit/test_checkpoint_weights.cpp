#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "memory_tensor.hpp"
#include "pth/checkpoint_weights.hpp"
#include "pth/value.hpp"

using namespace pth;

namespace {

Value tensor() { return Value::tensor(tensor_of<float>(DType::Float32, {1.f}, {1})); }

Value weights(std::vector<std::string> names) {
  Value d = Value::dict(true);
  for (const std::string& name : names) d.as_dict().set(name, tensor());
  return d;
}

Value optimizer() {
  Value state = Value::dict();
  state.as_dict().set(Value::integer(0), weights({"momentum_buffer"}));
  Value o = Value::dict();
  o.as_dict().set("state", state);
  o.as_dict().set("param_groups", Value::list());
  return o;
}

std::vector<std::string> names(const Value& d) {
  std::vector<std::string> out;
  for (const auto& [k, v] : d.as_dict().items) out.push_back(k.as_string());
  return out;
}

Value root_of(std::vector<std::pair<std::string, Value>> items) {
  Value root = Value::dict();
  for (auto& [k, v] : items) root.as_dict().set(k, v);
  return root;
}

Value timm_file() {
  return root_of({{"epoch", Value::integer(3)}, {"arch", Value::string("resnet18")}, {"state_dict", weights({"conv.weight", "fc.bias"})},
                  {"optimizer", optimizer()}, {"version", Value::integer(2)}, {"metric", Value::floating(0.5)},
                  {"state_dict_ema", weights({"conv.weight", "fc.bias"})}});
}

std::string key_error(const Value& root, const std::string& key) {
  try {
    choose_weights(root, key, WeightsChoice::PreferEma);
  } catch (const WeightsKeyError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("choose_weights: SG's net and ema_net, as select_weights") {
  const Value root = root_of({{"net", weights({"a"})}, {"ema_net", weights({"a"})}, {"epoch", Value::integer(1)}});
  const ChosenWeights ema = choose_weights(root, "", WeightsChoice::PreferEma);
  CHECK(ema.layout == "sg");
  CHECK(ema.key == "ema_net");
  CHECK(ema.ema);
  CHECK(ema.ema_key == "ema_net");
  CHECK(ema.weights.as_dict().items.data() == root.as_dict().find("ema_net")->as_dict().items.data());
  const ChosenWeights net = choose_weights(root, "", WeightsChoice::Net);
  CHECK(net.key == "net");
  CHECK_FALSE(net.ema);
  CHECK(describe_weights(ema) == "ema_net (sg layout, EMA)");

  const Value only_ema = root_of({{"ema_net", weights({"a"})}});
  CHECK(choose_weights(only_ema, "", WeightsChoice::Net).missing == "net");
  CHECK(choose_weights(only_ema, "", WeightsChoice::PreferNet).key == "ema_net");
}

TEST_CASE("choose_weights: SG's DDP prefix is left to the loaders") {
  const Value root = root_of({{"net", weights({"module.a", "module.b"})}});
  const ChosenWeights c = choose_weights(root, "", WeightsChoice::PreferEma);
  CHECK(c.prefix.empty());
  CHECK(names(c.weights) == std::vector<std::string>{"module.a", "module.b"});
}

TEST_CASE("choose_weights: timm's state_dict_ema and state_dict") {
  const Value root = timm_file();
  const ChosenWeights ema = choose_weights(root, "", WeightsChoice::PreferEma);
  CHECK(ema.layout == "timm");
  CHECK(ema.key == "state_dict_ema");
  CHECK(ema.ema);
  CHECK(describe_weights(ema) == "state_dict_ema (timm layout, EMA)");
  const ChosenWeights plain = choose_weights(root, "", WeightsChoice::Net);
  CHECK(plain.key == "state_dict");
  CHECK_FALSE(plain.ema);
  CHECK(plain.ema_key == "state_dict_ema");
  CHECK(names(plain.weights) == std::vector<std::string>{"conv.weight", "fc.bias"});

  Value no_ema = timm_file();
  no_ema.as_dict().items.pop_back();
  CHECK(choose_weights(no_ema, "", WeightsChoice::PreferEma).key == "state_dict");
  CHECK(choose_weights(no_ema, "", WeightsChoice::Ema).missing == "state_dict_ema");
}

TEST_CASE("choose_weights: torchvision's model and model_ema (an AveragedModel)") {
  Value ema = weights({"n_averaged", "module.conv.weight", "module.fc.bias"});
  Value metadata = Value::dict(true);
  for (const char* path : {"", "module", "module.conv"}) metadata.as_dict().set(path, Value::dict());
  ema.as_dict().metadata = std::make_shared<Value>(metadata);
  const Value root = root_of({{"model", weights({"conv.weight", "fc.bias"})}, {"optimizer", optimizer()},
                              {"lr_scheduler", Value::dict()}, {"epoch", Value::integer(4)}, {"args", Value::dict()},
                              {"model_ema", ema}});
  const ChosenWeights c = choose_weights(root, "", WeightsChoice::PreferEma);
  CHECK(c.layout == "torchvision-references");
  CHECK(c.key == "model_ema");
  CHECK(c.ema);
  CHECK(c.prefix == "module.");
  CHECK(c.left_out == std::vector<std::string>{"n_averaged"});
  CHECK(names(c.weights) == std::vector<std::string>{"conv.weight", "fc.bias"});
  CHECK(names(*c.weights.as_dict().metadata) == std::vector<std::string>{"", "conv"});
  CHECK(c.weights.as_dict().items[0].second.as_tensor() == ema.as_dict().items[1].second.as_tensor());
  CHECK(describe_weights(c) == "model_ema (torchvision-references layout, EMA, prefix 'module.' removed, n_averaged left out)");

  const ChosenWeights plain = choose_weights(root, "", WeightsChoice::Net);
  CHECK(plain.key == "model");
  CHECK(plain.prefix.empty());
  CHECK(plain.weights.as_dict().items.data() == root.as_dict().find("model")->as_dict().items.data());
}

TEST_CASE("choose_weights: Lightning's state_dict loses the common first component") {
  const Value root = root_of({{"epoch", Value::integer(1)}, {"global_step", Value::integer(10)},
                              {"pytorch-lightning_version", Value::string("2.1.0")},
                              {"state_dict", weights({"model.conv.weight", "model.layer1.0.bn.bias", "model.fc.bias"})},
                              {"optimizer_states", Value::list({optimizer()})}, {"lr_schedulers", Value::list()},
                              {"callbacks", Value::dict()}, {"loops", Value::dict()}});
  const ChosenWeights c = choose_weights(root, "", WeightsChoice::PreferEma);
  CHECK(c.layout == "lightning");
  CHECK(c.key == "state_dict");
  CHECK_FALSE(c.ema);
  CHECK(c.prefix == "model.");
  CHECK(names(c.weights) == std::vector<std::string>{"conv.weight", "layer1.0.bn.bias", "fc.bias"});
  CHECK(describe_weights(c) == "state_dict (lightning layout, prefix 'model.' removed)");
  CHECK(choose_weights(root, "", WeightsChoice::Ema).missing == "EMA weights");
}

TEST_CASE("choose_weights: the prefix rule strips only a whole first component shared by every name") {
  auto prefix_of = [](std::vector<std::string> sd) {
    return choose_weights(root_of({{"state_dict", weights(sd)}, {"pytorch-lightning_version", Value::string("2")}}), "",
                          WeightsChoice::PreferEma)
        .prefix;
  };
  CHECK(prefix_of({"net.a.weight", "net.b"}) == "net.");
  CHECK(prefix_of({"model.a", "model.b"}) == "model.");
  CHECK(prefix_of({"model.a", "models.b"}).empty());     // no component shared by all
  CHECK(prefix_of({"model.a", "model"}).empty());        // a name that is only the component
  CHECK(prefix_of({"model.a", "ema_model.a"}).empty());
  CHECK(prefix_of({"modelx.a", "model.b"}).empty());     // "model" is a string prefix of both, not a component
  CHECK(prefix_of({"model.backbone.a", "model.backbone.b"}) == "model.");   // one component only
  CHECK(prefix_of({}).empty());
}

TEST_CASE("choose_weights: a plain state dict is the whole file") {
  const Value root = weights({"conv.weight", "fc.bias"});
  const ChosenWeights c = choose_weights(root, "", WeightsChoice::PreferEma);
  CHECK(c.layout == "state_dict");
  CHECK(c.key.empty());
  CHECK(c.weights.as_dict().items.data() == root.as_dict().items.data());
  CHECK(describe_weights(c) == "the whole file (state_dict layout)");
  CHECK(choose_weights(root, "", WeightsChoice::Ema).missing == "ema_net");
  // A key named like a layout's, but holding a tensor, does not make a layout.
  CHECK(choose_weights(weights({"model", "fc.bias"}), "", WeightsChoice::PreferEma).layout == "state_dict");
}

TEST_CASE("choose_weights: an explicit key is used as given") {
  const Value root = timm_file();
  const ChosenWeights c = choose_weights(root, "state_dict", WeightsChoice::PreferEma);
  CHECK(c.key == "state_dict");
  CHECK(c.layout == "timm");
  CHECK_FALSE(c.ema);

  Value nested = root_of({{"outer", root_of({{"inner", weights({"module.a", "module.b"})}})}});
  const ChosenWeights n = choose_weights(nested, "outer/inner", WeightsChoice::PreferEma);
  CHECK(n.layout == "custom");
  CHECK(n.key == "outer/inner");
  CHECK(n.prefix == "module.");
  CHECK(names(n.weights) == std::vector<std::string>{"a", "b"});

  Value list = root_of({{"models", Value::list({weights({"x"}), weights({"y"})})}});
  CHECK(names(choose_weights(list, "models/1", WeightsChoice::PreferEma).weights) == std::vector<std::string>{"y"});

  const Value sg = root_of({{"net", weights({"a"})}, {"ema_net", weights({"a"})}});
  CHECK(choose_weights(sg, "net", WeightsChoice::PreferEma).key == "net");
  CHECK_FALSE(choose_weights(sg, "net", WeightsChoice::PreferEma).ema);
  CHECK(choose_weights(sg, "ema_net", WeightsChoice::Net).ema);
}

TEST_CASE("choose_weights: a missing key or one that is no dict of tensors is an error naming the keys") {
  const Value root = timm_file();
  CHECK(key_error(root, "nosuch") ==
        "no key 'nosuch' (top-level keys: epoch, arch, state_dict, optimizer, version, metric, state_dict_ema)");
  CHECK(key_error(root, "optimizer/nosuch") == "no key 'optimizer/nosuch' ('optimizer' has keys: state, param_groups)");
  CHECK(key_error(root, "epoch/x") == "no key 'epoch/x': 'epoch' is a int, not a dict");
  CHECK(key_error(root, "optimizer") == "'optimizer' is not a dict of tensors: its entry 'state' is a dict");
  CHECK(key_error(root, "arch") == "'arch' is a str, not a dict of tensors");
  CHECK(key_error(root, "optimizer/state/0") == "no error");   // a dict of tensors, by an int key
  Value many = Value::dict();
  for (int i = 0; i < 25; ++i) many.as_dict().set("k" + std::to_string(i), Value::integer(i));
  CHECK(key_error(many, "x").find("k19 and 5 more)") != std::string::npos);
}

TEST_CASE("choose_weights: a timm file whose weights are not tensors is refused, naming the entry") {
  Value root = timm_file();
  root.as_dict().find("state_dict_ema")->as_dict().set("extra", Value::string("x"));
  CHECK_THROWS_WITH(choose_weights(root, "", WeightsChoice::PreferEma),
                    "'state_dict_ema' is not a dict of tensors: its entry 'extra' is a str");
  CHECK(choose_weights(root, "", WeightsChoice::Net).key == "state_dict");
}
