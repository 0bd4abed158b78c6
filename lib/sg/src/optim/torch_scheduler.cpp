// The PyTorch schedulers by name (each one a file in schedulers/, see scheduler_base.hpp) and
// their constructor arguments from a recipe's YAML.
#include "sg/optim/torch_scheduler.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "optim/schedulers/scheduler_base.hpp"

namespace sg {
namespace {

struct Registered {
  std::string name;  // PyTorch's class name
  schedulers::SchedulerFactory make;
  bool steps_per_batch;
};

// Every scheduler, in the order torch_scheduler_names() lists them. A new scheduler is a file
// in schedulers/ with its factory, and a row here.
const std::vector<Registered>& registry() {
  static const std::vector<Registered> entries = {
      {"StepLR", &schedulers::make_step_lr, false},
      {"MultiStepLR", &schedulers::make_multi_step_lr, false},
      {"CosineAnnealingLR", &schedulers::make_cosine_annealing_lr, false},
      {"OneCycleLR", &schedulers::make_one_cycle_lr, true},
      {"ReduceLROnPlateau", &schedulers::make_reduce_lr_on_plateau, false},
      {"ExponentialLR", &schedulers::make_exponential_lr, false},
      {"ConstantLR", &schedulers::make_constant_lr, false},
      {"LinearLR", &schedulers::make_linear_lr, false},
      {"CosineAnnealingWarmRestarts", &schedulers::make_cosine_annealing_warm_restarts, false},
      {"CyclicLR", &schedulers::make_cyclic_lr, true},
  };
  return entries;
}

const Registered* find_registered(const std::string& name) {
  for (const Registered& r : registry())
    if (r.name == name) return &r;
  return nullptr;
}

// --- YAML ---------------------------------------------------------------------------------

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0') return std::nullopt;
  return int64_t(v);
}

std::optional<double> parse_double(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") return schedulers::kInf;
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -schedulers::kInf;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') return std::nullopt;
  // strtod also takes "inf"/"nan" spelled the C way; YAML would call those strings.
  for (char c : s)
    if (std::isalpha(static_cast<unsigned char>(c)) && c != 'e' && c != 'E') return std::nullopt;
  return v;
}

}  // namespace

std::string torch_scheduler_names() {
  std::string out;
  for (const Registered& r : registry()) out += (out.empty() ? "" : ", ") + r.name;
  return out;
}

bool is_torch_scheduler(const std::string& name) { return find_registered(name) != nullptr; }

bool steps_per_batch(const std::string& name) {
  const Registered* r = find_registered(name);
  return r != nullptr && r->steps_per_batch;
}

std::unique_ptr<TorchScheduler> make_torch_scheduler(const std::string& name, const TorchSchedulerParams& params,
                                                     const TorchSchedulerContext& context) {
  if (context.base_lrs.empty()) throw std::invalid_argument(name + ": no param groups");
  const Registered* r = find_registered(name);
  if (r == nullptr)
    throw std::invalid_argument("unknown torch scheduler '" + name + "' (known: " + torch_scheduler_names() + ")");
  schedulers::Args args(name, params);
  return r->make(args, context);
}

std::unique_ptr<TorchScheduler> make_torch_scheduler(const std::string& name, const TorchSchedulerParams& params,
                                                     double base_lr, int64_t total_steps_for_onecycle,
                                                     bool optimizer_has_betas) {
  TorchSchedulerContext ctx;
  ctx.base_lrs = {base_lr};
  ctx.total_steps = total_steps_for_onecycle;
  ctx.optimizer_has_betas = optimizer_has_betas;
  return make_torch_scheduler(name, params, ctx);
}

TorchSchedulerParams torch_scheduler_params_from_yaml(const YAML::Node& mapping) {
  TorchSchedulerParams out;
  if (!mapping || mapping.IsNull()) return out;
  if (!mapping.IsMap()) throw std::invalid_argument("torch scheduler params: expected a mapping");
  for (const auto& kv : mapping) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (v.IsNull()) continue;
    if (v.IsScalar()) {
      const std::string& s = v.Scalar();
      if (v.Tag() == "!") {  // quoted: a string whatever it looks like
        out[key] = s;
      } else if (auto i = parse_int(s)) {
        out[key] = *i;
      } else if (s == "true" || s == "True" || s == "TRUE") {
        out[key] = true;
      } else if (s == "false" || s == "False" || s == "FALSE") {
        out[key] = false;
      } else if (auto d = parse_double(s)) {
        out[key] = *d;
      } else {
        out[key] = s;
      }
    } else if (v.IsSequence()) {
      std::vector<int64_t> ints;
      std::vector<double> doubles;
      bool all_int = true;
      for (const auto& item : v) {
        if (!item.IsScalar()) throw std::invalid_argument("torch scheduler params: '" + key + "': expected numbers");
        const std::string& s = item.Scalar();
        if (auto i = parse_int(s)) {
          ints.push_back(*i);
          doubles.push_back(double(*i));
        } else if (auto d = parse_double(s)) {
          all_int = false;
          doubles.push_back(*d);
        } else {
          throw std::invalid_argument("torch scheduler params: '" + key + "': '" + s + "' is not a number");
        }
      }
      if (all_int)
        out[key] = ints;
      else
        out[key] = doubles;
    } else {
      throw std::invalid_argument("torch scheduler params: '" + key + "': expected a scalar or a list");
    }
  }
  return out;
}

}  // namespace sg
