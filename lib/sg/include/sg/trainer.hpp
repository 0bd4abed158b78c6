#pragma once
// The training loop: a recipe in, a SuperGradients run directory out.
#include <memory>
#include <optional>
#include <string>

#include "sg/data.hpp"
#include "sg/metrics.hpp"
#include "sg/model.hpp"
#include "sg/optimizer.hpp"
#include "sg/recipe.hpp"
#include "sg/sg_checkpoint.hpp"
#include "sg/train_config.hpp"
#include "sg/train_log.hpp"

namespace sg {

// A checkpoint write failed (disk full, read-only folder): training must stop.
class CheckpointWriteError : public std::runtime_error {
 public:
  explicit CheckpointWriteError(const std::string& what) : std::runtime_error(what) {}
};

class Trainer {
 public:
  explicit Trainer(Recipe recipe);
  ~Trainer();

  // Trains for the recipe's epochs; returns the run directory.
  std::string train();

 private:
  void setup_run();
  MetricValues train_epoch(int64_t epoch);
  MetricValues validate();
  void save_checkpoints(int64_t epoch, const MetricValues& train, const MetricValues& valid);
  void write(const std::string& name, const pth::Value& checkpoint);
  bool improves(double value) const;

  Recipe recipe_;
  TrainingConfig config_;
  torch::Device device_;
  std::shared_ptr<Classifier> model_;
  std::unique_ptr<Optimizer> optimizer_;
  ImageDataset train_data_, val_data_;
  std::unique_ptr<DataLoader> train_loader_, val_loader_;
  std::string run_dir_;
  TrainLog log_;
  struct Events;
  std::unique_ptr<Events> events_;
  std::optional<EpochMetrics> best_;
  struct Throughput {
    double images_per_second = 0;
    double data_wait_fraction = 0;   // of the epoch's wall time
  } throughput_;
};

}  // namespace sg
