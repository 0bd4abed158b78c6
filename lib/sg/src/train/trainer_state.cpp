// The trainer's persistent side: which run to continue, what a checkpoint holds, and how
// a run is restored from one (ours or Python's) so that it continues exactly.
#include <cmath>
#include <filesystem>
#include <limits>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "pth/input_file.hpp"
#include "pth/sg_layout.hpp"
#include "recipe/run_dir.hpp"
#include "remote/location.hpp"
#include "sg/checkpoint/load_weights.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/train/remote_run.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace sg {
namespace {

// Our extra checkpoint key; SuperGradients and PyTorch ignore keys they do not know.
constexpr const char* kStateKey = pth::sg_keys::kSgCppState;

pth::Value counts_to_pth(const MetricAccumulator::Counts& c) {
  pth::Value d = pth::Value::dict();
  d.as_dict().set("samples", pth::Value::integer(c.samples));
  d.as_dict().set("top1", pth::Value::integer(c.top1));
  d.as_dict().set("top5", pth::Value::integer(c.top5));
  d.as_dict().set("loss_sum", pth::Value::floating(c.loss_sum));
  return d;
}

const pth::Value& field(const pth::Value& dict, const std::string& key, const std::string& where) {
  const pth::Value* v = dict.is_dict() ? dict.as_dict().find(key) : nullptr;
  if (!v) throw std::runtime_error(where + ": missing '" + key + "'");
  return *v;
}

std::string describe_scalar(const pth::Value& v) {
  if (v.is_int()) return std::to_string(v.as_int());
  if (v.is_float()) return std::to_string(v.as_number());
  if (v.is_bool()) return v.as_bool() ? "True" : "False";
  if (v.is_string()) return "'" + v.as_string() + "'";
  return "a value of another kind";
}

int64_t int_field(const pth::Value& dict, const std::string& key, const std::string& where, int64_t low, int64_t high) {
  const pth::Value& v = field(dict, key, where);
  if (!v.is_int() || v.as_int() < low || v.as_int() > high)
    throw std::runtime_error(where + "." + key + ": expected an integer in [" + std::to_string(low) + ", " +
                             std::to_string(high) + "], got " + describe_scalar(v));
  return v.as_int();
}

MetricAccumulator::Counts counts_from_pth(const pth::Value& v) {
  const std::string where = std::string(kStateKey) + ".train_counts";
  const int64_t samples = int_field(v, "samples", where, 0, std::numeric_limits<int64_t>::max());
  const int64_t top5 = int_field(v, "top5", where, 0, samples);
  const int64_t top1 = int_field(v, "top1", where, 0, top5);
  const pth::Value& loss_sum = field(v, "loss_sum", where);
  if (!(loss_sum.is_float() || loss_sum.is_int()) || !std::isfinite(loss_sum.as_number()) || loss_sum.as_number() < 0)
    throw std::runtime_error(where + ".loss_sum: expected a finite non-negative number, got " + describe_scalar(loss_sum));
  return {samples, top1, top5, loss_sum.as_number()};
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
  if (config_.remote.resume_from_remote) {
    if (!config_.resume_path.empty())
      throw RecipeError("training_hyperparams.resume_from_remote_sg_logger and resume_path: resume either from the "
                        "remote run or from the file, not both");
    std::string id;   // rank 0 fetches the run; the others use it where it landed
    if (collective_->rank() == 0)
      id = fetch_remote_run("training_hyperparams.resume_from_remote_sg_logger", config_.remote.storage_location,
                            config_.ckpt_root_dir, config_.experiment_name, config_.run_id, config_.ckpt_name,
                            remote_notes_);
    if (collective_->world_size() > 1) id = collective_->agree_on_run_directory(id);
    config_.run_id = id;
  }
  if (!config_.resume_path.empty()) {
    // A remote file (an rclone location, s3://, http(s)://) is downloaded when it is read.
    if (const std::string problem = remote::is_remote_file(config_.resume_path) ? "" : pth::input_file_problem(config_.resume_path);
        !problem.empty())
      throw RecipeError("training_hyperparams.resume_path: '" + config_.resume_path + "': " + problem);
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
  } else if (config_.resume) {
    auto latest = find_latest_run(config_.ckpt_root_dir, config_.experiment_name, config_.ckpt_name);
    if (!latest)
      throw RecipeError("training_hyperparams.resume: no run of experiment '" + config_.experiment_name + "' under " +
                        experiment.string() + " holds " + config_.ckpt_name);
    run_dir_ = *latest;
  } else if (restart_count_ > 0) {
    // torchrun restarted the workers: the run their job started continues from its last
    // checkpoint (rank 0 finds it; a run that had saved none yet starts again, anew).
    std::string started;
    if (collective_->rank() == 0)
      started = find_run_of_job(config_.ckpt_root_dir, config_.experiment_name, job_).value_or("");
    started = collective_->agree_on_run_directory(started);
    if (started.empty() || !fs::is_regular_file(fs::path(started) / config_.ckpt_name)) return;
    run_dir_ = started;
  } else {
    return;
  }
  // Continuing a run in place: it is ours from now on (a second trainer is refused), before
  // its checkpoint is even read. Of a data-parallel run's workers, rank 0 holds it.
  if (collective_->rank() == 0) run_ = RunDirectory::open(run_dir_);
  resume_from_ = (fs::path(run_dir_) / config_.ckpt_name).string();
}

void Trainer::open_run() {
  if (collective_->rank() != 0) {   // rank 0 opens the run and writes all of it
    run_dir_ = collective_->agree_on_run_directory("");
    return;
  }
  // A folder that cannot be created or written is found here, before anything is trained;
  // a run directory made by this call is removed again.
  const bool fresh = !run_;
  try {
    if (fresh) {
      run_ = RunDirectory::create(config_.ckpt_root_dir, config_.experiment_name, job_);
      run_dir_ = run_->path();
    }
    if (!fresh) run_->record_holder(job_);
    run_->remove_leftover_temp_files();
    output_.open(*run_, recipe_);
    if (config_.remote.uploads())
      output_.mirror_to(remote_run_location(config_.remote, config_.experiment_name, fs::path(run_dir_).filename().string()),
                        {config_.remote.save_checkpoints, config_.remote.save_logs, config_.remote.save_tensorboard});
    if (config_.average_best_models && !averager_)   // one with a record to resume was made with the trainer
      averager_ = std::make_unique<ModelAverager>(run_->subfolder("averaging"), kAveragedModels, config_.greater_is_better);
    if (averager_) averager_->write_through(output_);
  } catch (const std::exception& e) {
    if (fresh && run_) {
      std::error_code ec;
      fs::remove_all(run_dir_, ec);
      run_.reset();
      run_dir_.clear();
    }
    // A full disk is a write failure like any later one; a folder that refuses files is bad input.
    if (const auto* write = dynamic_cast<const RunWriteError*>(&e); write && write->no_space()) throw *write;
    throw RunDirError(e.what());
  }
  collective_->agree_on_run_directory(run_dir_);
  output_.line("run directory " + run_dir_);
  if (!resume_from_.empty())
    output_.line(std::string(branch_ ? "branched from " : "resumed from ") + resume_from_ + " at epoch " +
                 std::to_string(start_.epoch + 1) + (start_.batch ? ", batch " + std::to_string(start_.batch + 1) : ""));
}

void Trainer::restore(const pth::Checkpoint& ckpt) {
  const pth::Value& root = ckpt.root;
  if (!root.is_dict()) throw std::runtime_error("the checkpoint is not a dict");
  const pth::Dict& d = root.as_dict();
  const pth::SelectedWeights weights = pth::select_weights(root, pth::WeightsChoice::Net);  // or a plain state dict
  if (!weights.weights) throw std::runtime_error("the checkpoint has ema_net but no net");
  try {
    load_state_dict_into(*model_, *weights.weights, pth::StrictMode::On);
  } catch (const CheckpointLoadError& e) {
    throw std::runtime_error(std::string("the checkpoint does not fit the model: ") + e.what());
  }
  if (ema_) {
    if (weights.ema) ema_->load(*weights.ema);
    else ema_->load(sg::state_dict(*model_));  // no EMA yet: start it from the weights
  }
  if (const pth::Value* opt = d.find(pth::sg_keys::kOptimizerStateDict); opt && config_.load_opt_params) optimizer_->load_state_dict(*opt);
  if (const pth::Value* sched = d.find(pth::sg_keys::kTorchSchedulerStateDict)) lr_policy_->load_state_dict(*sched, *optimizer_);
  if (const pth::Value* scaler = d.find(pth::sg_keys::kScalerStateDict); scaler && scaler->is_dict() && !scaler->as_dict().items.empty())
    scaler_->load_state_dict(*scaler);
  if (const pth::Value* epoch = d.find(pth::sg_keys::kEpoch)) {
    if (!epoch->is_int() || epoch->as_int() < 0)
      throw std::runtime_error("'epoch' must be a non-negative integer, got " + describe_scalar(*epoch));
    start_.epoch = epoch->as_int();
    if (start_.epoch > config_.max_epochs)
      throw std::runtime_error("it is at epoch " + std::to_string(start_.epoch) + ", past training_hyperparams.max_epochs " +
                               std::to_string(config_.max_epochs) + " (raise max_epochs to continue it)");
  }
  best_ = metrics_from_pth(d.find(pth::sg_keys::kBestCkptMetrics));
  last_ = metrics_from_pth(d.find(pth::sg_keys::kMetrics));
  if (const pth::Value* state = d.find(kStateKey)) restore_position(*state);
}

// Our own key: where inside the epoch the run stopped, and what continues exactly from there.
void Trainer::restore_position(const pth::Value& state) {
  if (!state.is_dict()) throw std::runtime_error(std::string(kStateKey) + " is not a dict");
  const int64_t batches = train_loader_->batches_per_epoch();
  start_.batch = int_field(state, "next_batch", kStateKey, 0, batches - 1);
  // A position inside an epoch is one in each worker's shard: only the same number of workers
  // continues it (the checkpoints at epoch ends continue with any number).
  const int64_t workers = state.as_dict().find("world_size")
                              ? int_field(state, "world_size", kStateKey, 1, std::numeric_limits<int64_t>::max())
                              : 1;
  if (start_.batch > 0 && workers != collective_->world_size())
    throw std::runtime_error("it stopped inside epoch " + std::to_string(start_.epoch + 1) + " with " +
                             std::to_string(workers) + " worker(s); continue it with " + std::to_string(workers) +
                             " (this run has " + std::to_string(collective_->world_size()) + ")");
  if (start_.batch > 0 && start_.epoch == config_.max_epochs)
    throw std::runtime_error(std::string(kStateKey) + ".next_batch: a position inside epoch " +
                             std::to_string(start_.epoch + 1) + ", past max_epochs " + std::to_string(config_.max_epochs));
  if (start_.batch > 0) resumed_train_counts_ = counts_from_pth(field(state, "train_counts", kStateKey));
  if (ema_ && state.as_dict().find("ema_updates"))
    ema_->set_updates(int_field(state, "ema_updates", kStateKey, 0, std::numeric_limits<int64_t>::max()));
  if (const pth::Value* rng = state.as_dict().find("torch_rng")) {
    if (!rng->is_tensor()) throw std::runtime_error(std::string(kStateKey) + ".torch_rng is not a tensor");
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(to_torch(*rng->as_tensor()));
  }
  if (const pth::Value* averaging = state.as_dict().find("averaging"); averaging && !branch_) resumed_averaging_ = *averaging;
}

pth::Value Trainer::checkpoint(int64_t finished_epochs, int64_t next_batch, const EpochMetrics& metrics,
                               const std::optional<MetricAccumulator::Counts>& partial) const {
  CheckpointContents c;
  c.net = sg::state_dict(*model_);
  c.epoch = finished_epochs;
  c.metrics = metrics;
  c.packages = packages_;
  const auto watched = metrics.valid.find(config_.metric_to_watch);
  c.acc = watched == metrics.valid.end() ? 0.0 : watched->second;
  c.best_metrics = best_;
  c.optimizer_state = optimizer_->state_dict();
  c.scaler_state = scaler_->state_dict();
  pth::Value root = make_sg_checkpoint(c);
  auto& d = root.as_dict();
  if (ema_) d.set(pth::sg_keys::kEmaNet, to_pth_state_dict(ema_->state()));
  if (auto scheduler = lr_policy_->state_dict()) d.set(pth::sg_keys::kTorchSchedulerStateDict, *scheduler);

  pth::Value state = pth::Value::dict();
  auto& s = state.as_dict();
  s.set("next_batch", pth::Value::integer(next_batch));
  if (collective_->world_size() > 1) s.set("world_size", pth::Value::integer(collective_->world_size()));
  if (partial) s.set("train_counts", counts_to_pth(*partial));
  if (ema_) s.set("ema_updates", pth::Value::integer(ema_->updates()));
  s.set("torch_rng", to_pth(at::detail::getDefaultCPUGenerator().get_state()));
  if (branch_) s.set("branched_from", pth::Value::string(resume_from_));
  if (averager_) s.set("averaging", averager_->record());
  d.set(kStateKey, state);
  return root;
}

}  // namespace sg
