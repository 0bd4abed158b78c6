// sg_ema_dump: our EMA against SG's formula, for test/python/test_ema_reference.py.
//
//   sg_ema_dump DECAY_TYPE DECAY BETA TOTAL_STEPS NUM_STEPS OUT.pth
//       Builds resnet_mini (1 channel, 10 classes, torch::manual_seed(0)), makes a ModelEMA
//       of it, then NUM_STEPS times: one real SGD step (lr 0.1, momentum 0.9) in train mode
//       on a fixed random batch (so BatchNorm's running stats and num_batches_tracked move
//       too) followed by ema.update(model, step, TOTAL_STEPS) with step = 1, 2, ... as SG's
//       trainer passes it. Writes OUT.pth = {
//         "initial": the model's state dict when the EMA was made,
//         "states":  [the model's state dict after each step],
//         "decays":  [the decay our EMA used at each step (floats)],
//         "ema":     our EMA's final state dict,
//         "updates": the EMA's update count }.
//
// Exit codes: 0 written; 2 usage or input error (one line: "sg_ema_dump: error: ...").
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "cli_numbers.hpp"
#include "pth/checkpoint.hpp"
#include "pth/value.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/models/model.hpp"
#include "sg/optim/ema.hpp"

namespace {

// A deep copy of the model's state dict (the live tensors keep changing).
pth::Value snapshot(const torch::nn::Module& model) {
  sg::NamedTensors copy;
  for (const auto& [name, t] : sg::state_dict(model)) copy.emplace_back(name, t.detach().clone());
  return sg::to_pth_state_dict(copy);
}

int run(const std::string& decay_type, double decay, double beta, int64_t total_steps, int64_t num_steps,
        const std::string& out) {
  torch::manual_seed(0);
  sg::ModelOptions options;
  options.num_classes = 10;
  options.in_channels = 1;
  auto model = sg::create_model("resnet_mini", options);
  model->train();
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  const torch::Tensor x = torch::randn({8, 1, 28, 28});
  const torch::Tensor y = torch::randint(0, 10, {8});

  sg::ModelEMA ema(*model, decay, decay_type, beta, total_steps);
  pth::Value initial = snapshot(*model);
  pth::List states;
  pth::List decays;
  for (int64_t step = 1; step <= num_steps; ++step) {
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(x), y).backward();
    opt.step();
    ema.update(*model, step, total_steps);
    states.push_back(snapshot(*model));
    decays.push_back(pth::Value::floating(ema.decay_at(step, total_steps)));
  }
  pth::Value root = pth::Value::dict();
  auto& d = root.as_dict();
  d.set(pth::Value::string("initial"), initial);
  d.set(pth::Value::string("states"), pth::Value::list(std::move(states)));
  d.set(pth::Value::string("decays"), pth::Value::list(std::move(decays)));
  d.set(pth::Value::string("ema"), sg::to_pth_state_dict(ema.state()));
  d.set(pth::Value::string("updates"), pth::Value::integer(ema.updates()));
  pth::write_checkpoint(out, root);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() != 6) throw UsageError("usage: sg_ema_dump DECAY_TYPE DECAY BETA TOTAL_STEPS NUM_STEPS OUT.pth");
    return run(args[0], parse_double(args[1], "DECAY"), parse_double(args[2], "BETA"),
               parse_count(args[3], "TOTAL_STEPS"), parse_count(args[4], "NUM_STEPS"), args[5]);
  } catch (const std::exception& e) {
    return print_error("sg_ema_dump", e);
  }
}
