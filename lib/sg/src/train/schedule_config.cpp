#include "train/schedule_config.hpp"

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

namespace sg {
namespace {

const std::string p = "training_hyperparams.";

// SG's lr_mode names (LR_SCHEDULERS_CLS_DICT), with their deprecated aliases.
const std::map<std::string, std::string> kSgModes = {
    {"StepLRScheduler", "StepLRScheduler"},   {"step", "StepLRScheduler"},
    {"CosineLRScheduler", "CosineLRScheduler"}, {"cosine", "CosineLRScheduler"},
    {"PolyLRScheduler", "PolyLRScheduler"},   {"poly", "PolyLRScheduler"},
    {"ExponentialLRScheduler", "ExponentialLRScheduler"}, {"exp", "ExponentialLRScheduler"}};
const char* const kSgModeNames = "StepLRScheduler (step), CosineLRScheduler (cosine), PolyLRScheduler (poly), "
                                 "ExponentialLRScheduler (exp)";

// The training_hyperparams keys each policy reads besides initial_lr and the warm-up ones:
// what the mapping form {Policy: {...}} may give in their place.
const std::map<std::string, std::set<std::string>> kPolicyKeys = {
    {"StepLRScheduler", {"lr_updates", "lr_decay_factor", "step_lr_update_freq"}},
    {"CosineLRScheduler", {"cosine_final_lr_ratio"}},
    {"PolyLRScheduler", {}},
    {"ExponentialLRScheduler", {"lr_decay_factor"}}};

// SG's warmup_mode names (LR_WARMUP_CLS_DICT), with their deprecated aliases.
const std::map<std::string, LrSchedule::Warmup> kWarmups = {{"LinearEpochLRWarmup", LrSchedule::Warmup::epoch},
                                                            {"linear_epoch_step", LrSchedule::Warmup::epoch},
                                                            {"LinearBatchLRWarmup", LrSchedule::Warmup::batch},
                                                            {"linear_batch_step", LrSchedule::Warmup::batch}};

bool given(const Recipe& r, const std::string& key) { return r.has(key) && !r.node(key).IsNull(); }

int64_t non_negative(const Recipe& r, const std::string& key) {
  const auto value = r.get_or<int64_t>(key, 0);
  if (value < 0) throw RecipeError(key + ": must be >= 0");
  return value;
}

std::optional<double> optional_double(const Recipe& r, const std::string& key) {
  if (!given(r, key)) return std::nullopt;
  return r.get<double>(key);
}

// StepLRScheduler's lr_updates. SG counts the milestones x <= epoch, so a fractional one
// (imagenet_mobilenetv2's numpy.arange(2.4, 450, 2.4)) acts at the epoch ceil(x).
std::vector<int64_t> epoch_milestones(const Recipe& r, const std::string& key) {
  std::vector<int64_t> epochs;
  const std::vector<double> given_values = r.get_or<std::vector<double>>(key, {});
  for (size_t i = 0; i < given_values.size(); ++i) {
    const double x = given_values[i];
    if (!std::isfinite(x) || std::fabs(x) > 1e15)
      throw RecipeError(key + "." + std::to_string(i) + ": not an epoch number");
    epochs.push_back(static_cast<int64_t>(std::ceil(x)));
  }
  return epochs;
}

// lr_mode as a name, or SG's mapping {Name: {arguments}}.
struct LrMode {
  std::string name;
  std::string args;   // the mapping's path ("training_hyperparams.lr_mode.<Name>"), "" for a name
  YAML::Node node;    // its arguments
};

LrMode read_lr_mode(const Recipe& r) {
  const std::string key = p + "lr_mode";
  if (!given(r, key)) return {};
  const YAML::Node node = r.node(key);
  if (node.IsScalar()) return {r.get<std::string>(key), "", YAML::Node()};
  if (!node.IsMap() || node.size() != 1)
    throw RecipeError(key + ": expected a name or a mapping of one name to its arguments, {StepLR: {step_size: 3}}");
  LrMode mode{node.begin()->first.as<std::string>(), key + "." + node.begin()->first.as<std::string>(),
              node.begin()->second};
  if (!mode.node.IsNull() && !mode.node.IsMap()) throw RecipeError(mode.args + ": expected a mapping of arguments");
  return mode;
}

LrSchedule::Warmup read_warmup_mode(const Recipe& r) {
  const std::string key = p + "warmup_mode";
  if (!r.has(key)) return LrSchedule::Warmup::epoch;   // SG's default_train_params
  if (r.node(key).IsNull()) return LrSchedule::Warmup::none;
  const std::string name = r.get<std::string>(key);
  const auto it = kWarmups.find(name);
  if (it == kWarmups.end())
    throw RecipeError(key + ": unknown warm-up '" + name +
                      "' (known: LinearEpochLRWarmup (linear_epoch_step), LinearBatchLRWarmup (linear_batch_step), null)");
  return it->second;
}

// The phase SG's recipe gives a PyTorch scheduler must be the one this toolkit steps it at.
void check_torch_phase(const std::string& args, const std::string& name, const YAML::Node& node, bool required,
                       const Recipe& r) {
  const std::string ours = steps_per_batch(name)          ? "TRAIN_BATCH_STEP"
                           : name == "ReduceLROnPlateau" ? "VALIDATION_EPOCH_END"
                                                         : "TRAIN_EPOCH_END";
  const YAML::Node phase = node.IsMap() ? node["phase"] : YAML::Node();
  if (!phase || phase.IsNull()) {
    if (required) throw RecipeError(args + ".phase: missing (SG requires it for PyTorch schedulers; " + ours + " for " + name + ")");
  } else if (!phase.IsScalar() || phase.as<std::string>() != ours) {
    throw RecipeError(args + ".phase: " + name + " is stepped at " + ours + " here, not at '" +
                      (phase.IsScalar() ? phase.as<std::string>() : std::string("a non-scalar")) + "'");
  }
  const YAML::Node metric = node.IsMap() ? node["metric_name"] : YAML::Node();
  const bool has_metric = metric && !metric.IsNull();
  if (name == "ReduceLROnPlateau") {
    const std::string watched = r.get<std::string>(p + "metric_to_watch");
    if (required && !has_metric) throw RecipeError(args + ".metric_name: missing (SG requires it for ReduceLROnPlateau)");
    if (has_metric && (!metric.IsScalar() || metric.as<std::string>() != watched))
      throw RecipeError(args + ".metric_name: ReduceLROnPlateau steps on metric_to_watch ('" + watched + "') here");
  } else if (has_metric) {
    throw RecipeError(args + ".metric_name: only ReduceLROnPlateau reads it");
  }
}

void read_torch_scheduler(const Recipe& r, const LrMode& mode, TrainingConfig& c) {
  const std::string params_key = p + "torch_scheduler_params";
  const bool flat = r.has(params_key) && r.node(params_key).IsMap() && r.node(params_key).size() > 0;
  if (!mode.args.empty() && flat)
    throw RecipeError(params_key + ": " + mode.name + "'s arguments are given in " + mode.args + "; not in both");
  const std::string args = mode.args.empty() ? params_key : mode.args;
  const YAML::Node node = mode.args.empty() ? (r.has(params_key) ? r.node(params_key) : YAML::Node()) : mode.node;
  check_torch_phase(args, mode.name, node, !mode.args.empty(), r);
  c.torch_scheduler = mode.name;
  try {
    if (node && node.IsMap()) c.torch_scheduler_params = torch_scheduler_params_from_yaml(node);
  } catch (const std::invalid_argument& e) {
    throw RecipeError(args + ": " + e.what());
  }
  // SG runs its warm-up callbacks next to a PyTorch scheduler, which it does not step in the
  // first lr_warmup_epochs epochs and which continues from the rate they left; that is not
  // implemented here.
  if (c.lr.warmup_epochs > 0 || c.lr.warmup_steps > 0)
    throw RecipeError(p + (c.lr.warmup_epochs > 0 ? "lr_warmup_epochs" : "lr_warmup_steps") +
                      ": a warm-up before the PyTorch scheduler " + mode.name + " is not supported");
  if (c.lr.cooldown_epochs > 0) throw RecipeError(p + "lr_cooldown_epochs: has no effect on the PyTorch scheduler " + mode.name);
}

void read_sg_policy(const Recipe& r, const LrMode& mode, LrSchedule& s) {
  if (!mode.name.empty()) {
    if (mode.name == "FunctionLRScheduler" || mode.name == "function")
      throw RecipeError(p + "lr_mode: FunctionLRScheduler is not supported (SG calls a Python function, lr_schedule_function)");
    const auto it = kSgModes.find(mode.name);
    if (it == kSgModes.end())
      throw RecipeError(p + "lr_mode: unknown schedule '" + mode.name + "' (known: " + kSgModeNames + ", " +
                        torch_scheduler_names() + ")");
    s.mode = it->second;
  }
  // The mapping form's arguments stand in for the flat keys of the same name.
  const std::set<std::string> reads = s.mode.empty() ? std::set<std::string>{} : kPolicyKeys.at(s.mode);
  std::set<std::string> in_mapping;
  if (mode.node.IsMap())
    for (const auto& entry : mode.node) {
      const std::string key = entry.first.as<std::string>();
      if (reads.count(key) == 0) throw RecipeError(mode.args + "." + key + ": " + s.mode + " does not read it");
      in_mapping.insert(key);
    }
  const auto key = [&](const std::string& name) { return in_mapping.count(name) ? mode.args + "." + name : p + name; };

  s.lr_updates = epoch_milestones(r, key("lr_updates"));
  s.lr_decay_factor = r.get_or<double>(key("lr_decay_factor"), 0.1);
  s.cosine_final_lr_ratio = r.get_or<double>(key("cosine_final_lr_ratio"), 0.01);
  const std::optional<double> freq = optional_double(r, key("step_lr_update_freq"));
  if (freq && s.mode != "StepLRScheduler") throw RecipeError(key("step_lr_update_freq") + ": only StepLRScheduler reads it");
  if (s.mode == "StepLRScheduler") {
    if (freq && !s.lr_updates.empty())
      throw RecipeError(key("step_lr_update_freq") + ": lr_updates and step_lr_update_freq exclude each other (as in SG)");
    if (!freq && s.lr_updates.empty())
      throw RecipeError(key("lr_updates") + ": StepLRScheduler needs lr_updates or step_lr_update_freq (as in SG)");
    if (freq && *freq <= 0) throw RecipeError(key("step_lr_update_freq") + ": must be positive");
    if (!freq && s.cooldown_epochs > 0)
      throw RecipeError(p + "lr_cooldown_epochs: has no effect with explicit lr_updates (SG warns and ignores it)");
    if (freq) s.lr_updates = step_lr_updates(*freq, s.warmup_epochs, s.max_epochs, s.cooldown_epochs);
  }
  if (s.mode.empty() && s.cooldown_epochs > 0) throw RecipeError(p + "lr_cooldown_epochs: has no effect without an lr_mode");
  if (s.warmup_steps > 0 && s.warmup != LrSchedule::Warmup::batch && s.mode != "CosineLRScheduler")
    throw RecipeError(p + "lr_warmup_steps: has no effect without warmup_mode LinearBatchLRWarmup or CosineLRScheduler");
  if (s.warmup == LrSchedule::Warmup::batch && s.warmup_steps > 0 && !s.warmup_initial_lr)
    throw RecipeError(p + "warmup_initial_lr: LinearBatchLRWarmup needs a number (SG has no default for it)");
}

}  // namespace

void read_schedule(const Recipe& r, TrainingConfig& c) {
  LrSchedule& s = c.lr;
  s.initial_lr = r.get<double>(p + "initial_lr");
  s.max_epochs = c.max_epochs;
  s.warmup = read_warmup_mode(r);
  s.warmup_epochs = non_negative(r, p + "lr_warmup_epochs");
  s.warmup_steps = non_negative(r, p + "lr_warmup_steps");
  s.cooldown_epochs = non_negative(r, p + "lr_cooldown_epochs");
  s.warmup_initial_lr = optional_double(r, p + "warmup_initial_lr");
  s.batch_accumulate = std::max<int64_t>(1, r.get_or<int64_t>(p + "batch_accumulate", 1));   // checked with the loop keys
  const LrMode mode = read_lr_mode(r);
  if (is_torch_scheduler(mode.name)) {
    read_torch_scheduler(r, mode, c);
    // SG's default_train_params lists the keys of all of SG's own policies; a PyTorch
    // scheduler reads none of them, in SG too: they count as read, as the optimizers' do.
    for (const char* name : {"lr_updates", "lr_decay_factor", "cosine_final_lr_ratio", "step_lr_update_freq"})
      if (r.has(p + name)) r.node(p + name);
  } else {
    read_sg_policy(r, mode, s);
  }
}

}  // namespace sg
