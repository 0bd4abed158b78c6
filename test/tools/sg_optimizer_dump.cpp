// sg_optimizer_dump: our optimizers over given gradients, for test/python/test_optimizer_parity.py.
//
//   sg_optimizer_dump TRAINING_HYPERPARAMS IN.pth FIRST STEPS OUT.pth [--load STATE.pth]
//       TRAINING_HYPERPARAMS: YAML/JSON text of the recipe's training_hyperparams (optimizer,
//       initial_lr, optimizer_params, zero_weight_decay_on_bias_and_bn), read as sg-train reads
//       them. IN.pth (written by Python) = {"params": [tensor, ...], "no_decay": [bool, ...]
//       (SG's bias/norm parameters), "grads": [[tensor per param] per step]}. Builds the
//       optimizer over SG's param groups, optionally loads STATE.pth (an optimizer state dict)
//       and takes STEPS steps with grads[FIRST], grads[FIRST + 1], ... Writes OUT.pth =
//       {"params": [tensor, ...], "state_dict": the optimizer's state_dict()}.
//
// Exit codes: 0 written; 1 refused (message on stderr); 2 usage error.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include "cli_numbers.hpp"
#include "pth/checkpoint.hpp"
#include "recipe/recipe.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/optim/optimizer.hpp"
#include "sg/train/train_config.hpp"

namespace {

const pth::Value& entry(const pth::Value& root, const char* key) {
  const pth::Value* v = root.is_dict() ? root.as_dict().find(key) : nullptr;
  if (v == nullptr) throw UsageError(std::string("IN.pth: no '") + key + "'");
  return *v;
}

int run(int argc, char** argv) {
  std::vector<std::string> pos;
  std::string load_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--load" && i + 1 < argc) load_path = argv[++i];
    else if (a.rfind("--", 0) == 0) throw UsageError("unknown option " + a);
    else pos.push_back(a);
  }
  if (pos.size() != 5)
    throw UsageError("usage: sg_optimizer_dump TRAINING_HYPERPARAMS IN.pth FIRST STEPS OUT.pth [--load STATE.pth]");
  const int64_t first = parse_count(pos[2], "FIRST");
  const int64_t steps = parse_count(pos[3], "STEPS");

  const pth::Checkpoint in = pth::read_checkpoint(pos[1]);
  std::vector<torch::Tensor> params;
  for (const pth::Value& t : entry(in.root, "params").items())
    params.push_back(sg::to_torch(*t.as_tensor()).clone().set_requires_grad(true));
  const auto& flags = entry(in.root, "no_decay").items();
  const auto& grads = entry(in.root, "grads").items();
  if (flags.size() != params.size()) throw UsageError("IN.pth: one no_decay flag per parameter");
  if (first + steps > int64_t(grads.size())) throw UsageError("IN.pth: fewer gradient sets than FIRST + STEPS");

  try {
    YAML::Node root;
    root["training_hyperparams"] = YAML::Load(pos[0]);
    const sg::OptimizerConfig config = sg::read_optimizer_config(sg::Recipe(root));
    // SG's grouping, as sg_param_groups makes it from a module: flagged parameters first.
    std::vector<sg::ParamGroupSpec> groups;
    if (config.zero_weight_decay_on_bias_and_bn) {
      groups = {{{}, true}, {{}, false}};
      for (size_t i = 0; i < params.size(); ++i) groups[flags[i].as_bool() ? 0 : 1].params.push_back(params[i]);
    } else {
      groups = {{params, false}};
    }
    sg::Optimizer optimizer(config, groups);
    if (!load_path.empty()) optimizer.load_state_dict(pth::read_checkpoint(load_path).root);
    for (int64_t s = first; s < first + steps; ++s) {
      const auto& step_grads = grads[size_t(s)].items();
      for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = sg::to_torch(*step_grads[i].as_tensor()).clone();
      optimizer.get().step();
    }
    pth::List out_params;
    for (const torch::Tensor& p : params) out_params.push_back(sg::to_pth(p.detach()));
    pth::Value out = pth::Value::dict();
    out.as_dict().set("params", pth::Value::list(std::move(out_params)));
    out.as_dict().set("state_dict", optimizer.state_dict());
    pth::write_checkpoint(pos[4], out);
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sg_optimizer_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return print_error("sg_optimizer_dump", e);
  }
}
