#include "sg/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <cmath>
#include <cstdio>

#include <torch/torch.h>

#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "sg/run_dir.hpp"
#include "sg/tensorboard.hpp"

namespace sg {
namespace {

torch::Device pick_device(const std::string& wanted) {
  if (wanted.empty()) return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  try {
    torch::Device device(wanted);
    if (device.is_cuda() && !torch::cuda::is_available())
      throw RecipeError("training_hyperparams.device: '" + wanted + "' requested but CUDA is not available");
    return device;
  } catch (const c10::Error&) {
    throw RecipeError("training_hyperparams.device: unknown device '" + wanted + "'");
  }
}

std::string format_metrics(const MetricValues& values) {
  std::string out;
  char buf[96];
  for (const auto& [name, value] : values) {
    std::snprintf(buf, sizeof buf, "%s%s %.4f", out.empty() ? "" : ", ", name.c_str(), value);
    out += buf;
  }
  return out;
}

std::vector<torch::Tensor> trainable_parameters(torch::nn::Module& model) { return model.parameters(/*recurse=*/true); }

}  // namespace

// TensorBoard scalars go through one writer per run.
struct Trainer::Events {
  explicit Events(const std::string& dir) : writer(dir) {}
  TensorBoardWriter writer;
};

Trainer::Trainer(Recipe recipe)
    : recipe_(std::move(recipe)), config_(read_training_config(recipe_)), device_(pick_device(config_.device)) {
  // LibTorch's own default can be one thread where OpenMP miscounts the cores.
  torch::set_num_threads(config_.num_threads > 0 ? int(config_.num_threads)
                                                 : int(std::max(1u, std::thread::hardware_concurrency())));
  torch::manual_seed(config_.seed);
  model_ = create_model(config_.architecture, config_.model);
  model_->to(device_);
  optimizer_ = std::make_unique<Optimizer>(config_.optimizer, trainable_parameters(*model_));
  train_data_ = load_dataset(config_.data, true);
  val_data_ = load_dataset(config_.data, false);
  if (train_data_.channels != config_.model.in_channels)
    throw RecipeError("arch_params.in_channels: " + std::to_string(config_.model.in_channels) +
                      " but the dataset's images have " + std::to_string(train_data_.channels) + " channels");
  train_loader_ = std::make_unique<DataLoader>(train_data_, config_.data.train_augmentation, config_.data.train_loader);
  val_loader_ = std::make_unique<DataLoader>(val_data_, config_.data.val_augmentation, config_.data.val_loader);
}

Trainer::~Trainer() = default;

void Trainer::setup_run() {
  run_dir_ = create_run_dir(config_.ckpt_root_dir, config_.experiment_name);
  store_recipe(recipe_, run_dir_);
  log_.open_file(run_dir_);
  events_ = std::make_unique<Events>(run_dir_);
  log_.line("run directory " + run_dir_);
  log_.line("model " + config_.architecture + " on " + device_.str() + ", " + std::to_string(train_data_.size) +
            " training and " + std::to_string(val_data_.size) + " validation images, " +
            std::to_string(train_loader_->batches_per_epoch()) + " batches per epoch");
}

std::string Trainer::train() {
  setup_run();
  for (int64_t epoch = 0; epoch < config_.max_epochs; ++epoch) {
    const MetricValues train = train_epoch(epoch);
    const int64_t finished = epoch + 1;
    const bool listed = std::count(config_.save_ckpt_epoch_list.begin(), config_.save_ckpt_epoch_list.end(), finished);
    const bool validate_now = finished % config_.run_validation_freq == 0 || finished == config_.max_epochs || listed;
    for (const auto& [name, value] : train) events_->writer.add_scalar("Train/" + name, value, finished);
    events_->writer.add_scalar("LR", optimizer_->lr(), finished);
    char speed[96];
    std::snprintf(speed, sizeof speed, " (%.1f img/s, %.1f%% waiting for data)", throughput_.images_per_second,
                  100 * throughput_.data_wait_fraction);
    const std::string summary = "epoch " + std::to_string(finished) + " train: " + format_metrics(train) + speed;
    if (!validate_now) {
      log_.line(summary);
      continue;
    }
    const MetricValues valid = validate();
    for (const auto& [name, value] : valid) events_->writer.add_scalar("Valid/" + name, value, finished);
    events_->writer.flush();
    log_.line(summary + " | valid: " + format_metrics(valid));
    save_checkpoints(epoch, train, valid);
  }
  if (best_) log_.line("best " + best_->tracked_metric_name + " " + std::to_string(best_->valid.at(best_->tracked_metric_name)));
  return run_dir_;
}

MetricValues Trainer::train_epoch(int64_t epoch) {
  model_->train();
  MetricAccumulator metrics(config_.train_metrics, config_.loss_name);
  const int64_t batches = train_loader_->batches_per_epoch();
  const auto options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(config_.label_smoothing);
  train_loader_->start_epoch(epoch);
  optimizer_->get().zero_grad();
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  double waiting = 0;  // seconds spent waiting for the loader
  Batch batch;
  int64_t step = 0;
  for (auto asked = Clock::now(); train_loader_->next(batch); asked = Clock::now()) {
    waiting += std::chrono::duration<double>(Clock::now() - asked).count();
    optimizer_->set_lr(config_.lr.at(epoch, batch.index, batches));
    const torch::Tensor images = batch.images.to(device_, /*non_blocking=*/true);
    const torch::Tensor labels = batch.labels.to(device_, /*non_blocking=*/true);
    const torch::Tensor logits = model_->forward(images);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, labels, options);
    (config_.batch_accumulate > 1 ? loss / double(config_.batch_accumulate) : loss).backward();
    ++step;
    if (step % config_.batch_accumulate == 0 || batch.index + 1 == batches) {
      if (config_.clip_grad_norm) torch::nn::utils::clip_grad_norm_(model_->parameters(), *config_.clip_grad_norm);
      optimizer_->get().step();
      optimizer_->get().zero_grad();
    }
    const double loss_value = loss.item<double>();
    metrics.add(logits.detach(), labels, loss_value);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    log_.progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config_.max_epochs), batch.index + 1,
                  batches, loss_value, double(metrics.samples()) / std::max(seconds, 1e-9));
  }
  log_.clear_progress();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  throughput_ = {double(metrics.samples()) / std::max(seconds, 1e-9), seconds > 0 ? waiting / seconds : 0};
  return metrics.values();
}

MetricValues Trainer::validate() {
  torch::NoGradGuard no_grad;
  model_->eval();
  MetricAccumulator metrics(config_.valid_metrics, config_.loss_name);
  const auto options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(config_.label_smoothing);
  val_loader_->start_epoch(0);
  Batch batch;
  while (val_loader_->next(batch)) {
    const torch::Tensor labels = batch.labels.to(device_);
    const torch::Tensor logits = model_->forward(batch.images.to(device_));
    metrics.add(logits, labels, torch::nn::functional::cross_entropy(logits, labels, options).item<double>());
  }
  return metrics.values();
}

bool Trainer::improves(double value) const {
  if (!std::isfinite(value)) return false;
  if (!best_) return true;
  const double best = best_->valid.at(config_.metric_to_watch);
  return config_.greater_is_better ? value > best : value < best;
}

void Trainer::save_checkpoints(int64_t epoch, const MetricValues& train, const MetricValues& valid) {
  if (!config_.save_model) return;
  const int64_t finished = epoch + 1;
  CheckpointContents c;
  c.metrics = {config_.metric_to_watch, valid, train};
  c.acc = valid.at(config_.metric_to_watch);
  c.epoch = finished;
  const bool is_best = improves(c.acc);
  if (is_best) best_ = c.metrics;
  c.best_metrics = best_;
  c.net = state_dict(*model_);
  c.optimizer_state = optimizer_->state_dict();
  const pth::Value checkpoint = make_sg_checkpoint(c);
  write("ckpt_latest.pth", checkpoint);
  if (is_best) {
    write(config_.ckpt_best_name, checkpoint);
    log_.line("new best " + config_.metric_to_watch + " " + std::to_string(c.acc) + ", saved " + config_.ckpt_best_name);
  }
  if (std::count(config_.save_ckpt_epoch_list.begin(), config_.save_ckpt_epoch_list.end(), finished))
    write("ckpt_epoch_" + std::to_string(finished) + ".pth", checkpoint);
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
