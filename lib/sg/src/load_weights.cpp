#include "sg/load_weights.hpp"

#include <map>

#include <torch/torch.h>

#include "pth/tensor_data.hpp"
#include "sg/tensor_convert.hpp"

namespace sg {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) { return c10::str(c10::IntArrayRef(shape)); }

// Lists at most a few names, then how many more.
std::string some(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 5) out += " and " + std::to_string(names.size() - 5) + " more";
  return out;
}

}  // namespace

void copy_tensor_into(torch::Tensor& target, const pth::Tensor& source) {
  torch::NoGradGuard no_grad;
  if (target.device().is_cpu() && target.is_contiguous() && target.scalar_type() == to_torch_dtype(source.dtype)) {
    pth::copy_elements(source, target.data_ptr());
  } else {
    target.copy_(to_torch(source));
  }
}

void load_state_dict(torch::nn::Module& module, const pth::Value& state_dict) {
  if (!state_dict.is_dict()) throw WeightsMismatch("the state dict is not a dict");
  const auto& items = state_dict.as_dict().items;
  const bool prefixed = !items.empty() && std::all_of(items.begin(), items.end(), [](const auto& kv) {
    return kv.first.is_string() && kv.first.as_string().rfind("module.", 0) == 0;
  });
  std::map<std::string, const pth::Tensor*> source;
  std::vector<std::string> unexpected, missing, mismatched;
  for (const auto& [key, value] : items) {
    const std::string name = key_to_string(key).substr(prefixed ? 7 : 0);
    if (!value.is_tensor()) {
      unexpected.push_back(name + " (not a tensor)");
      continue;
    }
    source.emplace(name, value.as_tensor().get());
  }
  NamedTensors targets = sg::state_dict(module);
  for (const auto& [name, target] : targets) {
    auto found = source.find(name);
    if (found == source.end()) {
      missing.push_back(name);
      continue;
    }
    if (found->second->shape != target.sizes().vec())
      mismatched.push_back(name + " " + shape_text(found->second->shape) + " vs model " + shape_text(target.sizes().vec()));
    source.erase(found);
  }
  for (const auto& [name, tensor] : source) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string why = "the checkpoint does not fit the model:";
    if (!missing.empty()) why += " missing " + some(missing) + ";";
    if (!unexpected.empty()) why += " unexpected " + some(unexpected) + ";";
    if (!mismatched.empty()) why += " shape mismatch " + some(mismatched) + ";";
    why.pop_back();
    throw WeightsMismatch(why);
  }
  for (auto& [name, target] : targets) {
    const pth::Value* v = state_dict.as_dict().find(prefixed ? "module." + name : name);
    copy_tensor_into(target, *v->as_tensor());
  }
}

}  // namespace sg
