#pragma once
// The training loop behind sg::Training (sg/train/training.hpp), which states what it does.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recipe/recipe.hpp"
#include "recipe/run_dir.hpp"
#include "recipe/run_errors.hpp"
#include "sg/checkpoint/sg_checkpoint.hpp"
#include "sg/data/data.hpp"
#include "sg/train/training_errors.hpp"
#include "sg/dist/collective.hpp"
#include "sg/eval/metrics.hpp"
#include "sg/models/model.hpp"
#include "sg/optim/ema.hpp"
#include "sg/optim/grad_scaler.hpp"
#include "sg/optim/model_averager.hpp"
#include "sg/optim/optimizer.hpp"
#include "sg/optim/lr_policy.hpp"
#include "sg/train/train_config.hpp"
#include "sg/train/training.hpp"
#include "train/run_output.hpp"

namespace pth {
struct Checkpoint;
}

namespace sg {

class Trainer {
 public:
  Trainer(Recipe recipe, const TrainingOptions& options);
  ~Trainer();

  std::string train();

 private:
  std::string train_epochs();   // train() before it waits for the saves in flight
  // The stop after a signal, `when` ("after epoch 3") saying where the run stopped.
  TrainingInterrupted interrupted(const std::string& when, const std::string& what_is_saved) const;
  struct Position {
    int64_t epoch = 0;        // the epoch to run next (0-based)
    int64_t batch = 0;        // its first batch (non-zero after a mid-epoch stop)
  };

  void find_resume_checkpoint();
  void open_run();
  void restore(const pth::Checkpoint& ckpt);
  MetricValues train_epoch(int64_t epoch, int64_t first_batch);
  // Returns the requests all processes agreed on with the gradients.
  StepRequests optimizer_step(int64_t epoch, int64_t batch, StepRequests asked);
  // ckpt_every_n_steps / ckpt_every_n_minutes: whether this step's end is due a checkpoint.
  bool periodic_save_due() const;
  // ckpt_latest.pth holding the position inside `epoch` before `next_batch`.
  void save_position(int64_t epoch, int64_t next_batch, const MetricAccumulator& metrics);
  MetricValues validate(Classifier& model, int64_t epoch);   // with progress reports
  std::string epoch_label(int64_t epoch) const;   // "epoch 3/10" for the 0-based epoch 2
  // SG's number of the step after `batch` (0-based) of `epoch` (0-based): batch + 1 +
  // epoch * the batches in the training set (as for EMA, whatever max_train_batches cuts).
  int64_t global_step(int64_t epoch, int64_t batch) const;
  // SG's epoch scalars of `phase` ("Train", "Valid") at the 0-based epoch: "<phase> Inference
  // Time" (seconds) and "<phase>_<metric>"; returns the metrics under those names.
  NamedValues phase_scalars(const std::string& phase, const MetricValues& values, double seconds, int64_t epoch);
  // After an optimizer step: Step/Train_<loss> and Step/LR at SG's step, and a steps.csv row.
  void record_step(int64_t epoch, int64_t batch, double loss, const NamedValues& rates);
  void open_records();   // metrics.csv, steps.csv, report.html: continued in place, or new
  Classifier& validation_model();
  void after_validation(int64_t epoch, const MetricValues& train, const MetricValues& valid);
  // check_finite: refuses to save weights that are NaN or infinite.
  void require_finite_weights(const std::string& when) const;
  void save_epoch(int64_t finished, bool is_best, const EpochMetrics& metrics, double watched);
  bool periodic_epoch(int64_t epoch) const;   // save_ckpt_every_n_epochs
  // keep_last_n_epoch_ckpts: the older periodic ckpt_epoch_N.pth removed, once `finished` is committed.
  void remove_old_epoch_checkpoints(int64_t finished);
  // What the epoch's checkpoints cost the training thread, in the log.
  void log_save_costs(int64_t finished);
  // `partial`: the training metrics accumulated so far when stopping mid-epoch.
  pth::Value checkpoint(int64_t finished_epochs, int64_t next_batch, const EpochMetrics& metrics,
                        const std::optional<MetricAccumulator::Counts>& partial = std::nullopt) const;
  void restore_position(const pth::Value& state);
  // This worker's counts summed over all workers (a collective: every worker calls it).
  MetricAccumulator::Counts global_counts(const MetricAccumulator& metrics);
  bool improves(double value) const;
  void validate_average();

  std::unique_ptr<Collective> collective_;   // the workers of the run (train/process_group.hpp)
  std::string process_note_;                  // what the log says of them
  std::string job_;                           // the torchrun agent's, recorded with the run (ProcessGroup)
  int64_t restart_count_ = 0;                 // > 0: torchrun restarted the workers
  Recipe recipe_;
  TrainingConfig config_;
  torch::Device device_;
  std::shared_ptr<Classifier> model_;
  std::vector<torch::Tensor> parameters_;   // model_'s, in optimizer order
  std::shared_ptr<Classifier> ema_model_;   // holds the EMA weights, validated when EMA is on
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LrPolicy> lr_policy_;
  std::unique_ptr<ModelEMA> ema_;
  std::unique_ptr<GradScaler> scaler_;
  std::unique_ptr<ModelAverager> averager_;
  std::unique_ptr<SampleSource> train_data_, val_data_;
  std::unique_ptr<DataLoader> train_loader_, val_loader_;

  std::string resume_from_;     // checkpoint file to continue from, if any
  pth::Value resumed_averaging_;   // its averaging record (ModelAverager::record), if any
  pth::Value packages_;            // the checkpoints' `packages` entry
  std::vector<std::string> weight_notes_;   // for the log: the initial weights chosen, and what loading them skipped
  std::vector<std::string> remote_notes_;   // what fetching a remote run did
  bool branch_ = false;         // resume_path: a new run directory
  std::string run_dir_;          // its path, for messages
  std::optional<RunDirectory> run_;   // held (locked) from the moment it is known
  Position start_;
  MetricAccumulator::Counts resumed_train_counts_;
  std::optional<EpochMetrics> best_;
  std::optional<EpochMetrics> last_;   // the latest validated epoch
  RunOutput output_;   // every file and log line of the run
  int64_t steps_taken_ = 0;   // optimizer steps of this process
  std::chrono::steady_clock::time_point last_save_;   // of ckpt_latest.pth
  struct Throughput {
    double images_per_second = 0;
    double data_wait_fraction = 0;   // of the epoch's wall time
  } throughput_;
  NamedValues epoch_start_lrs_;   // SG's LR tags with the rates of the epoch's first batch
};

}  // namespace sg
