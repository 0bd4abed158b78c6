#include "sg/optim/grad_scaler.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

namespace sg {

namespace {

std::vector<torch::Tensor> optimizer_params(torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> params;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) params.push_back(p);
  }
  return params;
}

const pth::Value& require(const pth::Dict& d, const char* key) {
  const pth::Value* v = d.find(key);
  if (v == nullptr) throw std::invalid_argument(std::string("scaler state has no '") + key + "'");
  return *v;
}

}  // namespace

GradScaler::GradScaler(bool enabled, const GradScalerOptions& options)
    : enabled_(enabled), options_(options), scale_(static_cast<float>(options.init_scale)) {
  if (enabled_) {
    if (!(options_.init_scale > 0) || !(options_.growth_factor > 1.0) || !(options_.backoff_factor < 1.0) ||
        !(options_.backoff_factor > 0) || options_.growth_interval <= 0) {
      // PyTorch asserts growth_factor > 1, backoff_factor < 1 and an int growth_interval.
      throw std::invalid_argument("GradScaler: need init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, "
                                  "growth_interval > 0");
    }
  }
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const {
  if (!enabled_) return loss;
  // PyTorch multiplies by a float32 one-element tensor; the scale is a power of two times
  // the initial value, so a float32 scalar gives the same values (and keeps the shape).
  return loss * torch::scalar_tensor(scale_, loss.options().dtype(torch::kFloat32));
}

bool GradScaler::unscale_and_check(const std::vector<torch::Tensor>& params) {
  if (!enabled_) return true;
  if (checked_) {
    throw std::logic_error("GradScaler: unscale_() has already been called on this optimizer since the last update()");
  }
  // inv_scale = self._scale.double().reciprocal().float()
  const float inv_scale = static_cast<float>(1.0 / double(scale_));
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    const torch::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (g.scalar_type() == torch::kHalf) throw std::invalid_argument("GradScaler: attempting to unscale FP16 gradients");
    grads.push_back(g);
  }
  bool found = false;
  torch::NoGradGuard no_grad;
  if (!grads.empty() && grads.front().is_cuda()) {
    // PyTorch's fused kernel (CUDA only in 1.13), grouped by device as PyTorch does.
    std::vector<std::pair<c10::Device, std::vector<torch::Tensor>>> per_device;
    for (auto& g : grads) {
      auto it = std::find_if(per_device.begin(), per_device.end(), [&](const auto& e) { return e.first == g.device(); });
      if (it == per_device.end()) it = per_device.insert(per_device.end(), {g.device(), {}});
      it->second.push_back(g);
    }
    for (auto& [device, list] : per_device) {
      auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
      torch::Tensor found_inf = torch::zeros({1}, opts);
      torch::Tensor inv = torch::full({1}, inv_scale, opts);
      if (device.is_cuda()) {
        torch::_amp_foreach_non_finite_check_and_unscale_(list, found_inf, inv);
        found = found || found_inf.item<float>() != 0.0f;
      } else {
        for (auto& g : list) {
          if (!torch::isfinite(g).all().item<bool>()) found = true;
          g.mul_(inv_scale);
        }
      }
    }
  } else {
    for (auto& g : grads) {
      // Check first, then unscale (the kernel's order).
      if (!torch::isfinite(g).all().item<bool>()) found = true;
      g.mul_(inv_scale);
    }
  }
  checked_ = true;
  found_inf_ = found;
  return !found;
}

bool GradScaler::unscale_(torch::optim::Optimizer& optimizer) { return unscale_and_check(optimizer_params(optimizer)); }

bool GradScaler::step(torch::optim::Optimizer& optimizer) { return step(optimizer, optimizer_params(optimizer)); }

bool GradScaler::step(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& params) {
  if (!enabled_) {
    optimizer.step();
    return true;
  }
  if (!checked_) unscale_and_check(params);
  if (found_inf_) return false;
  optimizer.step();
  return true;
}

void GradScaler::update() {
  if (!enabled_) return;
  if (!checked_) throw std::logic_error("GradScaler: no inf checks were recorded prior to update()");
  // torch._amp_update_scale_: arithmetic in double on the float32 scale, stored as float32.
  if (found_inf_) {
    scale_ = static_cast<float>(double(scale_) * options_.backoff_factor);
    growth_tracker_ = 0;
  } else {
    const int64_t successful = int64_t(growth_tracker_) + 1;
    if (successful == options_.growth_interval) {
      const float grown = static_cast<float>(double(scale_) * options_.growth_factor);
      if (std::isfinite(grown)) scale_ = grown;
      growth_tracker_ = 0;
    } else {
      growth_tracker_ = static_cast<int32_t>(successful);
    }
  }
  checked_ = false;
  found_inf_ = false;
}

pth::Value GradScaler::state_dict() const {
  pth::Value d = pth::Value::dict();
  if (!enabled_) return d;
  auto& dict = d.as_dict();
  dict.set("scale", pth::Value::floating(double(scale_)));
  dict.set("growth_factor", pth::Value::floating(options_.growth_factor));
  dict.set("backoff_factor", pth::Value::floating(options_.backoff_factor));
  dict.set("growth_interval", pth::Value::integer(options_.growth_interval));
  dict.set("_growth_tracker", pth::Value::integer(growth_tracker_));
  return d;
}

void GradScaler::load_state_dict(const pth::Value& state) {
  if (!enabled_) return;
  if (!state.is_dict()) throw std::invalid_argument("scaler state is not a dict");
  const pth::Dict& d = state.as_dict();
  if (d.items.empty()) {
    throw std::runtime_error(
        "The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler.");
  }
  const double scale = require(d, "scale").as_number();
  const double growth = require(d, "growth_factor").as_number();
  const double backoff = require(d, "backoff_factor").as_number();
  const int64_t interval = require(d, "growth_interval").as_int();
  const int64_t tracker = require(d, "_growth_tracker").as_int();
  if (!(scale > 0) || !std::isfinite(scale) || interval <= 0 || tracker < 0 || tracker > INT32_MAX) {
    throw std::invalid_argument("scaler state out of range (scale " + std::to_string(scale) + ", growth_interval " +
                                std::to_string(interval) + ", _growth_tracker " + std::to_string(tracker) + ")");
  }
  scale_ = static_cast<float>(scale);
  options_.init_scale = scale;
  options_.growth_factor = growth;
  options_.backoff_factor = backoff;
  options_.growth_interval = interval;
  growth_tracker_ = static_cast<int32_t>(tracker);
}

}  // namespace sg
