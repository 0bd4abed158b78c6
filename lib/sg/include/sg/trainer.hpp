#pragma once
// The training loop: a recipe in, a SuperGradients run directory out. Starts a new run,
// continues one in place (resume / run_id), or branches from a checkpoint (resume_path).
#include <memory>
#include <optional>
#include <string>

#include "sg/data.hpp"
#include "sg/ema.hpp"
#include "sg/grad_scaler.hpp"
#include "sg/metrics.hpp"
#include "sg/model.hpp"
#include "sg/model_averager.hpp"
#include "sg/optimizer.hpp"
#include "sg/recipe.hpp"
#include "sg/run_dir.hpp"
#include "sg/run_errors.hpp"
#include "sg/sg_checkpoint.hpp"
#include "sg/torch_scheduler.hpp"
#include "sg/train_config.hpp"
#include "sg/train_log.hpp"

namespace pth {
struct Checkpoint;
}

namespace sg {

class Trainer {
 public:
  // Builds the model, data and optimizer and, when the recipe resumes, finds and checks
  // the checkpoint (and the run's averaging snapshots) to continue from; errors here are
  // input errors and nothing has been written yet.
  explicit Trainer(Recipe recipe);
  ~Trainer();

  // Trains up to max_epochs; returns the run directory. Throws RunDirError, before any
  // file is written, when the run directory cannot be created or written; RunWriteError
  // when a file of the run cannot be written; TrainingInterrupted after a stop signal;
  // TrainingDiverged (check_finite) when the loss or the weights stop being finite.
  std::string train();

 private:
  struct Position {
    int64_t epoch = 0;        // the epoch to run next (0-based)
    int64_t batch = 0;        // its first batch (non-zero after a mid-epoch stop)
  };

  void find_resume_checkpoint();
  void open_run();
  void restore(const pth::Checkpoint& ckpt);
  MetricValues train_epoch(int64_t epoch, int64_t first_batch);
  void optimizer_step(int64_t epoch, int64_t batch, int64_t batches);
  MetricValues validate(Classifier& model);
  Classifier& validation_model();
  void after_validation(int64_t epoch, const MetricValues& train, const MetricValues& valid);
  // check_finite: refuses to save weights that are NaN or infinite.
  void require_finite_weights(const std::string& when) const;
  void save_epoch(int64_t finished, bool is_best, const EpochMetrics& metrics, double watched);
  // `partial`: the training metrics accumulated so far when stopping mid-epoch.
  pth::Value checkpoint(int64_t finished_epochs, int64_t next_batch, const EpochMetrics& metrics,
                        const std::optional<MetricAccumulator::Counts>& partial = std::nullopt) const;
  void write(const std::string& name, const pth::Value& checkpoint);
  void restore_position(const pth::Value& state);
  bool improves(double value) const;
  void validate_average();

  Recipe recipe_;
  TrainingConfig config_;
  torch::Device device_;
  std::shared_ptr<Classifier> model_;
  std::shared_ptr<Classifier> ema_model_;   // holds the EMA weights, validated when EMA is on
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<TorchScheduler> scheduler_;
  std::unique_ptr<ModelEMA> ema_;
  std::unique_ptr<GradScaler> scaler_;
  std::unique_ptr<ModelAverager> averager_;
  ImageDataset train_data_, val_data_;
  std::unique_ptr<DataLoader> train_loader_, val_loader_;

  std::string resume_from_;     // checkpoint file to continue from, if any
  pth::Value resumed_averaging_;   // its averaging record (ModelAverager::record), if any
  bool branch_ = false;         // resume_path: a new run directory
  std::string run_dir_;          // its path, for messages
  std::optional<RunDirectory> run_;   // held (locked) from the moment it is known
  Position start_;
  MetricAccumulator::Counts resumed_train_counts_;
  std::optional<EpochMetrics> best_;
  std::optional<EpochMetrics> last_;   // the latest validated epoch
  TrainLog log_;
  struct Events;
  std::unique_ptr<Events> events_;
  struct Throughput {
    double images_per_second = 0;
    double data_wait_fraction = 0;   // of the epoch's wall time
  } throughput_;
};

}  // namespace sg
