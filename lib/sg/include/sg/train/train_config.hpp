#pragma once
// The typed view of a recipe that the trainer runs on; every key is read (and checked)
// here, once, so a bad recipe fails before any work starts.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recipe/recipe.hpp"
#include "sg/checkpoint/checkpoint_loading.hpp"
#include "sg/data/data.hpp"
#include "sg/models/model.hpp"
#include "sg/optim/lr_schedule.hpp"
#include "sg/optim/optimizer.hpp"
#include "sg/optim/torch_scheduler.hpp"
#include "sg/runtime/device.hpp"

namespace sg {

// One of a run's two datasets: where it is, how its samples are transformed and batched.
struct SplitConfig {
  std::string dataset;          // fashion_mnist | mnist | cifar10 | cifar100 | synthetic | image_folder
  bool train = true;            // the part of a dataset that has both (CIFAR, synthetic)
  std::string root;             // cifar10/100: the batches' folder; image_folder: the class folders' parent
  std::string images, labels;   // IDX files
  image::Pipeline transforms;
  LoaderOptions loader;
};

struct SyntheticConfig {
  int64_t train_size = 0, val_size = 0, image_size = 0, channels = 0, num_classes = 0;
  uint64_t seed = 0;
};

// dataset_params in either form (train/data_config.cpp): the built-in recipes'
// (`dataset: cifar10`, `transforms: {crop_padding, ...}`) or SuperGradients'
// (`train_dataloader: cifar10_train`, `train_dataset_params: {root, transforms: [...]}`).
struct DataConfig {
  SplitConfig train, val;
  SyntheticConfig synthetic;
};

struct EmaConfig {
  bool enabled = false;
  double decay = 0.9999;
  std::string decay_type = "exp";   // constant | threshold | exp
  double beta = 15;
};

// SG's sg_logger_params remote saving and resume_from_remote_sg_logger: the run directory
// mirrored to storage_location/<experiment_name>/<run_id>/ (remote/location.hpp).
struct RemoteConfig {
  std::string storage_location;     // "" when nothing is remote
  bool save_checkpoints = false;
  bool save_logs = false;
  bool save_tensorboard = false;
  double upload_timeout_s = 600;    // how long the end of training waits for uploads
  bool resume_from_remote = false;
  bool uploads() const { return save_checkpoints || save_logs || save_tensorboard; }
};

struct TrainingConfig {
  std::string architecture;
  ModelOptions model;
  CheckpointParams checkpoint;     // checkpoint_params: initial weights (sg/checkpoint_loading.hpp)
  std::string experiment_name;
  std::string ckpt_root_dir;
  DataConfig data;
  OptimizerConfig optimizer;
  LrSchedule lr;
  std::string torch_scheduler;      // lr_mode naming a PyTorch scheduler ("StepLR", ...), else ""
  TorchSchedulerParams torch_scheduler_params;
  EmaConfig ema;
  // Resuming (SG's resume / run_id / resume_path / ckpt_name / load_opt_params).
  bool resume = false;
  std::string run_id;
  std::string resume_path;
  std::string ckpt_name = "ckpt_latest.pth";
  bool load_opt_params = true;
  RemoteConfig remote;
  bool average_best_models = true;
  MixedPrecision mixed_precision = MixedPrecision::off;   // sg/runtime/device.hpp
  int64_t max_epochs = 1;
  std::string loss_name;
  double label_smoothing = 0;
  std::vector<std::string> train_metrics, valid_metrics;
  std::string metric_to_watch;
  bool greater_is_better = true;
  int64_t run_validation_freq = 1;
  bool save_model = true;
  std::string ckpt_best_name;
  std::vector<int64_t> save_ckpt_epoch_list;
  // ckpt_latest.pth with the exact position inside an epoch, every that many optimizer
  // steps of this process / minutes since the last save of it (0: only at epoch ends).
  int64_t ckpt_every_n_steps = 0;
  double ckpt_every_n_minutes = 0;
  // ckpt_epoch_N.pth every that many epochs too, of which the newest keep_last_n_epoch_ckpts
  // are kept (0: all); files of save_ckpt_epoch_list and the one resumed from always stay.
  int64_t save_ckpt_every_n_epochs = 0;
  // Saves copy the state and return; a thread writes the files (False: written in place).
  bool async_checkpoint = true;
  int64_t keep_last_n_epoch_ckpts = 0;
  uint64_t seed = 42;
  int64_t batch_accumulate = 1;
  std::optional<double> clip_grad_norm;
  bool check_finite = true;    // a non-finite loss or weight stops the run before it is saved
  std::string multi_gpu = "Off";   // SG's top-level multi_gpu: Off | DP | DDP | AUTO (train/process_group.hpp)
  int64_t num_gpus = 1;            // SG's top-level num_gpus (null: 1 with Off, all devices with DDP)
  bool sync_bn = false;            // BatchNorm statistics over all workers (several workers only, as SG)
  std::string device;          // "" = CUDA when available
  int64_t num_threads = 0;     // 0 = LibTorch's default
};

// The training or validation set the config names (files read or indexed, or generated).
std::unique_ptr<SampleSource> load_dataset(const DataConfig& config, bool train);
// Throws RecipeError when the images' channels are not arch_params.in_channels or there are
// more classes than arch_params.num_classes.
void check_dataset_fits(const SampleSource& data, const ModelOptions& model);

// Throws RecipeError naming the key for a missing or invalid value.
TrainingConfig read_training_config(const Recipe& recipe);
// Its optimizer part alone: training_hyperparams.optimizer, initial_lr, optimizer_params
// over SG's defaults, zero_weight_decay_on_bias_and_bn.
OptimizerConfig read_optimizer_config(const Recipe& recipe);

}  // namespace sg
