#include "sg/train/train_config.hpp"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <stdexcept>

#include "pth/folder.hpp"
#include "recipe/run_dir.hpp"
#include "remote/location.hpp"

#include "sg/eval/metric_values.hpp"
#include "train/data_config.hpp"
#include "train/unread_keys.hpp"
#include "train/schedule_config.hpp"

namespace sg {
namespace {

// A name the run directory gets a file or folder of (experiment_name, ckpt_best_name, ...):
// one path component, checked in full before anything is trained.
std::string checked_name(const std::string& key, const std::string& name) {
  if (const std::string problem = pth::path_component_problem(name); !problem.empty())
    throw RecipeError(key + ": '" + name + "' " + problem);
  return name;
}

}  // namespace

// SG's build_optimizer: the optimizer's defaults (SG's for SGD, Adam, RMSprop, RMSpropTF,
// PyTorch's otherwise), then the recipe's optimizer_params over them.
OptimizerConfig read_optimizer_config(const Recipe& r) {
  const std::string p = "training_hyperparams.optimizer_params.";
  const std::string name = r.get<std::string>("training_hyperparams.optimizer");
  if (!is_optimizer(name))
    throw RecipeError("training_hyperparams.optimizer: unknown optimizer '" + name + "' (known: " + optimizer_names() + ")");
  OptimizerConfig o = optimizer_defaults(name);
  // Keys of the other optimizers are accepted and have no effect (default_train_params lists
  // them all); a key no optimizer knows is refused.
  static const std::set<std::string> known = {"momentum", "dampening",    "nesterov",        "weight_decay",
                                              "betas",    "eps",          "amsgrad",         "alpha",
                                              "centered", "decoupled_decay", "lr_in_momentum"};
  if (r.has("training_hyperparams.optimizer_params"))
    for (const auto& entry : r.node("training_hyperparams.optimizer_params")) {
      const std::string key = entry.first.as<std::string>();
      if (known.count(key) == 0)
        throw RecipeError(p + key + ": unknown optimizer parameter (known: momentum, dampening, nesterov, "
                          "weight_decay, betas, eps, amsgrad, alpha, centered, decoupled_decay, lr_in_momentum)");
    }
  o.lr = r.get<double>("training_hyperparams.initial_lr");
  o.momentum = r.get_or<double>(p + "momentum", o.momentum);
  o.dampening = r.get_or<double>(p + "dampening", o.dampening);
  o.nesterov = r.get_or<bool>(p + "nesterov", o.nesterov);
  o.weight_decay = r.get_or<double>(p + "weight_decay", o.weight_decay);
  o.eps = r.get_or<double>(p + "eps", o.eps);
  o.amsgrad = r.get_or<bool>(p + "amsgrad", o.amsgrad);
  o.alpha = r.get_or<double>(p + "alpha", o.alpha);
  o.centered = r.get_or<bool>(p + "centered", o.centered);
  o.decoupled_decay = r.get_or<bool>(p + "decoupled_decay", o.decoupled_decay);
  o.lr_in_momentum = r.get_or<bool>(p + "lr_in_momentum", o.lr_in_momentum);
  const auto betas = r.get_or<std::vector<double>>(p + "betas", {o.beta1, o.beta2});
  if (betas.size() != 2) throw RecipeError(p + "betas: expected two numbers");
  o.beta1 = betas[0];
  o.beta2 = betas[1];
  o.zero_weight_decay_on_bias_and_bn = r.get_or<bool>("training_hyperparams.zero_weight_decay_on_bias_and_bn", false);
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    throw RecipeError(p + "nesterov: needs momentum > 0 and dampening 0");
  for (const auto& [key, value] : {std::pair<const char*, double>{"momentum", o.momentum}, {"weight_decay", o.weight_decay},
                                   {"eps", o.eps}, {"alpha", o.alpha}})
    if (value < 0) throw RecipeError(p + key + ": must be >= 0");
  return o;
}

namespace {

// SG's bool mixed_precision, and our mixed_precision_dtype: float16 (SG's, CUDA only) or
// bfloat16 (also on the CPU).
MixedPrecision read_mixed_precision(const Recipe& r) {
  const std::string key = "training_hyperparams.mixed_precision_dtype";
  const std::string dtype = r.get_or<std::string>(key, "float16");
  if (dtype != "float16" && dtype != "bfloat16") throw RecipeError(key + ": unknown '" + dtype + "' (known: float16, bfloat16)");
  if (!r.get_or<bool>("training_hyperparams.mixed_precision", false)) {
    if (dtype != "float16") throw RecipeError(key + ": has no effect without mixed_precision=True");
    return MixedPrecision::off;
  }
  return dtype == "bfloat16" ? MixedPrecision::bfloat16 : MixedPrecision::float16;
}

// Equal as recipe values: the same shape, numbers by value (2.5 == 2.50), other scalars by text.
bool same_value(const YAML::Node& a, const YAML::Node& b) {
  if (a.IsSequence() != b.IsSequence() || a.IsMap() || b.IsMap()) return false;
  if (a.IsSequence()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!same_value(a[i], b[i])) return false;
    return true;
  }
  double x = 0, y = 0;
  if (YAML::convert<double>::decode(a, x) && YAML::convert<double>::decode(b, y)) return x == y;
  return a.IsScalar() && b.IsScalar() && a.Scalar() == b.Scalar();
}

// SG's [height, width] for a size that must be square here.
double square_side(const Recipe& r, const std::string& key) {
  const std::vector<double> pair = r.get<std::vector<double>>(key);
  if (pair.size() != 2) throw RecipeError(key + ": expected a number or a [height, width] pair");
  if (pair[0] != pair[1]) throw RecipeError(key + ": not square (only square sizes are implemented)");
  return pair[0];
}

void check_only_value(const YAML::Node& given, const ArchParamSpec& spec) {
  if (!same_value(given, YAML::Load(spec.only_value)))
    throw RecipeError("arch_params." + spec.name + ": only " +
                      (spec.only_value.size() > 40 ? "the table of the architecture" : "'" + spec.only_value + "'") +
                      " is implemented (" + spec.meaning + ")");
}

// arch_params: the class and channel counts every architecture reads, and the ones of
// `architecture` (a key it does not read is an error, a null value is left out).
ModelOptions read_model_options(const Recipe& r, const std::string& architecture) {
  ModelOptions m;
  m.num_classes = r.get<int64_t>("arch_params.num_classes");
  m.in_channels = r.get_or<int64_t>("arch_params.in_channels", 3);
  try {
    const std::vector<ArchParamSpec>& declared = architecture_params(architecture);   // unknown name: throws
    for (const auto& entry : r.node("arch_params")) {
      const std::string key = entry.first.as<std::string>();
      if (key == "num_classes" || key == "in_channels" || entry.second.IsNull()) continue;
      const auto spec = std::find_if(declared.begin(), declared.end(), [&](const ArchParamSpec& p) { return p.name == key; });
      // A key the architecture does not read is refused by validate_model_options, whatever its type.
      if (spec == declared.end())
        m.params[key] = 0.0;
      else if (!spec->only_value.empty())
        check_only_value(r.node("arch_params." + key), *spec);
      else if (spec->square_pair && entry.second.IsSequence())
        m.params[key] = square_side(r, "arch_params." + key);
      else
        m.params[key] = spec->boolean ? (r.get<bool>("arch_params." + key) ? 1.0 : 0.0) : r.get<double>("arch_params." + key);
    }
    validate_model_options(architecture, m);
  } catch (const std::invalid_argument& e) {
    throw RecipeError(e.what());
  }
  return m;
}

RemoteConfig read_remote_config(const Recipe& r) {
  const std::string p = "training_hyperparams.sg_logger_params.";
  RemoteConfig c;
  c.save_checkpoints = r.get_or<bool>(p + "save_checkpoints_remote", false);
  c.save_logs = r.get_or<bool>(p + "save_logs_remote", false);
  c.save_tensorboard = r.get_or<bool>(p + "save_tensorboard_remote", false);
  c.resume_from_remote = r.get_or<bool>("training_hyperparams.resume_from_remote_sg_logger", false);
  if (r.has(p + "storage_location") && !r.node(p + "storage_location").IsNull())
    c.storage_location = r.get<std::string>(p + "storage_location");
  c.upload_timeout_s = r.get_or<double>(p + "upload_timeout_s", 600);
  if (!(c.upload_timeout_s > 0)) throw RecipeError(p + "upload_timeout_s: must be positive");
  const bool used = c.uploads() || c.resume_from_remote;
  if (used && c.storage_location.empty())
    throw RecipeError(p + "storage_location: needed for " +
                      (c.resume_from_remote ? std::string("training_hyperparams.resume_from_remote_sg_logger")
                                            : "save_checkpoints_remote / save_logs_remote / save_tensorboard_remote") +
                      " (an rclone remote name:path or s3://bucket/prefix)");
  if (!used && !c.storage_location.empty())
    throw RecipeError(p + "storage_location: nothing is saved to it or resumed from it (set save_checkpoints_remote, "
                      "save_logs_remote, save_tensorboard_remote or training_hyperparams.resume_from_remote_sg_logger)");
  if (!c.storage_location.empty()) {
    try {
      remote::parse_location(c.storage_location);
    } catch (const std::invalid_argument& e) {
      throw RecipeError(p + "storage_location: " + e.what());
    }
  }
  return c;
}

}  // namespace

TrainingConfig read_training_config(const Recipe& r) {
  const std::string p = "training_hyperparams.";
  TrainingConfig c;
  c.architecture = r.get<std::string>("architecture");
  c.model = read_model_options(r, c.architecture);
  c.checkpoint = read_checkpoint_params(r);
  c.experiment_name = checked_name("experiment_name", r.get<std::string>("experiment_name"));
  c.ckpt_root_dir = r.get_or<std::string>("ckpt_root_dir", "checkpoints");
  c.seed = uint64_t(r.get_or<int64_t>(p + "seed", 42));
  c.data = read_data_config(r, c.seed);
  if (const auto& mixup = c.data.train.loader.mixup; mixup && mixup->num_classes != c.model.num_classes)
    throw RecipeError("dataset_params.train_dataloader_params.collate_fn: num_classes " +
                      std::to_string(mixup->num_classes) + " (SG's default 1000 when not given), but arch_params.num_classes " +
                      std::to_string(c.model.num_classes) + ": the soft targets must have the model's classes");
  c.optimizer = read_optimizer_config(r);
  c.max_epochs = r.get<int64_t>(p + "max_epochs");
  if (c.max_epochs <= 0) throw RecipeError(p + "max_epochs: must be positive");
  read_schedule(r, c);
  c.ema.enabled = r.get_or<bool>(p + "ema", false);
  c.ema.decay = r.get_or<double>(p + "ema_params.decay", 0.9999);
  c.ema.decay_type = r.get_or<std::string>(p + "ema_params.decay_type", "exp");
  c.ema.beta = r.get_or<double>(p + "ema_params.beta", 15);
  if (c.ema.decay_type != "constant" && c.ema.decay_type != "threshold" && c.ema.decay_type != "exp")
    throw RecipeError(p + "ema_params.decay_type: unknown '" + c.ema.decay_type + "' (known: constant, threshold, exp)");
  c.average_best_models = r.get_or<bool>(p + "average_best_models", true);
  c.resume = r.get_or<bool>(p + "resume", false);
  c.run_id = r.get_or<std::string>(p + "run_id", "");
  if (!c.run_id.empty()) checked_name(p + "run_id", c.run_id);
  c.resume_path = r.get_or<std::string>(p + "resume_path", "");
  c.remote = read_remote_config(r);
  c.ckpt_name = checked_name(p + "ckpt_name", r.get_or<std::string>(p + "ckpt_name", "ckpt_latest.pth"));
  c.load_opt_params = r.get_or<bool>(p + "load_opt_params", true);
  c.mixed_precision = read_mixed_precision(r);
  c.loss_name = r.get<std::string>(p + "loss");
  if (c.loss_name != "CrossEntropyLoss" && c.loss_name != "LabelSmoothingCrossEntropyLoss")
    throw RecipeError(p + "loss: unknown loss '" + c.loss_name + "' (known: CrossEntropyLoss, LabelSmoothingCrossEntropyLoss)");
  c.label_smoothing = r.get_or<double>(p + "criterion_params.smooth_eps", 0.0);
  c.train_metrics = r.get<std::vector<std::string>>(p + "train_metrics_list");
  c.valid_metrics = r.get<std::vector<std::string>>(p + "valid_metrics_list");
  try {
    check_metric_names(c.train_metrics);
    check_metric_names(c.valid_metrics);
  } catch (const std::invalid_argument& e) {
    throw RecipeError(p + "metrics: " + e.what());
  }
  c.metric_to_watch = r.get<std::string>(p + "metric_to_watch");
  if (c.metric_to_watch == "Loss") c.metric_to_watch = c.loss_name;
  if (c.metric_to_watch != c.loss_name &&
      std::find(c.valid_metrics.begin(), c.valid_metrics.end(), c.metric_to_watch) == c.valid_metrics.end())
    throw RecipeError(p + "metric_to_watch: '" + c.metric_to_watch + "' is not among valid_metrics_list or the loss");
  c.greater_is_better = r.get<bool>(p + "greater_metric_to_watch_is_better");
  c.run_validation_freq = r.get_or<int64_t>(p + "run_validation_freq", 1);
  if (c.run_validation_freq <= 0) throw RecipeError(p + "run_validation_freq: must be positive");
  c.save_model = r.get_or<bool>(p + "save_model", true);
  c.ckpt_best_name = checked_name(p + "ckpt_best_name", r.get_or<std::string>(p + "ckpt_best_name", "ckpt_best.pth"));
  for (const char* reserved : {"ckpt_latest.pth", "average_model.pth", RunDirectory::kLockName})
    if (c.ckpt_best_name == reserved)
      throw RecipeError(p + "ckpt_best_name: '" + c.ckpt_best_name + "' is a file of its own in the run directory");
  c.save_ckpt_epoch_list = r.get_or<std::vector<int64_t>>(p + "save_ckpt_epoch_list", {});
  c.ckpt_every_n_steps = r.get_or<int64_t>(p + "ckpt_every_n_steps", 0);
  if (c.ckpt_every_n_steps < 0) throw RecipeError(p + "ckpt_every_n_steps: must be 0 (off) or positive");
  if (r.has(p + "ckpt_every_n_minutes") && !r.node(p + "ckpt_every_n_minutes").IsNull())
    c.ckpt_every_n_minutes = r.get<double>(p + "ckpt_every_n_minutes");
  if (!(c.ckpt_every_n_minutes >= 0)) throw RecipeError(p + "ckpt_every_n_minutes: must be 0 (off) or positive");
  if ((c.ckpt_every_n_steps > 0 || c.ckpt_every_n_minutes > 0) && !c.save_model)
    throw RecipeError(p + "ckpt_every_n_steps / ckpt_every_n_minutes: nothing is saved with save_model: False");
  c.async_checkpoint = r.get_or<bool>(p + "async_checkpoint", true);
  c.save_ckpt_every_n_epochs = r.get_or<int64_t>(p + "save_ckpt_every_n_epochs", 0);
  if (c.save_ckpt_every_n_epochs < 0) throw RecipeError(p + "save_ckpt_every_n_epochs: must be 0 (off) or positive");
  c.keep_last_n_epoch_ckpts = r.get_or<int64_t>(p + "keep_last_n_epoch_ckpts", 0);
  if (c.keep_last_n_epoch_ckpts < 0) throw RecipeError(p + "keep_last_n_epoch_ckpts: must be 0 (all) or positive");
  if (c.keep_last_n_epoch_ckpts > 0 && c.save_ckpt_every_n_epochs == 0)
    throw RecipeError(p + "keep_last_n_epoch_ckpts: there are no periodic checkpoints to keep without save_ckpt_every_n_epochs");
  c.batch_accumulate = r.get_or<int64_t>(p + "batch_accumulate", 1);
  if (c.batch_accumulate <= 0) throw RecipeError(p + "batch_accumulate: must be positive");
  if (r.has(p + "clip_grad_norm") && !r.node(p + "clip_grad_norm").IsNull())
    c.clip_grad_norm = r.get<double>(p + "clip_grad_norm");
  c.check_finite = r.get_or<bool>(p + "check_finite", true);
  if (r.has("multi_gpu") && !r.node("multi_gpu").IsNull()) c.multi_gpu = r.get<std::string>("multi_gpu");
  if (c.multi_gpu != "Off" && c.multi_gpu != "DP" && c.multi_gpu != "DDP" && c.multi_gpu != "AUTO")
    throw RecipeError("multi_gpu: unknown '" + c.multi_gpu + "' (SG's: Off, DP, DDP, AUTO)");
  c.num_gpus = r.has("num_gpus") && !r.node("num_gpus").IsNull() ? r.get<int64_t>("num_gpus") : (c.multi_gpu == "Off" ? 1 : -1);
  c.sync_bn = r.get_or<bool>(p + "sync_bn", false);
  c.device = r.get_or<std::string>(p + "device", "");
  c.num_threads = r.get_or<int64_t>(p + "num_threads", 0);
  refuse_unread_keys(r);
  return c;
}

}  // namespace sg
