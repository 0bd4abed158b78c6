// sg_sync_bn_probe: data-parallel SGD steps of a small conv + BatchNorm net with
// synchronised batch norm, run by test/python/test_sync_batch_norm.py under torchrun.
//
//   torchrun --no-python --nproc-per-node N sg_sync_bn_probe --data IN.pth --out DIR
//       [--lr LR] [--momentum M] [--timeout-ms MS] [--local]
//
// The net: Conv2d(C, 4, 3, padding 1, no bias), BatchNorm2d(4), ReLU, Conv2d(4, 3, 3),
// BatchNorm2d(3), AdaptiveAvgPool2d(1), Flatten, Linear(3, K): Python's nn.Sequential of
// the same layers has the same state dict keys. IN.pth = {"state_dict": its initial state,
// "inputs": float (S, N, C, H, W), "targets": int64 (S, N)}. Each of S steps: rank R takes
// the R-th of N contiguous chunks of the step's batch, trains (cross entropy, mean), has its
// gradients averaged over the ranks and takes an SGD step (torch.optim.SGD's, lr, momentum).
// --local: the batch norms keep their local statistics (the control).
// Each rank writes DIR/rank<R>.pth = {"state_dict": the state afterwards, "losses": its
// S losses, "synchronised": how many batch norms enable_sync_batch_norm switched}.
//
// Exit codes: 0 done; 1 a collective or the training failed; 2 usage or input error.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "cli_numbers.hpp"
#include "pth/checkpoint.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/dist/c10d_collective.hpp"
#include "sg/dist/torchrun_env.hpp"
#include "sg/models/batch_norm.hpp"

namespace {

struct Options {
  std::string data, out;
  double lr = 0.1, momentum = 0.9;
  int64_t timeout_ms = 60000;
  bool local = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--local") {
      o.local = true;
      continue;
    }
    if (i + 1 >= argc) throw UsageError("option " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--data") o.data = v;
    else if (a == "--out") o.out = v;
    else if (a == "--lr") o.lr = parse_double(v, "--lr");
    else if (a == "--momentum") o.momentum = parse_double(v, "--momentum");
    else if (a == "--timeout-ms") o.timeout_ms = parse_count(v, "--timeout-ms", 1);
    else throw UsageError("unknown option " + a);
  }
  if (o.data.empty() || o.out.empty()) throw UsageError("--data IN.pth and --out DIR are required");
  return o;
}

const pth::Value& entry(const pth::Value& root, const std::string& key, const std::string& path) {
  const pth::Value* v = root.is_dict() ? root.as_dict().find(key) : nullptr;
  if (v == nullptr) throw UsageError(path + ": no key '" + key + "'");
  return *v;
}

torch::Tensor tensor_entry(const pth::Value& root, const std::string& key, const std::string& path) {
  const pth::Value& v = entry(root, key, path);
  if (!v.is_tensor()) throw UsageError(path + ": '" + key + "' is not a tensor");
  return sg::to_torch(*v.as_tensor());
}

torch::nn::Sequential make_net(int64_t in_channels, int64_t classes) {
  using namespace torch::nn;
  return Sequential(Conv2d(Conv2dOptions(in_channels, 4, 3).padding(1).bias(false)), sg::models::BatchNorm2d(4),
                    ReLU(), Conv2d(Conv2dOptions(4, 3, 3)), sg::models::BatchNorm2d(3), AdaptiveAvgPool2d(1),
                    Flatten(), Linear(3, classes));
}

// The state dict of `path` into `net`: exactly its keys, shapes and dtypes.
void load_state(torch::nn::Module& net, const pth::Value& sd, const std::string& path) {
  if (!sd.is_dict()) throw UsageError(path + ": 'state_dict' is not a dict");
  const sg::NamedTensors ours = sg::state_dict(net);
  if (sd.as_dict().items.size() != ours.size())
    throw UsageError(path + ": 'state_dict' has " + std::to_string(sd.as_dict().items.size()) + " entries, the net " +
                     std::to_string(ours.size()));
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : ours) {
    const torch::Tensor theirs = tensor_entry(sd, name, path + ": state_dict");
    if (theirs.sizes() != tensor.sizes() || theirs.scalar_type() != tensor.scalar_type())
      throw UsageError(path + ": state_dict '" + name + "' has another shape or dtype than the net's");
    tensor.copy_(theirs);
  }
}

int run(const Options& o) {
  const auto env = sg::read_torchrun_environment();
  if (!env) throw UsageError("run me under torchrun (no RANK, WORLD_SIZE, ... in the environment)");
  const pth::Checkpoint data = pth::read_checkpoint(o.data);
  const torch::Tensor inputs = tensor_entry(data.root, "inputs", o.data);
  const torch::Tensor targets = tensor_entry(data.root, "targets", o.data);
  if (inputs.dim() != 5 || targets.dim() != 2 || targets.size(0) != inputs.size(0) || targets.size(1) != inputs.size(1))
    throw UsageError(o.data + ": 'inputs' must be (S, N, C, H, W) and 'targets' (S, N)");
  if (inputs.size(1) % env->world_size != 0)
    throw UsageError(o.data + ": a batch of " + std::to_string(inputs.size(1)) + " does not split into " +
                     std::to_string(env->world_size) + " equal shares");
  auto net = make_net(inputs.size(2), targets.max().item<int64_t>() + 1);
  load_state(*net, entry(data.root, "state_dict", o.data), o.data);

  sg::C10dCollective collective(*env, std::chrono::milliseconds(o.timeout_ms));
  const size_t synchronised = o.local ? 0 : sg::enable_sync_batch_norm(*net, collective);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(o.lr).momentum(o.momentum));
  net->train();
  std::vector<double> losses;
  for (int64_t s = 0; s < inputs.size(0); ++s) {
    const torch::Tensor x = inputs[s].chunk(env->world_size)[env->rank];
    const torch::Tensor y = targets[s].chunk(env->world_size)[env->rank];
    sgd.zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    collective.average_gradients(net->parameters(), {});
    sgd.step();
    losses.push_back(loss.item<double>());
  }
  pth::Value doc = pth::Value::dict();
  doc.as_dict().set("state_dict", sg::to_pth_state_dict(sg::state_dict(*net)));
  doc.as_dict().set("losses", sg::to_pth(torch::tensor(losses, torch::kFloat64)));
  doc.as_dict().set("synchronised", pth::Value::integer(int64_t(synchronised)));
  pth::write_checkpoint(o.out + "/rank" + std::to_string(env->rank) + ".pth", doc);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tool_main("sg_sync_bn_probe", [&] { return parse(argc, argv); }, run);
}
