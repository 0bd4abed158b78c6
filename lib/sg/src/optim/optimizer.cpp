#include "sg/optim/optimizer.hpp"

#include <map>
#include <optional>

#include <torch/torch.h>

#include "optim/rmsprop_tf.hpp"
#include "sg/checkpoint/tensor_convert.hpp"

namespace sg {
namespace {

using pth::Value;
using Entries = std::vector<std::pair<std::string, Value>>;
using optim_detail::RMSpropTF;
using optim_detail::RMSpropTFOptions;
using optim_detail::RMSpropTFParamState;

enum class Kind { SGD, Adam, AdamW, RMSprop, RMSpropTF };

struct KindRow {
  const char* name;
  Kind kind;
};
const KindRow kKinds[] = {{"SGD", Kind::SGD},
                          {"Adam", Kind::Adam},
                          {"AdamW", Kind::AdamW},
                          {"RMSprop", Kind::RMSprop},
                          {"RMSpropTF", Kind::RMSpropTF}};

Kind kind_of(const std::string& name) {
  for (const KindRow& k : kKinds)
    if (name == k.name) return k.kind;
  throw std::invalid_argument("unknown optimizer '" + name + "' (known: " + optimizer_names() + ")");
}

Value number(double v) { return Value::floating(v); }

// The optimizer's own param-group keys, in the order of PyTorch 1.13's `defaults` (SG's for
// RMSpropTF), with this group's values.
Entries hyperparameters(Kind kind, const torch::optim::OptimizerOptions& options) {
  const Value no = Value::boolean(false);
  switch (kind) {
    case Kind::SGD: {
      const auto& o = static_cast<const torch::optim::SGDOptions&>(options);
      return {{"lr", number(o.lr())},          {"momentum", number(o.momentum())},
              {"dampening", number(o.dampening())}, {"weight_decay", number(o.weight_decay())},
              {"nesterov", Value::boolean(o.nesterov())}, {"maximize", no},
              {"foreach", Value::none()},      {"differentiable", no}};
    }
    case Kind::Adam: {
      const auto& o = static_cast<const torch::optim::AdamOptions&>(options);
      return {{"lr", number(o.lr())},
              {"betas", Value::tuple({number(std::get<0>(o.betas())), number(std::get<1>(o.betas()))})},
              {"eps", number(o.eps())},
              {"weight_decay", number(o.weight_decay())},
              {"amsgrad", Value::boolean(o.amsgrad())},
              {"maximize", no},
              {"foreach", Value::none()},
              {"capturable", no},
              {"differentiable", no},
              {"fused", no}};
    }
    case Kind::AdamW: {
      const auto& o = static_cast<const torch::optim::AdamWOptions&>(options);
      return {{"lr", number(o.lr())},
              {"betas", Value::tuple({number(std::get<0>(o.betas())), number(std::get<1>(o.betas()))})},
              {"eps", number(o.eps())},
              {"weight_decay", number(o.weight_decay())},
              {"amsgrad", Value::boolean(o.amsgrad())},
              {"foreach", Value::none()},
              {"maximize", no},
              {"capturable", no}};
    }
    case Kind::RMSprop: {
      const auto& o = static_cast<const torch::optim::RMSpropOptions&>(options);
      return {{"lr", number(o.lr())},       {"momentum", number(o.momentum())},
              {"alpha", number(o.alpha())}, {"eps", number(o.eps())},
              {"centered", Value::boolean(o.centered())}, {"weight_decay", number(o.weight_decay())},
              {"foreach", Value::none()},   {"maximize", no},
              {"differentiable", no}};
    }
    case Kind::RMSpropTF: {
      const auto& o = static_cast<const RMSpropTFOptions&>(options);
      return {{"lr", number(o.lr())},
              {"momentum", number(o.momentum())},
              {"alpha", number(o.alpha())},
              {"eps", number(o.eps())},
              {"centered", Value::boolean(o.centered())},
              {"weight_decay", number(o.weight_decay())},
              {"decoupled_decay", Value::boolean(o.decoupled_decay())},
              {"lr_in_momentum", Value::boolean(o.lr_in_momentum())}};
    }
  }
  return {};
}

std::unique_ptr<torch::optim::OptimizerOptions> make_options(Kind kind, const OptimizerConfig& c, double weight_decay) {
  switch (kind) {
    case Kind::SGD:
      return std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(c.lr)
                                                            .momentum(c.momentum)
                                                            .dampening(c.dampening)
                                                            .nesterov(c.nesterov)
                                                            .weight_decay(weight_decay));
    case Kind::Adam:
      return std::make_unique<torch::optim::AdamOptions>(
          torch::optim::AdamOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(weight_decay).amsgrad(c.amsgrad));
    case Kind::AdamW:
      return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(c.lr)
                                                              .betas({c.beta1, c.beta2})
                                                              .eps(c.eps)
                                                              .weight_decay(weight_decay)
                                                              .amsgrad(c.amsgrad));
    case Kind::RMSprop:
      return std::make_unique<torch::optim::RMSpropOptions>(torch::optim::RMSpropOptions(c.lr)
                                                                .alpha(c.alpha)
                                                                .eps(c.eps)
                                                                .weight_decay(weight_decay)
                                                                .momentum(c.momentum)
                                                                .centered(c.centered));
    case Kind::RMSpropTF:
      return std::make_unique<RMSpropTFOptions>(RMSpropTFOptions(c.lr)
                                                    .momentum(c.momentum)
                                                    .alpha(c.alpha)
                                                    .eps(c.eps)
                                                    .centered(c.centered)
                                                    .weight_decay(weight_decay)
                                                    .decoupled_decay(c.decoupled_decay)
                                                    .lr_in_momentum(c.lr_in_momentum));
  }
  return nullptr;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(Kind kind, const OptimizerConfig& c,
                                                        const std::vector<ParamGroupSpec>& specs) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const ParamGroupSpec& g : specs)
    groups.emplace_back(g.params, make_options(kind, c, g.no_weight_decay ? 0.0 : c.weight_decay));
  switch (kind) {
    case Kind::SGD:
      return std::make_unique<torch::optim::SGD>(std::move(groups), torch::optim::SGDOptions(c.lr));
    case Kind::Adam:
      return std::make_unique<torch::optim::Adam>(std::move(groups), torch::optim::AdamOptions(c.lr));
    case Kind::AdamW:
      return std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(c.lr));
    case Kind::RMSprop:
      return std::make_unique<torch::optim::RMSprop>(std::move(groups), torch::optim::RMSpropOptions(c.lr));
    case Kind::RMSpropTF:
      return std::make_unique<RMSpropTF>(std::move(groups), RMSpropTFOptions(c.lr));
  }
  return nullptr;
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

torch::Tensor optional_tensor(const pth::Dict& e, const std::string& key, const torch::Tensor& like,
                              const std::string& where) {
  const Value* v = e.find(key);
  if (v == nullptr || v->is_none()) return {};
  return tensor_of(*v, like, where + " " + key);
}

// A step count: PyTorch 1.13's Adam saves a 0-dim float tensor, RMSprop and older ones an int.
int64_t step_of(const Value& v) {
  if (v.is_int()) return v.as_int();
  if (v.is_float()) return int64_t(v.as_number());
  if (v.is_tensor()) return to_torch(*v.as_tensor()).item<double>();
  throw std::runtime_error("optimizer step is neither a number nor a tensor");
}

std::string key_of(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

// One parameter's state as Python's optimizer.state_dict() has it; nullopt when PyTorch would
// write nothing we keep (SGD without momentum).
std::optional<Value> write_state(Kind kind, const torch::optim::OptimizerParamState& state, bool amsgrad) {
  Value entry = Value::dict();
  auto& e = entry.as_dict();
  auto write_rmsprop = [&](const auto& s) {
    e.set("step", Value::integer(s.step()));
    e.set("square_avg", to_pth(s.square_avg()));
    if (s.momentum_buffer().defined()) e.set("momentum_buffer", to_pth(s.momentum_buffer()));
    if (s.grad_avg().defined()) e.set("grad_avg", to_pth(s.grad_avg()));
  };
  auto write_adam = [&](const auto& s) {
    e.set("step", to_pth(torch::tensor(double(s.step()), torch::kFloat32)));
    e.set("exp_avg", to_pth(s.exp_avg()));
    e.set("exp_avg_sq", to_pth(s.exp_avg_sq()));
    if (amsgrad && s.max_exp_avg_sq().defined()) e.set("max_exp_avg_sq", to_pth(s.max_exp_avg_sq()));
  };
  switch (kind) {
    case Kind::SGD: {
      const auto& s = static_cast<const torch::optim::SGDParamState&>(state);
      if (!s.momentum_buffer().defined()) return std::nullopt;
      e.set("momentum_buffer", to_pth(s.momentum_buffer()));
      break;
    }
    case Kind::Adam: write_adam(static_cast<const torch::optim::AdamParamState&>(state)); break;
    case Kind::AdamW: write_adam(static_cast<const torch::optim::AdamWParamState&>(state)); break;
    case Kind::RMSprop: write_rmsprop(static_cast<const torch::optim::RMSpropParamState&>(state)); break;
    case Kind::RMSpropTF: write_rmsprop(static_cast<const RMSpropTFParamState&>(state)); break;
  }
  return entry;
}

std::unique_ptr<torch::optim::OptimizerParamState> read_state(Kind kind, const pth::Dict& e, const torch::Tensor& p,
                                                              const std::string& where) {
  auto read_rmsprop = [&](auto s) {
    s->step(step_of(require(e, "step", where)));
    s->square_avg(tensor_of(require(e, "square_avg", where), p, where + " square_avg"));
    s->momentum_buffer(optional_tensor(e, "momentum_buffer", p, where));
    s->grad_avg(optional_tensor(e, "grad_avg", p, where));
    return std::unique_ptr<torch::optim::OptimizerParamState>(std::move(s));
  };
  auto read_adam = [&](auto s) {
    s->step(step_of(require(e, "step", where)));
    s->exp_avg(tensor_of(require(e, "exp_avg", where), p, where + " exp_avg"));
    s->exp_avg_sq(tensor_of(require(e, "exp_avg_sq", where), p, where + " exp_avg_sq"));
    if (torch::Tensor m = optional_tensor(e, "max_exp_avg_sq", p, where); m.defined()) s->max_exp_avg_sq(m);
    return std::unique_ptr<torch::optim::OptimizerParamState>(std::move(s));
  };
  switch (kind) {
    case Kind::SGD: {
      auto s = std::make_unique<torch::optim::SGDParamState>();
      if (torch::Tensor buf = optional_tensor(e, "momentum_buffer", p, where); buf.defined()) s->momentum_buffer(buf);
      return s;
    }
    case Kind::Adam: return read_adam(std::make_unique<torch::optim::AdamParamState>());
    case Kind::AdamW: return read_adam(std::make_unique<torch::optim::AdamWParamState>());
    case Kind::RMSprop: return read_rmsprop(std::make_unique<torch::optim::RMSpropParamState>());
    case Kind::RMSpropTF: return read_rmsprop(std::make_unique<RMSpropTFParamState>());
  }
  return nullptr;
}

// Adam's and AdamW's beta1, and beta2 when given.
void set_betas(Kind kind, torch::optim::OptimizerOptions& options, double beta1, std::optional<double> beta2) {
  auto set = [&](auto& o) { o.betas({beta1, beta2.value_or(std::get<1>(o.betas()))}); };
  if (kind == Kind::Adam) set(static_cast<torch::optim::AdamOptions&>(options));
  else set(static_cast<torch::optim::AdamWOptions&>(options));
}

}  // namespace

std::string optimizer_names() {
  std::string out;
  for (const KindRow& k : kKinds) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

bool is_optimizer(const std::string& name) {
  for (const KindRow& k : kKinds)
    if (name == k.name) return true;
  return false;
}

OptimizerConfig optimizer_defaults(const std::string& name) {
  OptimizerConfig c;
  c.name = name;
  switch (kind_of(name)) {
    case Kind::SGD: c.momentum = 0.9; c.weight_decay = 1e-4; break;
    case Kind::Adam: c.weight_decay = 1e-4; break;
    case Kind::AdamW: c.weight_decay = 1e-2; break;   // not in SG's table: PyTorch's default
    case Kind::RMSprop: c.momentum = 0.9; c.weight_decay = 1e-4; c.alpha = 0.99; c.eps = 1e-8; break;
    case Kind::RMSpropTF: c.momentum = 0.9; c.weight_decay = 1e-4; c.alpha = 0.9; c.eps = 1e-10; break;
  }
  return c;
}

Optimizer::Optimizer(const OptimizerConfig& config, std::vector<ParamGroupSpec> groups)
    : config_(config), groups_(std::move(groups)) {
  if (groups_.empty()) throw std::invalid_argument("optimizer: no param groups");
  optimizer_ = make_optimizer(kind_of(config.name), config_, groups_);
  group_extras_.resize(groups_.size());
}

Optimizer::Optimizer(const OptimizerConfig& config, std::vector<torch::Tensor> parameters)
    : Optimizer(config, std::vector<ParamGroupSpec>{ParamGroupSpec{std::move(parameters), false}}) {}

void Optimizer::set_lr(double lr) {
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
}

void Optimizer::set_lrs(const std::vector<double>& lrs) {
  if (lrs.size() != groups_.size())
    throw std::invalid_argument("set_lrs: " + std::to_string(lrs.size()) + " rates for " +
                                std::to_string(groups_.size()) + " param groups");
  for (size_t g = 0; g < lrs.size(); ++g) optimizer_->param_groups()[g].options().set_lr(lrs[g]);
}

std::vector<double> Optimizer::lrs() const {
  std::vector<double> out;
  for (const auto& group : optimizer_->param_groups()) out.push_back(group.options().get_lr());
  return out;
}

bool Optimizer::has_betas() const {
  const Kind k = kind_of(config_.name);
  return k == Kind::Adam || k == Kind::AdamW;
}

void Optimizer::set_momentum(double momentum) {
  for (size_t g = 0; g < groups_.size(); ++g) set_momentum(g, momentum);
}

void Optimizer::set_momentum(size_t group, double momentum) {
  auto& options = optimizer_->param_groups().at(group).options();
  switch (kind_of(config_.name)) {
    case Kind::SGD: static_cast<torch::optim::SGDOptions&>(options).momentum(momentum); break;
    case Kind::RMSprop: static_cast<torch::optim::RMSpropOptions&>(options).momentum(momentum); break;
    case Kind::RMSpropTF: static_cast<RMSpropTFOptions&>(options).momentum(momentum); break;
    case Kind::Adam:
    case Kind::AdamW: set_betas(kind_of(config_.name), options, momentum, std::nullopt); break;
  }
}

void Optimizer::set_group_extras(size_t group, Entries extras) { group_extras_.at(group) = std::move(extras); }

pth::Value Optimizer::state_dict() const {
  const Kind kind = kind_of(config_.name);
  const bool split = config_.zero_weight_decay_on_bias_and_bn;
  Value state = Value::dict();
  pth::List groups;
  int64_t index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const auto& torch_group = optimizer_->param_groups()[g];
    Value group = Value::dict();
    auto& d = group.as_dict();
    const Entries hyper = hyperparameters(kind, torch_group.options());
    auto hyper_value = [&](const std::string& key) {
      for (const auto& [k, v] : hyper)
        if (k == key) return v;
      return Value::none();
    };
    // SG's group dict: {"params", ["weight_decay",] "lr", "name"} before PyTorch's defaults.
    if (split) d.set("weight_decay", hyper_value("weight_decay"));
    d.set("lr", hyper_value("lr"));
    d.set("name", Value::string("default"));
    for (const auto& [k, v] : hyper)
      if (d.find(k) == nullptr) d.set(Value::string(k), v);
    for (const auto& [k, v] : group_extras_[g]) d.set(Value::string(k), v);
    pth::List params;
    for (const torch::Tensor& p : groups_[g].params) {
      auto found = optimizer_->state().find(key_of(p));
      if (found != optimizer_->state().end())
        if (auto entry = write_state(kind, *found->second, config_.amsgrad))
          state.as_dict().set(Value::integer(index), *entry);
      params.push_back(Value::integer(index++));
    }
    d.set("params", Value::list(std::move(params)));
    groups.push_back(std::move(group));
  }
  Value root = Value::dict();
  root.as_dict().set("state", state);
  root.as_dict().set("param_groups", Value::list(std::move(groups)));
  return root;
}

void Optimizer::load_state_dict(const pth::Value& saved) {
  const Kind kind = kind_of(config_.name);
  if (!saved.is_dict()) throw std::runtime_error("optimizer_state_dict is not a dict");
  const auto& groups = require(saved.as_dict(), "param_groups", "optimizer_state_dict");
  if (!groups.is_sequence() || groups.items().size() != groups_.size())
    throw std::runtime_error("optimizer_state_dict has " +
                             std::to_string(groups.is_sequence() ? groups.items().size() : 0) +
                             " param groups, the optimizer has " + std::to_string(groups_.size()) +
                             " (zero_weight_decay_on_bias_and_bn makes two)");
  // Python's rule: saved indices map to our parameters group by group, in order.
  std::map<int64_t, torch::Tensor> by_index;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string where = "optimizer_state_dict param group " + std::to_string(g);
    if (!groups.items()[g].is_dict()) throw std::runtime_error(where + " is not a dict");
    const auto& group = groups.items()[g].as_dict();
    const auto& ids = require(group, "params", where).items();
    if (ids.size() != groups_[g].params.size())
      throw std::runtime_error(where + " has " + std::to_string(ids.size()) + " parameters, the optimizer's has " +
                               std::to_string(groups_[g].params.size()));
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!ids[i].is_int()) throw std::runtime_error(where + ": a parameter index is not an int");
      by_index[ids[i].as_int()] = groups_[g].params[i];
    }
  }
  std::vector<std::pair<std::string, std::unique_ptr<torch::optim::OptimizerParamState>>> loaded;
  for (const auto& [key, entry] : require(saved.as_dict(), "state", "optimizer_state_dict").as_dict().items) {
    auto found = key.is_int() ? by_index.find(key.as_int()) : by_index.end();
    if (found == by_index.end()) throw std::runtime_error("optimizer state key is not a parameter index");
    const std::string where = "optimizer state " + std::to_string(key.as_int());
    if (!entry.is_dict()) throw std::runtime_error(where + " is not a dict");
    loaded.emplace_back(key_of(found->second), read_state(kind, entry.as_dict(), found->second, where));
  }
  for (auto& [id, s] : loaded) optimizer_->state()[id] = std::move(s);
  for (size_t g = 0; g < groups_.size(); ++g) {
    const auto& group = groups.items()[g].as_dict();
    const std::string where = "optimizer_state_dict param group " + std::to_string(g);
    optimizer_->param_groups()[g].options().set_lr(require(group, "lr", where).as_number());
    if (const Value* m = group.find("momentum"); m != nullptr && !has_betas()) set_momentum(g, m->as_number());
    if (const Value* b = group.find("betas"); b != nullptr && has_betas() && b->items().size() == 2)
      set_betas(kind, optimizer_->param_groups()[g].options(), b->items()[0].as_number(), b->items()[1].as_number());
  }
}

}  // namespace sg
