// sg::Optimizer: SG's param groups, SG's defaults, RMSprop/RMSpropTF, per-group rates.
// (Numbers and state dicts against PyTorch: test/python/test_optimizer_parity.py.)
// torch before Catch2: glog (through torch) also defines CHECK.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "sg/optim/lr_policy.hpp"
#include "sg/optim/optimizer.hpp"

namespace {

// conv (no bias), BN, a block holding a LayerNorm and a linear layer, and a bare `bias`.
struct Net : torch::nn::Module {
  Net() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).bias(false)));
    bn = register_module("bn", torch::nn::BatchNorm2d(4));
    block = register_module("block", std::make_shared<torch::nn::Module>());
    ln = block->register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4})));
    fc = block->register_module("fc", torch::nn::Linear(4, 2));
    bias = register_parameter("bias", torch::zeros({2}));
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  std::shared_ptr<torch::nn::Module> block;
  torch::nn::LayerNorm ln{nullptr};
  torch::nn::Linear fc{nullptr};
  torch::Tensor bias;
};

std::set<std::string> names_of(const torch::nn::Module& m, const std::vector<torch::Tensor>& params) {
  std::set<std::string> out;
  for (const auto& item : m.named_parameters())
    for (const torch::Tensor& p : params)
      if (p.unsafeGetTensorImpl() == item.value().unsafeGetTensorImpl()) out.insert(item.key());
  return out;
}

const pth::Dict& group_of(const pth::Value& sd, size_t g) {
  return sd.as_dict().find("param_groups")->items().at(g).as_dict();
}

}  // namespace

TEST_CASE("zero_weight_decay_on_bias_and_bn: SG's two groups, biases and norm weights first") {
  auto net = std::make_shared<Net>();
  const auto one = sg::sg_param_groups(*net, false);
  REQUIRE(one.size() == 1);
  CHECK(one[0].params.size() == net->parameters().size());

  const auto two = sg::sg_param_groups(*net, true);
  REQUIRE(two.size() == 2);
  CHECK(two[0].no_weight_decay);
  CHECK_FALSE(two[1].no_weight_decay);
  CHECK(names_of(*net, two[0].params) ==
        std::set<std::string>{"bn.weight", "bn.bias", "block.ln.weight", "block.ln.bias", "block.fc.bias", "bias"});
  CHECK(names_of(*net, two[1].params) == std::set<std::string>{"conv.weight", "block.fc.weight"});

  sg::OptimizerConfig c = sg::optimizer_defaults("SGD");
  c.zero_weight_decay_on_bias_and_bn = true;
  sg::Optimizer opt(c, two);
  const pth::Value sd = opt.state_dict();
  const pth::Dict& nd = group_of(sd, 0);
  const pth::Dict& d = group_of(sd, 1);
  CHECK(nd.items.at(0).first.as_string() == "weight_decay");   // SG's group dict comes first
  CHECK(nd.find("weight_decay")->as_number() == 0.0);
  CHECK(d.find("weight_decay")->as_number() == 1e-4);
  CHECK(d.find("name")->as_string() == "default");
  CHECK(d.find("params")->items().at(0).as_int() == int64_t(two[0].params.size()));   // indices run on
}

TEST_CASE("SG's defaults: SGD and RMSprop momentum 0.9 and weight decay 1e-4, RMSpropTF's alpha and eps") {
  const sg::OptimizerConfig sgd = sg::optimizer_defaults("SGD");
  CHECK(sgd.momentum == 0.9);
  CHECK(sgd.weight_decay == 1e-4);
  CHECK(sg::optimizer_defaults("Adam").weight_decay == 1e-4);
  CHECK(sg::optimizer_defaults("Adam").momentum == 0.0);
  CHECK(sg::optimizer_defaults("AdamW").weight_decay == 1e-2);   // PyTorch's: SG has no entry
  const sg::OptimizerConfig tf = sg::optimizer_defaults("RMSpropTF");
  CHECK(tf.alpha == 0.9);
  CHECK(tf.eps == 1e-10);
  CHECK(tf.lr_in_momentum);
  CHECK(sg::optimizer_defaults("RMSprop").alpha == 0.99);
  CHECK(sg::optimizer_names() == "SGD, Adam, AdamW, RMSprop, RMSpropTF");
  CHECK_THROWS_AS(sg::optimizer_defaults("Lamb"), std::invalid_argument);
}

TEST_CASE("RMSpropTF takes its first step from square_avg = 1 with eps inside the root") {
  torch::Tensor p = torch::full({1}, 1.0, torch::requires_grad());
  sg::OptimizerConfig c = sg::optimizer_defaults("RMSpropTF");
  c.lr = 0.1;
  c.momentum = 0.0;
  c.weight_decay = 0.0;
  sg::Optimizer opt(c, std::vector<torch::Tensor>{p});
  p.mutable_grad() = torch::full({1}, 2.0);
  opt.get().step();
  const float square_avg = 1.0f + 0.1f * (4.0f - 1.0f);   // (1 - alpha) toward grad ** 2
  CHECK(p.item<float>() == Approx(1.0f - 0.1f * 2.0f / std::sqrt(square_avg + 1e-10f)));
  const pth::Value sd = opt.state_dict();
  const auto& entry = sd.as_dict().find("state")->as_dict().items.at(0).second.as_dict();
  CHECK(entry.find("step")->as_int() == 1);
  CHECK(entry.find("momentum_buffer") == nullptr);
}

TEST_CASE("a PyTorch scheduler drives every param group, CyclicLR's momentum from the start") {
  auto net = std::make_shared<Net>();
  sg::OptimizerConfig c = sg::optimizer_defaults("RMSprop");
  c.lr = 0.5;
  c.zero_weight_decay_on_bias_and_bn = true;
  sg::Optimizer opt(c, sg::sg_param_groups(*net, true));
  CHECK_FALSE(opt.has_betas());
  sg::TorchSchedulerContext ctx;
  ctx.base_lrs = opt.lrs();
  auto policy = sg::make_torch_lr_policy(
      sg::make_torch_scheduler("CyclicLR", {{"base_lr", 0.1}, {"max_lr", 1.0}, {"step_size_up", int64_t(2)}}, ctx), opt);
  CHECK(opt.lrs() == std::vector<double>{0.1, 0.1});
  for (size_t g = 0; g < 2; ++g) CHECK(group_of(opt.state_dict(), g).find("momentum")->as_number() == 0.9);
  policy->after_step(opt);
  policy->after_step(opt);
  CHECK(opt.lrs() == std::vector<double>{1.0, 1.0});
  const pth::Value sd = opt.state_dict();
  for (size_t g = 0; g < 2; ++g) {
    const pth::Dict& group = group_of(sd, g);
    CHECK(group.find("momentum")->as_number() == Approx(0.8));
    CHECK(group.find("initial_lr")->as_number() == 0.1);
    CHECK(group.items.back().first.as_string() == "params");   // scheduler entries before params, as Python
  }
  sg::TorchSchedulerContext single;
  CHECK_THROWS_AS(sg::make_torch_lr_policy(sg::make_torch_scheduler("ExponentialLR", {{"gamma", 0.5}}, single), opt),
                  std::invalid_argument);
}
