// Models: names, state dict keys/shapes/order (torchvision's and SG's), forward shapes,
// in_channels, head replacement, unknown names, arch_params (droppath_prob).
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/models/model.hpp"
#include "temp_dir.hpp"

namespace {

std::vector<int64_t> shape_of(const sg::NamedTensors& sd, const std::string& key) {
  for (const auto& [name, t] : sd) {
    if (name == key) return t.sizes().vec();
  }
  FAIL("no key " << key);
  return {};
}

bool has_key(const sg::NamedTensors& sd, const std::string& key) {
  for (const auto& entry : sd) {
    if (entry.first == key) return true;
  }
  return false;
}

using Shape = std::vector<int64_t>;

// A model of `arch` with `num_classes` outputs over images of `in_channels` channels.
std::shared_ptr<sg::Classifier> model(const std::string& arch, int64_t num_classes, int64_t in_channels = 3) {
  sg::ModelOptions o;
  o.num_classes = num_classes;
  o.in_channels = in_channels;
  return sg::create_model(arch, o);
}

// The output shape of `m` in eval mode, without autograd, for a random input of `input` shape.
Shape eval_output_shape(sg::Classifier& m, const Shape& input) {
  m.eval();
  torch::NoGradGuard ng;
  return m.forward(torch::randn(input)).sizes().vec();
}

}  // namespace

TEST_CASE("model_names lists the registered architectures") {
  const auto names = sg::model_names();
  CHECK(names == std::vector<std::string>{"resnet18", "resnet34", "resnet50", "resnet18_cifar", "torchvision_resnet18",
                                          "torchvision_resnet34", "torchvision_resnet50", "mobilenet_v2",
                                          "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0", "regnetY200",
                                          "regnetY400", "regnetY600", "regnetY800", "repvgg_a0", "vit_base", "vit_large", "vit_huge",
                                          "resnet_mini"});
}

TEST_CASE("unknown architecture throws naming the known ones") {
  try {
    sg::create_model("resnet7", {});
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    CHECK(msg.find("resnet7") != std::string::npos);
    for (const auto& name : sg::model_names()) CHECK(msg.find(name) != std::string::npos);
  }
  sg::ModelOptions bad;
  bad.num_classes = 0;
  CHECK_THROWS_AS(sg::create_model("resnet_mini", bad), std::invalid_argument);
}

TEST_CASE("torchvision_resnet18 has torchvision's state dict") {
  auto m = model("torchvision_resnet18", 7);
  const auto sd = sg::state_dict(*m);
  REQUIRE(sd.size() == 122);
  CHECK(sd.front().first == "conv1.weight");
  CHECK(sd.front().second.sizes().vec() == Shape{64, 3, 7, 7});
  CHECK(sd[1].first == "bn1.weight");
  CHECK(sd[3].first == "bn1.running_mean");
  CHECK(sd[4].first == "bn1.running_var");
  CHECK(sd[5].first == "bn1.num_batches_tracked");
  CHECK(sd[5].second.scalar_type() == torch::kLong);
  CHECK(sd[6].first == "layer1.0.conv1.weight");
  CHECK(sd[sd.size() - 2].first == "fc.weight");
  CHECK(sd.back().first == "fc.bias");
  CHECK(sd.back().second.sizes().vec() == Shape{7});
  CHECK(shape_of(sd, "fc.weight") == Shape{7, 512});
  CHECK(shape_of(sd, "layer2.0.downsample.0.weight") == Shape{128, 64, 1, 1});
  CHECK(shape_of(sd, "layer2.0.downsample.1.running_var") == Shape{128});
  CHECK(shape_of(sd, "layer4.1.conv2.weight") == Shape{512, 512, 3, 3});
  CHECK_FALSE(has_key(sd, "layer1.0.downsample.0.weight"));
  CHECK(m->head_name() == "fc");
  // torchvision's init: BN weight 1, bias 0; convs kaiming_normal_(fan_out): std sqrt(2/(64*9)).
  CHECK(torch::all(torch::eq(sd[1].second, 1.0)).item<bool>());
  CHECK(torch::all(torch::eq(sd[2].second, 0.0)).item<bool>());
  const double sd_std = sd[6].second.std().item<double>();
  CHECK(sd_std == Approx(std::sqrt(2.0 / (64 * 9))).epsilon(0.05));
}

TEST_CASE("torchvision_resnet34 and torchvision_resnet50 key counts and shapes") {
  const auto sd34 = sg::state_dict(*model("torchvision_resnet34", 10));
  CHECK(sd34.size() == 218);
  CHECK(shape_of(sd34, "layer3.5.conv2.weight") == Shape{256, 256, 3, 3});
  CHECK(sd34.back().first == "fc.bias");

  const auto sd50 = sg::state_dict(*model("torchvision_resnet50", 10));
  CHECK(sd50.size() == 320);
  CHECK(shape_of(sd50, "layer1.0.downsample.0.weight") == Shape{256, 64, 1, 1});
  CHECK(shape_of(sd50, "layer1.0.conv3.weight") == Shape{256, 64, 1, 1});
  CHECK(shape_of(sd50, "layer2.0.conv2.weight") == Shape{128, 128, 3, 3});
  CHECK(shape_of(sd50, "layer4.2.bn3.weight") == Shape{2048});
  CHECK(shape_of(sd50, "fc.weight") == Shape{10, 2048});
}

TEST_CASE("resnet18 and resnet18_cifar have SuperGradients' names, resnet18 the ImageNet stem") {
  struct Case {
    std::string arch;
    int64_t stem_kernel, side;
  };
  for (const Case& c : {Case{"resnet18", 7, 64}, Case{"resnet18_cifar", 3, 32}}) {
    auto m = model(c.arch, 7);
    const auto sd = sg::state_dict(*m);
    CHECK(sd.size() == 122);
    CHECK(shape_of(sd, "conv1.weight") == Shape{64, 3, c.stem_kernel, c.stem_kernel});
    CHECK(shape_of(sd, "layer2.0.shortcut.0.weight") == Shape{128, 64, 1, 1});
    CHECK(shape_of(sd, "layer2.0.shortcut.1.num_batches_tracked") == Shape{});
    CHECK_FALSE(has_key(sd, "layer1.0.shortcut.0.weight"));
    CHECK_FALSE(has_key(sd, "layer2.0.downsample.0.weight"));
    CHECK(sd[sd.size() - 2].first == "linear.weight");
    CHECK(sd.back().first == "linear.bias");
    CHECK(m->head_name() == "linear");
    CHECK(eval_output_shape(*m, {2, 3, c.side, c.side}) == Shape{2, 7});
  }
}

TEST_CASE("resnet34 and resnet50 are SuperGradients' ResNets") {
  CHECK(sg::state_dict(*model("resnet34", 10)).size() == 218);
  const auto sd50 = sg::state_dict(*model("resnet50", 10));
  CHECK(sd50.size() == 320);
  CHECK(shape_of(sd50, "layer1.0.shortcut.0.weight") == Shape{256, 64, 1, 1});
  CHECK(shape_of(sd50, "layer2.0.conv2.weight") == Shape{128, 128, 3, 3});
  CHECK(shape_of(sd50, "linear.weight") == Shape{10, 2048});
}

TEST_CASE("mobilenet_v2 has SuperGradients' state dict and its init") {
  auto m = model("mobilenet_v2", 7);
  const auto sd = sg::state_dict(*m);
  CHECK(sd.size() == 314);
  CHECK(sd.front().first == "features.0.0.weight");
  CHECK(shape_of(sd, "features.0.0.weight") == Shape{32, 3, 3, 3});
  CHECK(shape_of(sd, "features.1.conv.0.weight") == Shape{32, 1, 3, 3});   // expand ratio 1: depthwise first
  CHECK(shape_of(sd, "features.1.conv.3.weight") == Shape{16, 32, 1, 1});
  CHECK(shape_of(sd, "features.2.conv.3.weight") == Shape{96, 1, 3, 3});
  CHECK(shape_of(sd, "features.17.conv.6.weight") == Shape{320, 960, 1, 1});
  CHECK(shape_of(sd, "features.18.0.weight") == Shape{1280, 320, 1, 1});
  CHECK(sd[sd.size() - 2].first == "classifier.1.weight");
  CHECK(shape_of(sd, "classifier.1.weight") == Shape{7, 1280});
  CHECK(torch::all(torch::eq(sd.back().second, 0.0)).item<bool>());
  CHECK(sd[sd.size() - 2].second.std().item<double>() == Approx(0.01).epsilon(0.05));
  CHECK(m->head_name() == "classifier");
  CHECK(eval_output_shape(*m, {2, 3, 64, 64}) == Shape{2, 7});
  m->reset_head(3);
  const auto after = sg::state_dict(*m);
  REQUIRE(after.size() == sd.size());
  CHECK(after[after.size() - 2].first == "classifier.1.weight");
  CHECK(shape_of(after, "classifier.1.bias") == Shape{3});
  CHECK(eval_output_shape(*m, {1, 3, 32, 32}) == Shape{1, 3});
}

TEST_CASE("resnet_mini: shapes, forward on 28x28 grayscale, train and eval") {
  auto m = model("resnet_mini", 10, 1);
  const auto sd = sg::state_dict(*m);
  CHECK(sd.size() == 6 + 3 * 18 + 2);
  CHECK(shape_of(sd, "conv1.weight") == Shape{16, 1, 3, 3});
  CHECK(shape_of(sd, "layer1.0.downsample.0.weight") == Shape{16, 16, 1, 1});
  CHECK(shape_of(sd, "layer3.0.conv2.weight") == Shape{64, 64, 3, 3});
  CHECK(shape_of(sd, "fc.weight") == Shape{10, 64});
  m->train();
  auto y = m->forward(torch::randn({4, 1, 28, 28}));
  CHECK(y.sizes().vec() == Shape{4, 10});
  y.sum().backward();
  CHECK(m->named_parameters()["conv1.weight"].grad().defined());
  CHECK(shape_of(sd, "bn1.num_batches_tracked") == Shape{});
  CHECK(sd[5].second.item<int64_t>() == 1);
  CHECK(eval_output_shape(*m, {1, 1, 28, 28}) == Shape{1, 10});
}

TEST_CASE("in_channels replaces conv1's input channels") {
  for (const std::string arch : {"resnet18", "torchvision_resnet50", "resnet18_cifar"}) {
    auto m = model(arch, 5, 1);
    const auto sd = sg::state_dict(*m);
    CHECK(shape_of(sd, "conv1.weight")[1] == 1);
    CHECK(eval_output_shape(*m, {2, 1, 32, 32}) == Shape{2, 5});
  }
}

TEST_CASE("reset_head replaces only the head, in place in the state dict") {
  for (const std::string arch : {"resnet18", "torchvision_resnet18", "resnet18_cifar", "resnet_mini"}) {
    const int64_t in_channels = arch == "resnet_mini" ? 1 : 3;
    auto m = model(arch, 10, in_channels);
    m->eval();
    const auto before = sg::state_dict(*m);
    std::vector<torch::Tensor> copies;
    for (const auto& [name, t] : before) copies.push_back(t.clone());
    m->reset_head(3);
    const auto after = sg::state_dict(*m);
    REQUIRE(after.size() == before.size());
    const std::string head = m->head_name();
    for (size_t i = 0; i < after.size(); ++i) {
      CHECK(after[i].first == before[i].first);
      if (after[i].first.rfind(head + ".", 0) == 0) continue;
      CHECK(torch::equal(after[i].second, copies[i]));
    }
    CHECK(shape_of(after, head + ".weight")[0] == 3);
    CHECK(shape_of(after, head + ".bias") == Shape{3});
    CHECK_FALSE(m->is_training());
    CHECK(eval_output_shape(*m, {2, in_channels, 32, 32}) == Shape{2, 3});
    // The new head's parameters are the model's parameters (an optimizer would see them).
    bool found = false;
    for (const auto& p : m->parameters()) {
      if (p.sizes().vec() == Shape{3}) found = true;
    }
    CHECK(found);
  }
  auto m = sg::create_model("resnet_mini", {});
  CHECK_THROWS_AS(m->reset_head(0), std::invalid_argument);
}

TEST_CASE("models run on CUDA when available") {
  if (!torch::cuda::is_available()) return;
  auto m = model("resnet_mini", 10, 1);
  m->to(torch::kCUDA);
  m->train();
  auto y = m->forward(torch::randn({4, 1, 28, 28}, torch::kCUDA));
  y.sum().backward();
  m->reset_head(4);
  m->eval();
  torch::NoGradGuard ng;
  auto z = m->forward(torch::randn({2, 1, 28, 28}, torch::kCUDA));
  CHECK(z.device().is_cuda());
  CHECK(z.sizes().vec() == Shape{2, 4});
}

namespace {

std::shared_ptr<sg::Classifier> mini_with_droppath(double p) {
  sg::ModelOptions o;
  o.num_classes = 10;
  o.in_channels = 1;
  o.params["droppath_prob"] = p;
  return sg::create_model("resnet_mini", o);
}

// Whether `m`'s forward in its current mode draws from the global generator.
bool forward_draws_random_numbers(sg::Classifier& m, const torch::Tensor& x) {
  torch::NoGradGuard ng;
  torch::manual_seed(5);
  m.forward(x);
  const torch::Tensor after_forward = torch::rand({4});
  torch::manual_seed(5);
  return !torch::equal(after_forward, torch::rand({4}));
}

}  // namespace

TEST_CASE("arch_params an architecture does not read, or out of its range, are refused") {
  sg::ModelOptions unknown;
  unknown.params["width_mult"] = 2;
  const std::string msg = error_message<std::invalid_argument>([&] { sg::create_model("resnet_mini", unknown); });
  CHECK_THAT(msg, Catch::Contains("arch_params.width_mult") && Catch::Contains("resnet_mini") &&
                      Catch::Contains("droppath_prob"));
  CHECK_THROWS_WITH(sg::validate_model_options("resnet18", unknown), Catch::Contains("arch_params.width_mult"));
  for (double p : {-0.1, 1.5}) {
    CHECK_THROWS_WITH(mini_with_droppath(p), Catch::Contains("arch_params.droppath_prob") && Catch::Contains("[0, 1]"));
  }
  CHECK_NOTHROW(mini_with_droppath(1));
  REQUIRE(sg::architecture_params("resnet50").size() == 1);
  CHECK(sg::architecture_params("resnet50")[0].name == "droppath_prob");
  CHECK_THROWS_WITH(sg::architecture_params("resnet7"), Catch::Contains("resnet7"));
  sg::ModelOptions droppath;
  droppath.params["droppath_prob"] = 0.1;
  CHECK_THROWS_WITH(sg::validate_model_options("mobilenet_v2", droppath),
                    Catch::Contains("arch_params.droppath_prob") && Catch::Contains("it reads num_classes, in_channels, dropout"));
  sg::ModelOptions dropout;
  dropout.params["dropout"] = 1.5;
  CHECK_THROWS_WITH(sg::validate_model_options("mobilenet_v2", dropout), Catch::Contains("arch_params.dropout"));
}

TEST_CASE("droppath_prob drops residual branches while training only, and 0 changes nothing") {
  const torch::Tensor x = torch::randn({6, 1, 28, 28});
  torch::manual_seed(3);
  auto absent = sg::create_model("resnet_mini", {10, 1, {}});
  torch::manual_seed(3);
  auto zero = mini_with_droppath(0);
  absent->train();
  zero->train();
  {
    torch::NoGradGuard ng;
    CHECK(torch::equal(absent->forward(x), zero->forward(x)));
  }
  CHECK_FALSE(forward_draws_random_numbers(*zero, x));

  auto half = mini_with_droppath(0.5);
  half->train();
  CHECK(forward_draws_random_numbers(*half, x));
  half->eval();
  CHECK_FALSE(forward_draws_random_numbers(*half, x));

  // p = 1: every residual branch is dropped while training, so the blocks' convolutions
  // do not reach the output; at evaluation they do.
  auto all = mini_with_droppath(1);
  torch::NoGradGuard ng;
  all->train();
  const torch::Tensor before = all->forward(x);
  all->named_parameters()["layer1.0.conv1.weight"].add_(1);
  CHECK(torch::allclose(all->forward(x), before));
  all->eval();
  const torch::Tensor eval_before = all->forward(x);
  all->named_parameters()["layer2.0.conv2.weight"].add_(1);
  CHECK_FALSE(torch::allclose(all->forward(x), eval_before));
}
