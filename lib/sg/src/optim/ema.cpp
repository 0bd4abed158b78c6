#include "sg/optim/ema.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <utility>

#include <torch/torch.h>

namespace sg {

namespace {

bool known_decay_type(const std::string& t) { return t == "constant" || t == "threshold" || t == "exp"; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += "; ";
    out += s;
  }
  return out;
}

// Problems found pairing `ours` (the EMA's layout) with `theirs` by name.
std::vector<std::string> layout_problems(const NamedTensors& ours, const std::map<std::string, torch::Tensor>& theirs,
                                         bool check_dtype) {
  std::vector<std::string> problems;
  std::map<std::string, const torch::Tensor*> mine;
  for (const auto& [name, t] : ours) mine.emplace(name, &t);
  for (const auto& [name, t] : ours) {
    auto it = theirs.find(name);
    if (it == theirs.end()) {
      problems.push_back("missing key '" + name + "'");
    } else if (it->second.sizes() != t.sizes()) {
      problems.push_back("'" + name + "': shape " + c10::str(it->second.sizes()) + ", expected " + c10::str(t.sizes()));
    } else if (check_dtype && it->second.scalar_type() != t.scalar_type()) {
      problems.push_back("'" + name + "': dtype " + std::string(c10::toString(it->second.scalar_type())) + ", expected " +
                         c10::toString(t.scalar_type()));
    }
  }
  for (const auto& [name, t] : theirs) {
    if (!mine.count(name)) problems.push_back("unexpected key '" + name + "'");
  }
  return problems;
}

std::map<std::string, torch::Tensor> by_name(const NamedTensors& tensors) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : tensors) out.emplace(name, t);
  return out;
}

}  // namespace

double ema_decay(const std::string& decay_type, double decay, double beta, int64_t step, int64_t total_steps) {
  if (decay_type == "constant") return decay;
  if (decay_type == "threshold") {
    // np.minimum(decay, (1 + step) / (10 + step)), true division in float64.
    return std::min(decay, (1.0 + double(step)) / (10.0 + double(step)));
  }
  if (decay_type == "exp") {
    if (total_steps <= 0) throw std::invalid_argument("EMA decay_type 'exp' needs total_steps > 0");
    const double x = double(step) / double(total_steps);
    return decay * (1.0 - std::exp(-x * beta));
  }
  throw std::invalid_argument("unknown EMA decay_type '" + decay_type + "' (known: constant, threshold, exp)");
}

ModelEMA::ModelEMA(const torch::nn::Module& model, double decay, std::string decay_type, double beta,
                   int64_t total_steps, std::shared_ptr<torch::nn::Module> holder)
    : decay_(decay), decay_type_(std::move(decay_type)), beta_(beta), total_steps_(total_steps),
      holder_(std::move(holder)) {
  if (!known_decay_type(decay_type_)) {
    throw std::invalid_argument("unknown EMA decay_type '" + decay_type_ + "' (known: constant, threshold, exp)");
  }
  torch::NoGradGuard no_grad;
  const NamedTensors source = sg::state_dict(model);
  if (holder_) {
    for (auto& p : holder_->parameters()) p.requires_grad_(false);
    state_ = sg::state_dict(*holder_);
    const auto problems = layout_problems(state_, by_name(source), /*check_dtype=*/true);
    if (!problems.empty()) throw std::invalid_argument("EMA holder does not fit the model: " + join(problems));
    // Same layout by name; SG pairs entries by position, so insist on the same order too.
    for (size_t i = 0; i < state_.size(); ++i) {
      if (state_[i].first != source[i].first) {
        throw std::invalid_argument("EMA holder's state order differs from the model's at '" + state_[i].first + "'");
      }
      if (state_[i].second.device() != source[i].second.device()) {
        throw std::invalid_argument("EMA holder is not on the model's device ('" + state_[i].first + "')");
      }
      state_[i].second.copy_(source[i].second);
    }
  } else {
    state_.reserve(source.size());
    for (const auto& [name, t] : source) state_.emplace_back(name, t.detach().clone());
  }
  for (size_t i = 0; i < state_.size(); ++i) {
    if (torch::isFloatingType(state_[i].second.scalar_type())) {
      float_index_.push_back(i);
      float_ema_.push_back(state_[i].second);
    }
  }
}

double ModelEMA::decay_at(int64_t step, int64_t total_steps) const {
  return ema_decay(decay_type_, decay_, beta_, step, total_steps);
}

void ModelEMA::update(const torch::nn::Module& model, int64_t step, int64_t total_steps) {
  const double d = decay_at(step, total_steps);
  torch::NoGradGuard no_grad;
  const NamedTensors current = sg::state_dict(model);
  if (current.size() != state_.size()) {
    throw std::invalid_argument("EMA update: the model has " + std::to_string(current.size()) +
                                " state entries, the EMA " + std::to_string(state_.size()));
  }
  std::vector<torch::Tensor> model_float;
  model_float.reserve(float_index_.size());
  for (size_t i : float_index_) model_float.push_back(current[i].second.detach());
  if (!float_ema_.empty()) {
    // SG: ema_v.copy_(ema_v * decay + (1.0 - decay) * model_v), the same three roundings.
    torch::_foreach_mul_(float_ema_, d);
    const std::vector<torch::Tensor> scaled = torch::_foreach_mul(model_float, 1.0 - d);
    torch::_foreach_add_(float_ema_, scaled);
  }
  ++updates_;
}

void ModelEMA::update(const torch::nn::Module& model) { update(model, updates_ + 1, total_steps_); }

void ModelEMA::load(const NamedTensors& tensors) {
  const auto theirs = by_name(tensors);
  const auto problems = layout_problems(state_, theirs, /*check_dtype=*/false);
  if (!problems.empty()) throw std::invalid_argument("EMA state does not fit the model: " + join(problems));
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : state_) t.copy_(theirs.at(name));
}

void ModelEMA::load(const pth::Value& state_dict) {
  if (!state_dict.is_dict()) throw std::invalid_argument("EMA state is not a dict");
  std::vector<std::string> names;
  std::vector<const pth::Tensor*> sources;
  for (const auto& [key, value] : state_dict.as_dict().items) {
    names.push_back(pth::key_to_string(key));
    if (!value.is_tensor()) throw std::invalid_argument("EMA state entry '" + names.back() + "' is not a tensor");
    sources.push_back(value.as_tensor().get());
  }
  std::vector<torch::Tensor> loaded = sg::to_torch_all(sources);
  NamedTensors tensors;
  for (size_t i = 0; i < names.size(); ++i) tensors.emplace_back(std::move(names[i]), std::move(loaded[i]));
  load(tensors);
}

void ModelEMA::copy_to(torch::nn::Module& model) const {
  const NamedTensors target = sg::state_dict(model);
  const auto problems = layout_problems(target, by_name(state_), /*check_dtype=*/false);
  if (!problems.empty()) throw std::invalid_argument("EMA state does not fit the model: " + join(problems));
  const auto mine = by_name(state_);
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : target) t.copy_(mine.at(name));
}

}  // namespace sg
