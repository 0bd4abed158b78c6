#include "train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <torch/torch.h>

#include "pth/checkpoint.hpp"
#include "pth/sg_layout.hpp"
#include "recipe/run_dir.hpp"
#include "remote/file_arguments.hpp"
#include "sg/checkpoint/load_weights.hpp"
#include "sg/checkpoint/packages.hpp"
#include "sg/eval/validation.hpp"
#include "sg/models/batch_norm.hpp"
#include "sg/runtime/cpu_settings.hpp"
#include "sg/runtime/device.hpp"
#include "sg/train/remote_run.hpp"
#include "sg/train/progress.hpp"
#include "sg/train/stop_signal.hpp"
#include "train/loss.hpp"
#include "train/process_group.hpp"

namespace sg {
namespace {

using Clock = std::chrono::steady_clock;

// SG names every param group "default" (sg/optim/optimizer.hpp): its LR tags are LR or LR/default.
constexpr const char* kGroupName = "default";

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string format_metrics(const MetricValues& values) {
  std::string out;
  char buf[96];
  for (const auto& [name, value] : values) {
    std::snprintf(buf, sizeof buf, "%s%s %.4f", out.empty() ? "" : ", ", name.c_str(), value);
    out += buf;
  }
  return out;
}

bool listed(const std::vector<int64_t>& epochs, int64_t epoch) {
  return std::find(epochs.begin(), epochs.end(), epoch) != epochs.end();
}

std::string epoch_checkpoint_name(int64_t epoch) { return "ckpt_epoch_" + std::to_string(epoch) + ".pth"; }

}  // namespace

Trainer::Trainer(Recipe recipe, const TrainingOptions& options)
    : recipe_(std::move(recipe)), config_(read_training_config(recipe_)), device_(pick_device(config_.device)) {
  config_.checkpoint.zoo = options.zoo;
  packages_ = packages_entry(options.program);
  ProcessGroup group =
      join_process_group(config_, std::chrono::milliseconds(int64_t(options.collective_timeout_s * 1000)), device_);
  device_ = group.device;
  collective_ = std::move(group.collective);
  process_note_ = group.description;
  job_ = group.job;
  restart_count_ = group.restart_count;
  if (collective_->world_size() > 1) {
    // A worker ended by a signal while the others train would fail them all: from here a
    // signal asks every worker to stop (after the first step if it comes before training).
    // The barrier makes that true on every worker before rank 0 reports anything.
    enable_graceful_stop();
    collective_->barrier();
  }
  if (collective_->rank() != 0) output_.silence();
  output_.set_progress_every(options.progress_every_s);
  if (collective_->rank() == 0 && (config_.remote.uploads() || config_.remote.resume_from_remote))
    check_storage_location(config_.remote);
  if (config_.async_checkpoint) output_.write_in_background();
  config_.data.train.loader.shard = {collective_->rank(), collective_->world_size(), /*pad=*/true};
  config_.data.val.loader.shard = {collective_->rank(), collective_->world_size(), /*pad=*/false};
  set_threads(config_.num_threads, group.local_world_size);
  torch::manual_seed(config_.seed);
  model_ = create_model(config_.architecture, config_.model);
  model_->to(device_);
  weight_notes_ = load_initial_weights(*model_, config_.architecture, config_.model.num_classes, config_.checkpoint);
  parameters_ = model_->parameters();   // after load_initial_weights, which may replace the head
  if (config_.sync_bn && collective_->world_size() > 1) {
    try {
      enable_sync_batch_norm(*model_, *collective_);
    } catch (const std::invalid_argument& e) {
      throw RecipeError(std::string("training_hyperparams.sync_bn: ") + e.what());
    }
  }
  {
    std::vector<torch::Tensor> weights = parameters_;
    for (const torch::Tensor& buffer : model_->buffers()) weights.push_back(buffer);
    collective_->broadcast_weights(weights);
  }
  optimizer_ = std::make_unique<Optimizer>(config_.optimizer,
                                           sg_param_groups(*model_, config_.optimizer.zero_weight_decay_on_bias_and_bn));
  train_data_ = load_dataset(config_.data, true);
  val_data_ = load_dataset(config_.data, false);
  check_dataset_fits(*train_data_, config_.model);
  check_dataset_fits(*val_data_, config_.model);
  train_loader_ = std::make_unique<DataLoader>(*train_data_, config_.data.train.transforms, config_.data.train.loader);
  val_loader_ = std::make_unique<DataLoader>(*val_data_, config_.data.val.transforms, config_.data.val.loader);
  const int64_t total_steps = config_.max_epochs * train_loader_->batches_per_epoch();
  if (config_.torch_scheduler.empty()) {
    lr_policy_ = make_sg_lr_policy(config_.lr);
  } else {
    std::unique_ptr<TorchScheduler> scheduler;
    try {
      scheduler = make_torch_scheduler(config_.torch_scheduler, config_.torch_scheduler_params,
                                       TorchSchedulerContext{optimizer_->lrs(), total_steps, optimizer_->has_betas()});
    } catch (const std::invalid_argument& e) {
      throw RecipeError(std::string("training_hyperparams.torch_scheduler_params: ") + e.what());
    }
    lr_policy_ = make_torch_lr_policy(std::move(scheduler), *optimizer_);
  }
  if (config_.ema.enabled) {
    ema_model_ = create_model(config_.architecture, config_.model);
    ema_model_->to(device_);
    ema_ = std::make_unique<ModelEMA>(*model_, config_.ema.decay, config_.ema.decay_type, config_.ema.beta, total_steps,
                                      ema_model_);
  }
  scaler_ = std::make_unique<GradScaler>(config_.mixed_precision == MixedPrecision::float16 && device_.is_cuda());

  find_resume_checkpoint();
  if (!resume_from_.empty()) {
    remote::FileArguments given;   // a remote resume_path is read from a downloaded copy
    try {
      restore(pth::read_checkpoint(given.readable(resume_from_)));
    } catch (const std::exception& e) {
      throw RecipeError("cannot resume from " + resume_from_ + ": " + given.shown(e.what()));
    }
  }
  // Continuing a run in place: its averaging snapshots are read now, so that a damaged
  // one is an input error found before anything in the run directory is rewritten.
  if (run_ && config_.average_best_models && !resumed_averaging_.is_none()) {
    try {
      averager_ = std::make_unique<ModelAverager>(run_->folder().child("averaging", /*create=*/false), kAveragedModels,
                                                  config_.greater_is_better, &resumed_averaging_);
    } catch (const std::exception& e) {
      throw RecipeError(std::string("cannot resume the average of the best models: ") + e.what());
    }
  }
}

Trainer::~Trainer() = default;

TrainingInterrupted Trainer::interrupted(const std::string& when, const std::string& what_is_saved) const {
  return TrainingInterrupted("stopped by a signal " + when + "; " + run_dir_ + "/ckpt_latest.pth holds " + what_is_saved +
                                 " (resume with training_hyperparams.run_id=" +
                                 std::filesystem::path(run_dir_).filename().string() + ")",
                             collective_->rank() == 0 ? run_dir_ : std::string());
}

std::string Trainer::train() {
  try {
    const std::string run = train_epochs();
    output_.finish_saves();
    output_.finish_uploads(config_.remote.upload_timeout_s);
    return run;
  } catch (const TrainingInterrupted&) {
    output_.finish_saves();   // the stop's own save is written (and uploaded) before the program says it stopped
    output_.finish_uploads(config_.remote.upload_timeout_s);
    throw;
  } catch (...) {
    output_.finish_saves_after_failure();
    output_.finish_uploads_after_failure(config_.remote.upload_timeout_s);
    throw;
  }
}

std::string Trainer::train_epochs() {
  enable_graceful_stop();
  last_save_ = Clock::now();
  open_run();
  output_.open_events();
  open_records();
  output_.line("model " + config_.architecture + " on " + device_.str() + ", " + std::to_string(train_data_->size()) +
               " training and " + std::to_string(val_data_->size()) + " validation images, " +
               std::to_string(train_loader_->batches_per_epoch()) + " batches per epoch" +
               (collective_->world_size() > 1 ? " per process" : ""));
  if (!process_note_.empty()) output_.line(process_note_);
  for (const std::string& note : weight_notes_) output_.line(note);
  for (const std::string& note : remote_notes_) output_.line(note);
  if (config_.mixed_precision == MixedPrecision::float16 && !device_.is_cuda())
    output_.line("warning: training_hyperparams.mixed_precision: not supported on the CPU, training in float32 "
                 "as SG does (mixed_precision_dtype=bfloat16 asks for bfloat16 autocast)");
  for (int64_t epoch = start_.epoch; epoch < config_.max_epochs; ++epoch) {
    const Clock::time_point epoch_start = Clock::now();
    const MetricValues train = train_epoch(epoch, epoch == start_.epoch ? start_.batch : 0);
    const int64_t finished = epoch + 1;
    const bool validate_now = finished % config_.run_validation_freq == 0 || finished == config_.max_epochs ||
                              listed(config_.save_ckpt_epoch_list, finished);
    NamedValues values = phase_scalars("Train", train, seconds_since(epoch_start), epoch);
    for (const auto& [tag, lr] : epoch_start_lrs_) {
      output_.scalar(tag, lr, epoch);
      values.emplace_back(tag, lr);
    }
    char speed[96];
    std::snprintf(speed, sizeof speed, " (%.1f img/s, %.1f%% waiting for data)", throughput_.images_per_second,
                  100 * throughput_.data_wait_fraction);
    const std::string summary = "epoch " + std::to_string(finished) + " train: " + format_metrics(train) + speed;
    if (!validate_now) {
      output_.flush_scalars();
      output_.line(summary);
      output_.record_epoch({finished, values, seconds_since(epoch_start)});
      output_.upload_logs();
      lr_policy_->after_epoch(*optimizer_, std::nullopt);
      continue;
    }
    const Clock::time_point valid_start = Clock::now();
    const MetricValues valid = validate(validation_model(), epoch);
    const NamedValues valid_values = phase_scalars("Valid", valid, seconds_since(valid_start), epoch);
    values.insert(values.end(), valid_values.begin(), valid_values.end());
    output_.flush_scalars();
    output_.line(summary + " | valid: " + format_metrics(valid));
    lr_policy_->after_epoch(*optimizer_, valid.at(config_.metric_to_watch));
    after_validation(epoch, train, valid);
    log_save_costs(finished);
    output_.record_epoch({finished, values, seconds_since(epoch_start)});
    output_.upload_logs();
    if (collective_->any(stop_requested()) && finished < config_.max_epochs && config_.save_model)
      throw interrupted("after epoch " + std::to_string(finished), "it");
  }
  if (start_.epoch == config_.max_epochs)
    output_.line("the run already finished its " + std::to_string(config_.max_epochs) +
                 " epochs: nothing to train (raise training_hyperparams.max_epochs to continue it)");
  if (best_ && best_->valid.count(config_.metric_to_watch))
    output_.line("best " + config_.metric_to_watch + " " + std::to_string(best_->valid.at(config_.metric_to_watch)));
  validate_average();
  return collective_->rank() == 0 ? run_dir_ : std::string();
}

MetricValues Trainer::train_epoch(int64_t epoch, int64_t first_batch) {
  model_->train();
  MetricAccumulator metrics(config_.train_metrics, config_.loss_name);
  if (first_batch > 0 && collective_->rank() == 0) metrics.restore(resumed_train_counts_);   // global counts
  const int64_t batches = train_loader_->batches_per_epoch();
  const auto options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(config_.label_smoothing);
  train_loader_->start_epoch(epoch, first_batch);
  optimizer_->get().zero_grad();
  const auto start = Clock::now();
  const int64_t samples_before = metrics.samples();
  double waiting = 0;  // seconds spent waiting for the loader
  Batch batch;
  for (auto asked = Clock::now(); train_loader_->next(batch); asked = Clock::now()) {
    waiting += std::chrono::duration<double>(Clock::now() - asked).count();
    lr_policy_->before_batch(*optimizer_, epoch, batch.index, train_loader_->batches_in_dataset());
    const NamedValues rates = lr_tags(std::vector<std::string>(optimizer_->group_count(), kGroupName), optimizer_->lrs());
    if (batch.index == first_batch) epoch_start_lrs_ = rates;   // SG's LR of the epoch: its first batch's
    const torch::Tensor images = batch.images.to(device_, /*non_blocking=*/true);
    const torch::Tensor labels = batch.labels.to(device_, /*non_blocking=*/true);
    const torch::Tensor targets =
        batch.targets.defined() ? batch.targets.to(device_, /*non_blocking=*/true) : torch::Tensor();
    torch::Tensor logits, loss;
    {
      Autocast autocast(config_.mixed_precision, device_);
      logits = model_->forward(images);
      loss = training_loss(logits, labels, targets, options);
    }
    scaler_->scale(config_.batch_accumulate > 1 ? loss / double(config_.batch_accumulate) : loss).backward();
    const bool step_now = (batch.index + 1) % config_.batch_accumulate == 0 || batch.index + 1 == batches;
    StepRequests agreed;
    if (step_now) {
      ++steps_taken_;
      agreed = optimizer_step(epoch, batch.index, {stop_requested(), periodic_save_due()});
    }
    const double loss_value = loss.item<double>();
    if (config_.check_finite && !std::isfinite(loss_value))
      throw TrainingDiverged("the training loss is " + std::to_string(loss_value) + " at epoch " +
                             std::to_string(epoch + 1) + ", batch " + std::to_string(batch.index + 1) +
                             "; stopped without saving it (the checkpoints of earlier epochs are intact; "
                             "training_hyperparams.check_finite=False trains on)");
    if (step_now) record_step(epoch, batch.index, loss_value, rates);
    // SG's Accuracy and Top5 score a probability target by its argmax.
    metrics.add(logits.detach().to(torch::kFloat32), targets.defined() ? targets.argmax(1) : labels, loss_value);
    const double seconds = seconds_since(start);
    output_.progress({epoch_label(epoch), "train", batch.index + 1, batches, loss_value,
                      double(metrics.samples() - samples_before) / std::max(seconds, 1e-9), seconds,
                      eta_seconds(seconds, batch.index + 1 - first_batch, batches - batch.index - 1)});
    if ((agreed.stop || agreed.save) && batch.index + 1 < batches) {
      save_position(epoch, batch.index + 1, metrics);
      if (agreed.stop)
        throw interrupted("at epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(batch.index + 1),
                          "the position");
    }
  }
  output_.clear_progress();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  throughput_ = {double(metrics.samples() - samples_before) / std::max(seconds, 1e-9),
                 seconds > 0 ? waiting / seconds : 0};
  metrics.restore(global_counts(metrics));
  return metrics.values();
}

MetricAccumulator::Counts Trainer::global_counts(const MetricAccumulator& metrics) {
  MetricAccumulator::Counts counts = metrics.counts();
  collective_->sum_counts(counts);
  return counts;
}

StepRequests Trainer::optimizer_step(int64_t epoch, int64_t batch, StepRequests asked) {
  const StepRequests agreed = collective_->average_gradients(parameters_, asked);
  if (config_.clip_grad_norm) {
    scaler_->unscale_(optimizer_->get());
    torch::nn::utils::clip_grad_norm_(model_->parameters(), *config_.clip_grad_norm);
  }
  scaler_->step(optimizer_->get());
  scaler_->update();
  optimizer_->get().zero_grad();
  // SG numbers EMA steps by batch, from 1, with epochs as long as the dataset (whatever
  // max_train_batches cuts): batch + 1 + batches * epoch.
  const int64_t batches = train_loader_->batches_in_dataset();
  if (ema_) ema_->update(*model_, global_step(epoch, batch), config_.max_epochs * batches);
  lr_policy_->after_step(*optimizer_);
  return agreed;
}

bool Trainer::periodic_epoch(int64_t epoch) const {
  return config_.save_ckpt_every_n_epochs > 0 && epoch % config_.save_ckpt_every_n_epochs == 0;
}

void Trainer::remove_old_epoch_checkpoints(int64_t finished) {
  if (config_.keep_last_n_epoch_ckpts == 0 || !run_ || collective_->rank() != 0) return;
  const int64_t every = config_.save_ckpt_every_n_epochs;
  const int64_t oldest_kept = (finished / every - config_.keep_last_n_epoch_ckpts + 1) * every;
  for (int64_t epoch = every; epoch < oldest_kept; epoch += every) {
    const std::string name = epoch_checkpoint_name(epoch);
    std::error_code ec;
    // By path, not by file: the names of one epoch's state are links to one file.
    const bool resumed_from = !resume_from_.empty() && std::filesystem::weakly_canonical(run_->folder().path_of(name), ec) ==
                                                           std::filesystem::weakly_canonical(resume_from_, ec);
    if (listed(config_.save_ckpt_epoch_list, epoch) || resumed_from || !run_->folder().exists(name)) continue;
    output_.remove(run_->folder(), name);
  }
}

bool Trainer::periodic_save_due() const {
  if (config_.ckpt_every_n_steps > 0 && steps_taken_ % config_.ckpt_every_n_steps == 0) return true;
  return config_.ckpt_every_n_minutes > 0 &&
         std::chrono::duration<double>(Clock::now() - last_save_).count() >= 60 * config_.ckpt_every_n_minutes;
}

void Trainer::save_position(int64_t epoch, int64_t next_batch, const MetricAccumulator& metrics) {
  output_.clear_progress();
  require_finite_weights("at epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(next_batch));
  const MetricAccumulator::Counts counts = global_counts(metrics);
  output_.begin_save();
  output_.write_checkpoint({"ckpt_latest.pth"},
                           checkpoint(epoch, next_batch, last_.value_or(EpochMetrics{config_.metric_to_watch, {}, {}}), counts));
  last_save_ = Clock::now();
  collective_->barrier();   // no worker runs ahead of (or, stopping, exits before) rank 0's save
}

void Trainer::log_save_costs(int64_t finished) {
  const SaveQueue::Stats stats = output_.take_save_stats();
  if (stats.saves == 0) return;
  char text[200];
  std::snprintf(text, sizeof text, "checkpoints of epoch %lld: %lld saved%s, training blocked %.3f s by them (%.3f s waiting for an earlier write)",
                (long long)finished, (long long)stats.saves, output_.saves_in_background() ? " in the background" : "",
                stats.blocking_seconds + stats.waiting_seconds, stats.waiting_seconds);
  output_.line(text);
}

Classifier& Trainer::validation_model() { return ema_ ? *ema_model_ : *model_; }

MetricValues Trainer::validate(Classifier& model, int64_t epoch) {
  const Clock::time_point start = Clock::now();
  const int64_t total = val_loader_->batches_per_epoch();
  const MetricValues values =
      sg::validate(model, *val_loader_, config_, device_, collective_.get(), [&](int64_t done, int64_t samples, double loss) {
        const double seconds = seconds_since(start);
        output_.progress({epoch_label(epoch), "valid", done, total, loss, double(samples) / std::max(seconds, 1e-9), seconds,
                          eta_seconds(seconds, done, total - done)});
      }).metrics;
  output_.clear_progress();
  return values;
}

std::string Trainer::epoch_label(int64_t epoch) const {
  return "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config_.max_epochs);
}

int64_t Trainer::global_step(int64_t epoch, int64_t batch) const {
  return batch + 1 + train_loader_->batches_in_dataset() * epoch;
}

NamedValues Trainer::phase_scalars(const std::string& phase, const MetricValues& values, double seconds, int64_t epoch) {
  output_.scalar(phase + " Inference Time", seconds, epoch);
  NamedValues named;
  for (const auto& [name, value] : values) {
    named.emplace_back(phase + "_" + name, value);
    output_.scalar(named.back().first, value, epoch);
  }
  return named;
}

void Trainer::record_step(int64_t epoch, int64_t batch, double loss, const NamedValues& rates) {
  const int64_t step = global_step(epoch, batch);
  output_.scalar("Step/Train_" + config_.loss_name, loss, step);
  for (const auto& [tag, lr] : rates) output_.scalar("Step/" + tag, lr, step);
  output_.flush_scalars();
  output_.record_step({step, epoch + 1, loss, rates.front().second});
}

void Trainer::open_records() {
  ReportInfo info;
  info.experiment = config_.experiment_name;
  info.run_id = std::filesystem::path(run_dir_).filename().string();
  info.architecture = config_.architecture;
  info.max_epochs = config_.max_epochs;
  info.loss_name = config_.loss_name;
  info.watched = config_.metric_to_watch;
  info.greater_is_better = config_.greater_is_better;
  std::optional<RunRecords::Continued> continued;
  if (!resume_from_.empty() && !branch_) continued = RunRecords::Continued{start_.epoch, global_step(start_.epoch, start_.batch)};
  output_.open_records(std::move(info), continued);
}

bool Trainer::improves(double value) const {
  if (!std::isfinite(value)) return false;
  if (!best_ || !best_->valid.count(config_.metric_to_watch)) return true;
  const double best = best_->valid.at(config_.metric_to_watch);
  return config_.greater_is_better ? value > best : value < best;
}

void Trainer::after_validation(int64_t epoch, const MetricValues& train, const MetricValues& valid) {
  const int64_t finished = epoch + 1;
  const EpochMetrics metrics{config_.metric_to_watch, valid, train};
  last_ = metrics;
  const double watched = valid.at(config_.metric_to_watch);
  const bool is_best = improves(watched);
  if (is_best) best_ = metrics;
  if (!config_.save_model) return;
  save_epoch(finished, is_best, metrics, watched);
  collective_->barrier();   // no worker runs ahead of rank 0's checkpoint
}

void Trainer::require_finite_weights(const std::string& when) const {
  if (!config_.check_finite) return;
  torch::NoGradGuard no_grad;
  for (const Classifier* model : {model_.get(), ema_model_.get()}) {
    if (!model) continue;
    for (const auto& p : model->parameters())
      if (!torch::isfinite(p).all().item<bool>())
        throw TrainingDiverged(std::string(model == ema_model_.get() ? "the EMA weights" : "the weights") +
                               " are no longer finite " + when +
                               "; stopped without saving them (the checkpoints of earlier epochs are intact)");
  }
}

// One epoch's save is one transaction whose commit record is ckpt_latest.pth, written
// last: everything else of the epoch (averaging snapshot, average_model.pth, the best and
// the numbered checkpoint) is complete before it. A crash before it leaves the previous
// ckpt_latest.pth, whose averaging record names the previous snapshots, so the resumed run
// redoes this epoch and rewrites the same files; the averaging files this save replaced
// are removed only after the commit.
void Trainer::save_epoch(int64_t finished, bool is_best, const EpochMetrics& metrics, double watched) {
  require_finite_weights("after epoch " + std::to_string(finished));
  output_.begin_save();
  if (averager_) {
    // SG: snapshots of the EMA model when EMA is on; average_model.pth rewritten each time.
    averager_->add(ema_ ? ema_->state() : sg::state_dict(*model_), watched);
  }
  const pth::Value ckpt = checkpoint(finished, 0, metrics);
  if (averager_) output_.write_checkpoint({"average_model.pth"}, pth::make_average_checkpoint(ckpt, to_pth_state_dict(averager_->average())));
  // One file of the epoch's state, written once, ckpt_latest.pth (the commit) named last.
  std::vector<std::string> names;
  if (is_best) names.push_back(config_.ckpt_best_name);
  if (listed(config_.save_ckpt_epoch_list, finished) || periodic_epoch(finished)) names.push_back(epoch_checkpoint_name(finished));
  names.push_back("ckpt_latest.pth");
  output_.write_checkpoint(names, ckpt);
  last_save_ = Clock::now();
  if (averager_) averager_->commit();
  remove_old_epoch_checkpoints(finished);
  if (is_best) output_.line("new best " + config_.metric_to_watch + " " + std::to_string(watched) + ", saved " + config_.ckpt_best_name);
}

// Rank 0 alone holds the averaging store: it validates the average on the whole
// validation set, without the other workers.
void Trainer::validate_average() {
  if (!averager_ || averager_->size() == 0) return;
  auto averaged = create_model(config_.architecture, config_.model);
  averaged->to(device_);
  load_state_dict_into(*averaged, to_pth_state_dict(averager_->average()), pth::StrictMode::On);
  LoaderOptions whole = config_.data.val.loader;
  whole.shard = {};
  DataLoader loader(*val_data_, config_.data.val.transforms, whole);
  output_.line("average of the " + std::to_string(averager_->size()) + " best models, valid: " +
               format_metrics(sg::validate(*averaged, loader, config_, device_, nullptr).metrics));
}

}  // namespace sg
