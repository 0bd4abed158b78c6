#include "sg/optim/optimizer.hpp"

#include <torch/torch.h>

#include "pth/error.hpp"
#include "sg/checkpoint/tensor_convert.hpp"

namespace sg {
namespace {

using pth::Value;

Value number(double v) { return Value::floating(v); }

bool is_adam(const std::string& name) { return name == "Adam" || name == "AdamW"; }

// Param-group keys exactly as PyTorch 1.13 writes them for each optimizer.
Value param_group(const OptimizerConfig& c, double lr, size_t parameter_count) {
  Value g = Value::dict();
  auto& d = g.as_dict();
  d.set("lr", number(lr));
  if (c.name == "SGD") {
    d.set("momentum", number(c.momentum));
    d.set("dampening", number(c.dampening));
    d.set("weight_decay", number(c.weight_decay));
    d.set("nesterov", Value::boolean(c.nesterov));
  } else {
    d.set("betas", Value::tuple({number(c.beta1), number(c.beta2)}));
    d.set("eps", number(c.eps));
    d.set("weight_decay", number(c.weight_decay));
    d.set("amsgrad", Value::boolean(c.amsgrad));
  }
  d.set("maximize", Value::boolean(false));
  d.set("foreach", Value::none());
  if (is_adam(c.name)) d.set("capturable", Value::boolean(false));
  d.set("differentiable", Value::boolean(false));
  if (is_adam(c.name)) d.set("fused", Value::boolean(false));
  pth::List params;
  for (size_t i = 0; i < parameter_count; ++i) params.push_back(Value::integer(int64_t(i)));
  d.set("params", Value::list(std::move(params)));
  return g;
}

const Value& require(const pth::Dict& d, const std::string& key, const std::string& where) {
  const Value* v = d.find(key);
  if (!v) throw std::runtime_error(where + ": missing '" + key + "'");
  return *v;
}

torch::Tensor tensor_of(const Value& v, const torch::Tensor& like, const std::string& where) {
  if (!v.is_tensor()) throw std::runtime_error(where + " is not a tensor");
  torch::Tensor t = to_torch(*v.as_tensor());
  if (t.sizes() != like.sizes())
    throw std::runtime_error(where + " has shape " + c10::str(t.sizes()) + ", parameter has " + c10::str(like.sizes()));
  return t.to(like.options());
}

// Adam's step count: PyTorch 1.13+ saves a 0-dim float tensor, older ones an int.
int64_t step_of(const Value& v) {
  if (v.is_int()) return v.as_int();
  if (v.is_float()) return int64_t(v.as_number());
  if (v.is_tensor()) return to_torch(*v.as_tensor()).item<double>();
  throw std::runtime_error("optimizer step is neither a number nor a tensor");
}

// Adam and AdamW take the same settings.
template <typename AdamLike, typename Options>
std::unique_ptr<torch::optim::Optimizer> make_adam(const OptimizerConfig& c, const std::vector<torch::Tensor>& params) {
  return std::make_unique<AdamLike>(
      params, Options(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay).amsgrad(c.amsgrad));
}

}  // namespace

Optimizer::Optimizer(const OptimizerConfig& config, std::vector<torch::Tensor> parameters)
    : config_(config), parameters_(std::move(parameters)) {
  if (config.name == "SGD") {
    optimizer_ = std::make_unique<torch::optim::SGD>(
        parameters_, torch::optim::SGDOptions(config.lr)
                         .momentum(config.momentum)
                         .dampening(config.dampening)
                         .nesterov(config.nesterov)
                         .weight_decay(config.weight_decay));
  } else if (config.name == "Adam") {
    optimizer_ = make_adam<torch::optim::Adam, torch::optim::AdamOptions>(config, parameters_);
  } else if (config.name == "AdamW") {
    optimizer_ = make_adam<torch::optim::AdamW, torch::optim::AdamWOptions>(config, parameters_);
  } else {
    throw std::invalid_argument("unknown optimizer '" + config.name + "' (known: SGD, Adam, AdamW)");
  }
}

void Optimizer::set_lr(double lr) {
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
}

double Optimizer::lr() const { return optimizer_->param_groups().front().options().get_lr(); }

void Optimizer::set_momentum(double momentum) {
  for (auto& group : optimizer_->param_groups()) {
    auto& options = group.options();
    if (config_.name == "SGD") {
      static_cast<torch::optim::SGDOptions&>(options).momentum(momentum);
    } else if (config_.name == "Adam") {
      auto& adam = static_cast<torch::optim::AdamOptions&>(options);
      adam.betas({momentum, std::get<1>(adam.betas())});
    } else {
      auto& adamw = static_cast<torch::optim::AdamWOptions&>(options);
      adamw.betas({momentum, std::get<1>(adamw.betas())});
    }
  }
}

pth::Value Optimizer::state_dict() const {
  Value state = Value::dict();
  const auto& all_state = optimizer_->state();
  for (size_t i = 0; i < parameters_.size(); ++i) {
    auto found = all_state.find(c10::guts::to_string(parameters_[i].unsafeGetTensorImpl()));
    if (found == all_state.end()) continue;
    Value entry = Value::dict();
    auto& e = entry.as_dict();
    if (config_.name == "SGD") {
      const auto& s = static_cast<const torch::optim::SGDParamState&>(*found->second);
      if (!s.momentum_buffer().defined()) continue;
      e.set("momentum_buffer", to_pth(s.momentum_buffer()));
    } else {
      auto write_adam = [&](const auto& s) {
        e.set("step", to_pth(torch::tensor(double(s.step()), torch::kFloat32)));
        e.set("exp_avg", to_pth(s.exp_avg()));
        e.set("exp_avg_sq", to_pth(s.exp_avg_sq()));
        if (config_.amsgrad && s.max_exp_avg_sq().defined()) e.set("max_exp_avg_sq", to_pth(s.max_exp_avg_sq()));
      };
      if (config_.name == "Adam") write_adam(static_cast<const torch::optim::AdamParamState&>(*found->second));
      else write_adam(static_cast<const torch::optim::AdamWParamState&>(*found->second));
    }
    state.as_dict().set(Value::integer(int64_t(i)), entry);
  }
  Value root = Value::dict();
  root.as_dict().set("state", state);
  Value group = param_group(config_, lr(), parameters_.size());
  for (const auto& [key, value] : group_extras_) group.as_dict().set(Value::string(key), value);
  root.as_dict().set("param_groups", Value::list({group}));
  return root;
}

void Optimizer::load_state_dict(const pth::Value& saved) {
  if (!saved.is_dict()) throw std::runtime_error("optimizer_state_dict is not a dict");
  const auto& groups = require(saved.as_dict(), "param_groups", "optimizer_state_dict");
  size_t saved_params = 0;
  for (const Value& g : groups.items()) saved_params += require(g.as_dict(), "params", "param group").items().size();
  if (saved_params != parameters_.size())
    throw std::runtime_error("optimizer_state_dict has " + std::to_string(saved_params) + " parameters, the model has " +
                             std::to_string(parameters_.size()));
  auto& all_state = optimizer_->state();
  for (const auto& [key, entry] : require(saved.as_dict(), "state", "optimizer_state_dict").as_dict().items) {
    if (!key.is_int() || key.as_int() < 0 || size_t(key.as_int()) >= parameters_.size())
      throw std::runtime_error("optimizer state key is not a parameter index");
    const torch::Tensor& p = parameters_[size_t(key.as_int())];
    const std::string where = "optimizer state " + std::to_string(key.as_int());
    const auto& e = entry.as_dict();
    const std::string id = c10::guts::to_string(p.unsafeGetTensorImpl());
    if (config_.name == "SGD") {
      auto s = std::make_unique<torch::optim::SGDParamState>();
      if (const Value* buf = e.find("momentum_buffer"); buf && !buf->is_none())
        s->momentum_buffer(tensor_of(*buf, p, where + " momentum_buffer"));
      all_state[id] = std::move(s);
      continue;
    }
    auto fill = [&](auto s) {
      s->step(step_of(require(e, "step", where)));
      s->exp_avg(tensor_of(require(e, "exp_avg", where), p, where + " exp_avg"));
      s->exp_avg_sq(tensor_of(require(e, "exp_avg_sq", where), p, where + " exp_avg_sq"));
      if (const Value* m = e.find("max_exp_avg_sq")) s->max_exp_avg_sq(tensor_of(*m, p, where + " max_exp_avg_sq"));
      all_state[id] = std::move(s);
    };
    if (config_.name == "Adam") fill(std::make_unique<torch::optim::AdamParamState>());
    else fill(std::make_unique<torch::optim::AdamWParamState>());
  }
  const Value& lr = require(groups.items().front().as_dict(), "lr", "param group");
  set_lr(lr.as_number());
}

}  // namespace sg
