// The trainer's persistent side: which run to continue, what a checkpoint holds, and how
// a run is restored from one (ours or Python's) so that it continues exactly.
#include <filesystem>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "sg/load_weights.hpp"
#include "sg/run_dir.hpp"
#include "sg/tensor_convert.hpp"
#include "sg/trainer.hpp"

namespace fs = std::filesystem;

namespace sg {
namespace {

// Our extra checkpoint key; SuperGradients and PyTorch ignore keys they do not know.
constexpr const char* kStateKey = "sg_cpp_state";

pth::Value counts_to_pth(const MetricAccumulator::Counts& c) {
  pth::Value d = pth::Value::dict();
  d.as_dict().set(pth::Value::string("samples"), pth::Value::integer(c.samples));
  d.as_dict().set(pth::Value::string("top1"), pth::Value::integer(c.top1));
  d.as_dict().set(pth::Value::string("top5"), pth::Value::integer(c.top5));
  d.as_dict().set(pth::Value::string("loss_sum"), pth::Value::floating(c.loss_sum));
  return d;
}

const pth::Value& field(const pth::Value& dict, const std::string& key, const std::string& where) {
  const pth::Value* v = dict.is_dict() ? dict.as_dict().find(key) : nullptr;
  if (!v) throw std::runtime_error(where + ": missing '" + key + "'");
  return *v;
}

MetricAccumulator::Counts counts_from_pth(const pth::Value& v) {
  const std::string where = std::string(kStateKey) + ".train_counts";
  return {field(v, "samples", where).as_int(), field(v, "top1", where).as_int(), field(v, "top5", where).as_int(),
          field(v, "loss_sum", where).as_number()};
}

MetricValues values_from_pth(const pth::Value& v) {
  MetricValues out;
  if (!v.is_dict()) return out;
  for (const auto& [k, value] : v.as_dict().items)
    if (value.is_int() || value.is_float()) out[key_to_string(k)] = value.as_number();
  return out;
}

std::optional<EpochMetrics> metrics_from_pth(const pth::Value* v) {
  if (!v || !v->is_dict()) return std::nullopt;
  EpochMetrics m;
  if (const pth::Value* name = v->as_dict().find("tracked_metric_name"); name && name->is_string())
    m.tracked_metric_name = name->as_string();
  if (const pth::Value* valid = v->as_dict().find("valid")) m.valid = values_from_pth(*valid);
  if (const pth::Value* train = v->as_dict().find("train")) m.train = values_from_pth(*train);
  return m;
}

}  // namespace

void Trainer::find_resume_checkpoint() {
  const fs::path experiment = fs::path(config_.ckpt_root_dir) / config_.experiment_name;
  if (!config_.resume_path.empty()) {
    if (!fs::is_regular_file(config_.resume_path))
      throw RecipeError("training_hyperparams.resume_path: no such checkpoint file '" + config_.resume_path + "'");
    resume_from_ = config_.resume_path;
    branch_ = true;
    return;
  }
  if (!config_.run_id.empty()) {
    const fs::path run = experiment / config_.run_id;
    if (!fs::is_directory(run))
      throw RecipeError("training_hyperparams.run_id: run '" + config_.run_id + "' not found in " + experiment.string());
    if (!fs::is_regular_file(run / config_.ckpt_name))
      throw RecipeError("training_hyperparams.run_id: run '" + config_.run_id + "' has no " + config_.ckpt_name);
    run_dir_ = run.string();
    resume_from_ = (run / config_.ckpt_name).string();
    return;
  }
  if (config_.resume) {
    auto latest = find_latest_run(config_.ckpt_root_dir, config_.experiment_name, config_.ckpt_name);
    if (!latest)
      throw RecipeError("training_hyperparams.resume: no run of experiment '" + config_.experiment_name + "' under " +
                        experiment.string() + " holds " + config_.ckpt_name);
    run_dir_ = *latest;
    resume_from_ = (fs::path(*latest) / config_.ckpt_name).string();
  }
}

void Trainer::open_run() {
  // A folder that cannot be created or written is found here, before anything is trained;
  // a run directory made by this call is removed again.
  const bool fresh = run_dir_.empty();
  try {
    if (fresh) run_dir_ = create_run_dir(config_.ckpt_root_dir, config_.experiment_name);
    remove_stale_temp_files(run_dir_);
    store_recipe(recipe_, run_dir_);   // resuming with new overrides (max_epochs) records them
    log_.open_file(run_dir_);
  } catch (const std::exception& e) {
    if (fresh && !run_dir_.empty()) {
      std::error_code ec;
      fs::remove_all(run_dir_, ec);
      run_dir_.clear();
    }
    throw RunDirError(e.what());
  }
  log_.line("run directory " + run_dir_);
  if (!resume_from_.empty())
    log_.line(std::string(branch_ ? "branched from " : "resumed from ") + resume_from_ + " at epoch " +
              std::to_string(start_.epoch + 1) + (start_.batch ? ", batch " + std::to_string(start_.batch + 1) : ""));
  if (config_.average_best_models && !averager_)   // a resumed run's averager was made with the trainer
    averager_ = std::make_unique<ModelAverager>(run_dir_, 10, config_.greater_is_better);
}

void Trainer::restore(const pth::Checkpoint& ckpt) {
  const pth::Value& root = ckpt.root;
  if (!root.is_dict()) throw std::runtime_error("the checkpoint is not a dict");
  const pth::Dict& d = root.as_dict();
  const pth::Value* net = d.find("net");
  load_state_dict(*model_, net ? *net : root);  // a plain state dict is accepted too
  if (ema_) {
    const pth::Value* ema_net = d.find("ema_net");
    if (ema_net) ema_->load(*ema_net);
    else ema_->load(sg::state_dict(*model_));  // no EMA yet: start it from the weights
  }
  if (const pth::Value* opt = d.find("optimizer_state_dict"); opt && config_.load_opt_params) optimizer_->load_state_dict(*opt);
  if (const pth::Value* sched = d.find("torch_scheduler_state_dict"); sched && scheduler_) {
    scheduler_->load_state_dict(*sched);
    optimizer_->set_lr(scheduler_->lr());
  }
  if (const pth::Value* scaler = d.find("scaler_state_dict"); scaler && scaler->is_dict() && !scaler->as_dict().items.empty())
    scaler_->load_state_dict(*scaler);
  if (const pth::Value* epoch = d.find("epoch"); epoch && epoch->is_int()) start_.epoch = epoch->as_int();
  best_ = metrics_from_pth(d.find("_best_ckpt_metrics"));
  last_ = metrics_from_pth(d.find("metrics"));

  if (const pth::Value* state = d.find(kStateKey)) {
    start_.batch = field(*state, "next_batch", kStateKey).as_int();
    if (start_.batch > 0) resumed_train_counts_ = counts_from_pth(field(*state, "train_counts", kStateKey));
    if (const pth::Value* ema_updates = state->as_dict().find("ema_updates"); ema_ && ema_updates)
      ema_->set_updates(ema_updates->as_int());
    if (const pth::Value* rng = state->as_dict().find("torch_rng"); rng && rng->is_tensor())
      {
      at::Generator generator = at::detail::getDefaultCPUGenerator();
      generator.set_state(to_torch(*rng->as_tensor()));
    }
  }
  if (start_.batch < 0 || start_.batch >= train_loader_->batches_per_epoch()) start_.batch = 0;
}

pth::Value Trainer::checkpoint(int64_t finished_epochs, int64_t next_batch, const EpochMetrics& metrics,
                               const std::optional<MetricAccumulator::Counts>& partial) const {
  CheckpointContents c;
  c.net = sg::state_dict(*model_);
  c.epoch = finished_epochs;
  c.metrics = metrics;
  const auto watched = metrics.valid.find(config_.metric_to_watch);
  c.acc = watched == metrics.valid.end() ? 0.0 : watched->second;
  c.best_metrics = best_;
  c.optimizer_state = optimizer_->state_dict();
  c.scaler_state = scaler_->state_dict();
  pth::Value root = make_sg_checkpoint(c);
  auto& d = root.as_dict();
  if (ema_) d.set(pth::Value::string("ema_net"), to_pth_state_dict(ema_->state()));
  if (scheduler_) d.set(pth::Value::string("torch_scheduler_state_dict"), scheduler_->state_dict());

  pth::Value state = pth::Value::dict();
  auto& s = state.as_dict();
  s.set(pth::Value::string("next_batch"), pth::Value::integer(next_batch));
  if (partial) s.set(pth::Value::string("train_counts"), counts_to_pth(*partial));
  if (ema_) s.set(pth::Value::string("ema_updates"), pth::Value::integer(ema_->updates()));
  s.set(pth::Value::string("torch_rng"), to_pth(at::detail::getDefaultCPUGenerator().get_state()));
  if (branch_) s.set(pth::Value::string("branched_from"), pth::Value::string(resume_from_));
  d.set(pth::Value::string(kStateKey), state);
  return root;
}

void Trainer::write(const std::string& name, const pth::Value& checkpoint) {
  const std::string path = run_dir_ + "/" + name;
  try {
    pth::write_checkpoint(path, checkpoint);
  } catch (const pth::Error& e) {
    throw CheckpointWriteError(path + ": " + e.what());
  }
}

}  // namespace sg
