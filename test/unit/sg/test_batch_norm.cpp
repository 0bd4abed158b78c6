// sg::models::BatchNorm2d: LibTorch's BatchNorm2d exactly (state dict, outputs, gradients,
// running statistics, in training and eval), its clone, and its synchronised mode over a
// SingleProcess collective, which must equal the ordinary one; enable_sync_batch_norm.
#include <catch2/catch.hpp>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "sg/dist/collective.hpp"
#include "sg/models/batch_norm.hpp"
#include "sg/optim/optimizer.hpp"
#include "temp_dir.hpp"

namespace {

using torch::nn::BatchNormOptions;

std::vector<BatchNormOptions> option_cases() {
  return {BatchNormOptions(5), BatchNormOptions(5).momentum(0.3).eps(1e-3), BatchNormOptions(5).momentum(c10::nullopt),
          BatchNormOptions(5).affine(false), BatchNormOptions(5).track_running_stats(false)};
}

std::string describe(const BatchNormOptions& o) {
  std::ostringstream s;
  s << "momentum " << (o.momentum() ? std::to_string(*o.momentum()) : "None") << " eps " << o.eps() << " affine "
    << o.affine() << " track_running_stats " << o.track_running_stats();
  return s.str();
}

template <typename Impl>
void randomise_affine(Impl& bn) {
  torch::NoGradGuard no_grad;
  if (!bn.weight.defined()) return;
  bn.weight.uniform_(0.5, 1.5);
  bn.bias.uniform_(-0.5, 0.5);
}

// What one training or eval step of a batch norm gives: output, input/weight/bias
// gradients, buffers afterwards.
struct Step {
  torch::Tensor output, grad_input, grad_weight, grad_bias;
  std::vector<torch::Tensor> buffers;
};

template <typename Module>
Step step(Module& bn, const torch::Tensor& input, const torch::Tensor& upstream) {
  Step s;
  torch::Tensor x = input.clone().requires_grad_(true);
  s.output = bn->forward(x);
  if (bn->weight.defined()) {
    bn->weight.mutable_grad() = torch::Tensor();
    bn->bias.mutable_grad() = torch::Tensor();
  }
  (s.output * upstream).sum().backward();
  s.grad_input = x.grad();
  if (bn->weight.defined()) {
    s.grad_weight = bn->weight.grad();
    s.grad_bias = bn->bias.grad();
  }
  for (const auto& b : bn->buffers()) s.buffers.push_back(b.clone());
  return s;
}

bool same(const torch::Tensor& a, const torch::Tensor& b, bool exact) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  if (exact) return torch::equal(a, b);
  // Float rounding of another order of operations, relative to the tensor's scale.
  const double scale = a.is_floating_point() ? b.abs().max().item<double>() : 0.0;
  return (a - b).abs().max().item<double>() <= 1e-6 * (scale + 1);
}

void check_same(const Step& ours, const Step& theirs, bool exact) {
  CHECK(same(ours.output, theirs.output, exact));
  CHECK(same(ours.grad_input, theirs.grad_input, exact));
  CHECK(same(ours.grad_weight, theirs.grad_weight, exact));
  CHECK(same(ours.grad_bias, theirs.grad_bias, exact));
  REQUIRE(ours.buffers.size() == theirs.buffers.size());
  // num_batches_tracked is an integer: equal in both modes.
  for (size_t i = 0; i < ours.buffers.size(); ++i) CHECK(same(ours.buffers[i], theirs.buffers[i], exact));
}

// Three training steps on different batches, then one in eval mode, ours against LibTorch's
// from the same weights; `collective`: ours synchronised over it.
void compare_with_libtorch(const BatchNormOptions& options, sg::Collective* collective, bool exact) {
  INFO(describe(options) << (collective ? ", synchronised" : ""));
  torch::manual_seed(7);
  torch::nn::BatchNorm2d theirs(options);
  sg::models::BatchNorm2d ours(options);
  randomise_affine(*theirs);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < ours->parameters().size(); ++i) ours->parameters()[i].copy_(theirs->parameters()[i]);
  }
  if (collective) ours->synchronise(collective);
  for (int i = 0; i < 3; ++i) {
    const torch::Tensor x = torch::randn({4, 5, 3, 2}) * (i + 1) + i;
    const torch::Tensor upstream = torch::randn({4, 5, 3, 2});
    check_same(step(ours, x, upstream), step(theirs, x, upstream), exact);
  }
  ours->eval();
  theirs->eval();
  const torch::Tensor x = torch::randn({2, 5, 4, 4}), upstream = torch::randn({2, 5, 4, 4});
  const Step evaluated = step(ours, x, upstream);
  check_same(evaluated, step(theirs, x, upstream), exact);
  // Eval mode is the ordinary batch norm, synchronised or not.
  ours->synchronise(nullptr);
  check_same(evaluated, step(ours, x, upstream), true);
}

std::vector<std::string> keys_and_types(const torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) out.push_back("parameter " + p.key() + " " + std::string(c10::toString(p->scalar_type())));
  for (const auto& b : m.named_buffers()) out.push_back("buffer " + b.key() + " " + std::string(c10::toString(b->scalar_type())));
  return out;
}

}  // namespace

TEST_CASE("BatchNorm2d has LibTorch's parameters and buffers, in its order and dtypes") {
  for (const auto& options : option_cases()) {
    INFO(describe(options));
    CHECK(keys_and_types(*sg::models::BatchNorm2d(options)) == keys_and_types(*torch::nn::BatchNorm2d(options)));
  }
  const std::vector<std::string> expected = {"parameter weight Float", "parameter bias Float",
                                             "buffer running_mean Float", "buffer running_var Float",
                                             "buffer num_batches_tracked Long"};
  CHECK(keys_and_types(*sg::models::BatchNorm2d(3)) == expected);
}

TEST_CASE("BatchNorm2d computes exactly what LibTorch's does, in training and eval") {
  for (const auto& options : option_cases()) compare_with_libtorch(options, nullptr, true);
}

TEST_CASE("BatchNorm2d synchronised over a single process equals the ordinary one") {
  sg::SingleProcess single;
  for (const auto& options : option_cases()) compare_with_libtorch(options, &single, false);
}

TEST_CASE("BatchNorm2d refuses a single value per channel in training, synchronised or not") {
  sg::SingleProcess single;
  sg::models::BatchNorm2d bn(2);
  const torch::Tensor x = torch::randn({1, 2, 1, 1});
  CHECK_THROWS_WITH(bn->forward(x), Catch::Contains("Expected more than 1 value per channel when training"));
  bn->synchronise(&single);
  CHECK_THROWS_WITH(bn->forward(x), Catch::Contains("Expected more than 1 value per channel when training"));
  CHECK_THROWS_WITH(bn->forward(torch::randn({2, 2, 3})), Catch::Contains("expected 4D input (got 3D input)"));
}

TEST_CASE("BatchNorm2d clones as itself, with copied weights and buffers, still synchronised") {
  sg::SingleProcess single;
  torch::nn::Sequential net(torch::nn::Conv2d(3, 4, 1), sg::models::BatchNorm2d(4));
  auto* original = net[1]->as<sg::models::BatchNorm2dImpl>();
  original->synchronise(&single);
  net->forward(torch::randn({3, 3, 2, 2}));
  const auto copy = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(net->clone());
  REQUIRE(copy);
  auto* cloned = (*copy)[1]->as<sg::models::BatchNorm2dImpl>();
  REQUIRE(cloned != nullptr);
  CHECK(cloned->synchronised_with() == &single);
  const auto a = original->named_buffers(), b = cloned->named_buffers();
  for (const auto& item : a) {
    CHECK(torch::equal(item.value(), b[item.key()]));
    CHECK(item.value().data_ptr() != b[item.key()].data_ptr());
  }
  CHECK(torch::equal(original->forward(torch::ones({2, 4, 1, 1})), cloned->forward(torch::ones({2, 4, 1, 1}))));
}

TEST_CASE("enable_sync_batch_norm switches every BatchNorm2d and refuses LibTorch's") {
  using namespace torch::nn;
  sg::SingleProcess single;
  Module net;
  auto stem = net.register_module("stem", Sequential(Conv2d(3, 4, 3), sg::models::BatchNorm2d(4), ReLU()));
  auto head = net.register_module("head", Sequential(Conv2d(4, 2, 1), sg::models::BatchNorm2d(2)));
  CHECK(sg::enable_sync_batch_norm(net, single) == 2);
  CHECK((*stem)[1]->as<sg::models::BatchNorm2dImpl>()->synchronised_with() == &single);
  CHECK((*head)[1]->as<sg::models::BatchNorm2dImpl>()->synchronised_with() == &single);

  // Refused before anything is switched.
  Module mixed;
  auto ours = mixed.register_module("ours", sg::models::BatchNorm2d(3));
  mixed.register_module("block", Sequential(Conv2d(3, 3, 1), BatchNorm2d(3)));
  CHECK(error_message<std::invalid_argument>([&] { sg::enable_sync_batch_norm(mixed, single); }) ==
        "sync_bn: module 'block.1' is torch::nn::BatchNorm2dImpl, not sg::models::BatchNorm2d: its statistics cannot "
        "be made global");
  CHECK(ours->synchronised_with() == nullptr);
  Sequential one_d(BatchNorm1d(3));
  CHECK_THROWS_WITH(sg::enable_sync_batch_norm(*one_d, single), Catch::Contains("module '0' is torch::nn::BatchNorm1dImpl"));
}

TEST_CASE("zero_weight_decay_on_bias_and_bn counts BatchNorm2d as a norm layer") {
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).bias(false)), sg::models::BatchNorm2d(4));
  const auto groups = sg::sg_param_groups(*net, true);
  REQUIRE(groups.size() == 2);
  const auto* bn = net[1]->as<sg::models::BatchNorm2dImpl>();
  REQUIRE(groups[0].params.size() == 2);
  CHECK(groups[0].params[0].is_same(bn->weight));
  CHECK(groups[0].params[1].is_same(bn->bias));
}
