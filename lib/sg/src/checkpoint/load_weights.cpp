#include "sg/checkpoint/load_weights.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include <torch/torch.h>

#include "pth/checkpoint.hpp"
#include "pth/checkpoint_weights.hpp"
#include "pth/error.hpp"
#include "pth/message.hpp"
#include "pth/sg_layout.hpp"
#include "pth/tensor_data.hpp"
#include "sg/checkpoint/tensor_convert.hpp"

namespace sg {
namespace {

constexpr size_t kListed = 8;   // names listed per category before "and N more"

bool under(const std::string& name, const std::string& prefix) {
  return name == prefix || name.compare(0, prefix.size() + 1, prefix + ".") == 0;
}

std::string list_names(const std::vector<std::string>& names) { return pth::listed(names, kListed); }

// One line: the failure, then every key involved, parts joined with "; ".
std::string failure_text(const pth::MatchReport& r, const std::string& head) {
  std::vector<std::string> parts;
  std::string failure = r.failure.empty() ? std::string("the weights do not fit the model") : r.failure;
  const std::string cli = " (--strict on)";   // pth's wording for sg-ckpt-adapt; here it is strict_load
  if (auto at = failure.find(cli); at != std::string::npos) failure.erase(at, cli.size());
  parts.push_back(failure);
  if (!r.mismatched.empty()) {
    std::vector<std::string> items;
    for (const pth::ShapeMismatch& m : r.mismatched) {
      std::string s = m.target + " " + pth::shape_text(m.target_shape) + " in the model vs ";
      if (m.source != m.target) s += m.source + " ";
      items.push_back(s + pth::shape_text(m.source_shape) + " in the checkpoint");
    }
    parts.push_back("shape mismatch: " + list_names(items));
  }
  if (!r.missing.empty()) parts.push_back("missing: " + list_names(r.missing));
  if (!r.unexpected.empty()) parts.push_back("unexpected: " + list_names(r.unexpected));
  // Only the head differs in shape: the checkpoint has another class count.
  const bool head_only = !r.mismatched.empty() && std::all_of(r.mismatched.begin(), r.mismatched.end(), [&](const auto& m) {
    return under(m.target, head);
  });
  if (head_only) {
    const pth::ShapeMismatch& m = r.mismatched.front();
    if (!m.source_shape.empty())
      parts.push_back("the checkpoint's head has " + std::to_string(m.source_shape.front()) +
                      " classes: set checkpoint_params.checkpoint_num_classes=" + std::to_string(m.source_shape.front()) +
                      " to load it and replace the head");
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// Where the file's bytes can land as they are (CPU, contiguous, same dtype).
bool takes_bytes_directly(const torch::Tensor& target, const pth::Tensor& source) {
  return target.device().is_cpu() && target.is_contiguous() && target.scalar_type() == to_torch_dtype(source.dtype);
}

}  // namespace

void copy_tensor_into(torch::Tensor& target, const pth::Tensor& source) {
  torch::NoGradGuard no_grad;
  if (takes_bytes_directly(target, source)) {
    pth::copy_elements(source, target.data_ptr());
  } else {
    target.copy_(to_torch(source));
  }
}

pth::MatchReport load_state_dict_into(Classifier& model, const pth::Value& state_dict, pth::StrictMode mode,
                                      bool backbone_only) {
  if (!state_dict.is_dict()) throw CheckpointLoadError("the weights are not a dict of tensors");
  const std::string head = model.head_name();
  const size_t prefix = pth::ddp_prefix_length(state_dict.as_dict());

  std::vector<pth::KeyEntry> source;
  std::unordered_map<std::string, const pth::Tensor*> source_tensors;
  std::vector<std::string> not_tensors;
  for (const auto& [key, value] : state_dict.as_dict().items) {
    const std::string name = pth::key_to_string(key);
    if (backbone_only && under(name.substr(prefix), head)) continue;
    if (!value.is_tensor()) {
      not_tensors.push_back(name);
      continue;
    }
    const pth::Tensor& t = *value.as_tensor();
    source.push_back({name, t.dtype, t.shape});
    source_tensors.emplace(name, &t);
  }
  if (!not_tensors.empty())
    throw CheckpointLoadError("not a state dict: entries that are not tensors: " + list_names(not_tensors));

  NamedTensors targets;
  for (auto& [name, tensor] : sg::state_dict(model))
    if (!(backbone_only && under(name, head))) targets.emplace_back(name, tensor);
  std::vector<pth::KeyEntry> target;
  target.reserve(targets.size());
  for (const auto& [name, tensor] : targets) target.push_back({name, to_pth_dtype(tensor.scalar_type()), tensor.sizes().vec()});

  pth::MatchReport report = pth::match_keys(source, target, mode);
  if (!report.ok) throw CheckpointLoadError(failure_text(report, head));

  std::unordered_map<std::string, torch::Tensor*> by_name;
  for (auto& [name, tensor] : targets) by_name.emplace(name, &tensor);
  // Straight copies go on several threads together; conversions one by one after them.
  std::vector<pth::ElementCopy> direct;
  std::vector<std::pair<torch::Tensor*, const pth::Tensor*>> converted;
  for (const pth::KeyPair& pair : report.mapping) {
    torch::Tensor* target = by_name.at(pair.target);
    const pth::Tensor* source = source_tensors.at(pair.source);
    if (takes_bytes_directly(*target, *source)) {
      direct.push_back({source, target->data_ptr()});
    } else {
      converted.emplace_back(target, source);
    }
  }
  pth::copy_elements(direct);
  for (const auto& [target, source] : converted) copy_tensor_into(*target, *source);
  return report;
}

pth::MatchReport load_checkpoint_weights(Classifier& model, const std::string& path, pth::StrictMode mode,
                                         bool backbone_only, const std::string& key, std::string* weights_used) {
  pth::Checkpoint ckpt;
  try {
    ckpt = pth::read_checkpoint(path);
  } catch (const std::exception& e) {
    throw CheckpointLoadError("cannot read checkpoint " + path + ": " + e.what());
  }
  pth::ChosenWeights weights;
  try {
    weights = pth::choose_weights(ckpt.root, key, pth::WeightsChoice::PreferEma);
  } catch (const pth::WeightsKeyError& e) {
    throw CheckpointLoadError("cannot load " + path + ": " + e.what());
  }
  if (weights_used) *weights_used = pth::describe_weights(weights);
  try {
    return load_state_dict_into(model, weights.weights, mode, backbone_only);
  } catch (const pth::FileDataError& e) {   // the weights' data failed its CRC, or the file changed
    throw CheckpointLoadError("cannot read checkpoint " + e.file() + ": " + e.what());
  } catch (const CheckpointLoadError& e) {
    std::string what = "cannot load " + path;
    if (!weights.key.empty()) what += " (" + weights.key + ")";
    what += backbone_only ? " into the model's backbone" : " into the model";
    what += " with strict_load=" + std::string(pth::strict_mode_name(mode)) + ": " + e.what();
    throw CheckpointLoadError(what);
  }
}

}  // namespace sg
