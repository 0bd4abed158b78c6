// sg_model_dump: our models against Python's, for test/python/test_model_parity.py.
//
//   sg_model_dump ARCH NUM_CLASSES OUT.pth [INPUT.pth]
//       Builds ARCH (torch::manual_seed(0)) and writes OUT.pth = {"state_dict": the model's
//       state dict (an OrderedDict, as Python's module.state_dict()), "input": the input,
//       "logits": eval-mode logits for it}. The input is INPUT.pth's "input" tensor when
//       given, else a fixed randn tensor (2, C, 64, 64) (32x32 for resnet18_cifar, 28x28
//       for resnet_mini); C = 1 for resnet_mini, else 3.
//   sg_model_dump --load ARCH NUM_CLASSES IN.pth OUT.pth
//       Loads IN.pth's "state_dict" into ARCH strictly (same keys, same shapes; dtypes must
//       match too) and writes OUT.pth = {"logits": eval-mode logits for IN.pth's "input"}.
//
// Exit codes: 0 written; 1 the state dict does not fit the model (one line per problem
// on stderr); 2 usage or input error (one line: "sg_model_dump: error: ...").
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "cli_numbers.hpp"
#include "pth/checkpoint.hpp"
#include "pth/value.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/models/model.hpp"

namespace {

sg::ModelOptions options_for(const std::string& arch, int64_t num_classes) {
  sg::ModelOptions o;
  o.num_classes = num_classes;
  o.in_channels = arch == "resnet_mini" ? 1 : 3;
  return o;
}

torch::Tensor default_input(const std::string& arch, int64_t in_channels) {
  const int64_t side = arch == "resnet18_cifar" ? 32 : arch == "resnet_mini" ? 28 : 64;
  torch::manual_seed(1234);
  return torch::randn({2, in_channels, side, side});
}

const pth::Value& get(const pth::Value& root, const std::string& key, const std::string& path) {
  if (!root.is_dict()) throw UsageError(path + ": top level is not a dict");
  const pth::Value* v = root.as_dict().find(key);
  if (v == nullptr) throw UsageError(path + ": no key '" + key + "'");
  return *v;
}

torch::Tensor get_tensor(const pth::Value& root, const std::string& key, const std::string& path) {
  const pth::Value& v = get(root, key, path);
  if (!v.is_tensor()) throw UsageError(path + ": '" + key + "' is not a tensor");
  return sg::to_torch(*v.as_tensor());
}

torch::Tensor eval_logits(sg::Classifier& model, const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  model.eval();
  return model.forward(input).contiguous();
}

void write(const std::string& path, const std::vector<std::pair<std::string, pth::Value>>& items) {
  pth::Value root = pth::Value::dict();
  for (const auto& [k, v] : items) root.as_dict().set(pth::Value::string(k), v);
  pth::write_checkpoint(path, root);
}

int dump(const std::string& arch, int64_t num_classes, const std::string& out, const std::string& input_path) {
  const sg::ModelOptions options = options_for(arch, num_classes);
  torch::manual_seed(0);
  auto model = sg::create_model(arch, options);
  torch::Tensor input;
  if (!input_path.empty()) {
    input = get_tensor(pth::read_checkpoint(input_path).root, "input", input_path);
  } else {
    input = default_input(arch, options.in_channels);
  }
  const torch::Tensor logits = eval_logits(*model, input);
  write(out, {{"state_dict", sg::to_pth_state_dict(sg::state_dict(*model))},
              {"input", sg::to_pth(input)},
              {"logits", sg::to_pth(logits)}});
  return 0;
}

int load(const std::string& arch, int64_t num_classes, const std::string& in, const std::string& out) {
  const pth::Checkpoint ckpt = pth::read_checkpoint(in);
  const pth::Value& sd = get(ckpt.root, "state_dict", in);
  if (!sd.is_dict()) throw UsageError(in + ": 'state_dict' is not a dict");
  const torch::Tensor input = get_tensor(ckpt.root, "input", in);

  auto model = sg::create_model(arch, options_for(arch, num_classes));
  std::map<std::string, torch::Tensor> ours;
  for (const auto& [name, tensor] : sg::state_dict(*model)) ours.emplace(name, tensor);

  std::vector<std::string> problems;
  std::map<std::string, torch::Tensor> theirs;
  for (const auto& [key, value] : sd.as_dict().items) {
    const std::string name = pth::key_to_string(key);
    if (!value.is_tensor()) {
      problems.push_back("'" + name + "' is not a tensor");
      continue;
    }
    theirs.emplace(name, sg::to_torch(*value.as_tensor()));
  }
  for (const auto& [name, t] : ours) {
    if (!theirs.count(name)) problems.push_back("missing key '" + name + "'");
  }
  for (const auto& [name, t] : theirs) {
    auto it = ours.find(name);
    if (it == ours.end()) {
      problems.push_back("unexpected key '" + name + "'");
    } else if (it->second.sizes() != t.sizes()) {
      problems.push_back("'" + name + "': shape " + c10::str(t.sizes()) + ", model has " +
                         c10::str(it->second.sizes()));
    } else if (it->second.scalar_type() != t.scalar_type()) {
      problems.push_back("'" + name + "': dtype " + std::string(c10::toString(t.scalar_type())) +
                         ", model has " + c10::toString(it->second.scalar_type()));
    }
  }
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "sg_model_dump: %s: %s\n", in.c_str(), p.c_str());
    return 1;
  }
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : ours) t.copy_(theirs.at(name));
  }
  write(out, {{"logits", sg::to_pth(eval_logits(*model, input))}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (!args.empty() && args[0] == "--load") {
      if (args.size() != 5) throw UsageError("usage: sg_model_dump --load ARCH NUM_CLASSES IN.pth OUT.pth");
      return load(args[1], parse_count(args[2], "NUM_CLASSES", 1), args[3], args[4]);
    }
    if (args.size() != 3 && args.size() != 4) {
      throw UsageError("usage: sg_model_dump ARCH NUM_CLASSES OUT.pth [INPUT.pth]");
    }
    return dump(args[0], parse_count(args[1], "NUM_CLASSES", 1), args[2], args.size() == 4 ? args[3] : "");
  } catch (const std::exception& e) {
    return print_error("sg_model_dump", e);
  }
}
