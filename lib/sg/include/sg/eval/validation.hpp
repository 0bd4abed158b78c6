#pragma once
// One validation pass over a loader: what training and evaluation share.
#include <functional>

#include <torch/types.h>

#include "sg/data/data.hpp"
#include "sg/dist/collective.hpp"
#include "sg/eval/metrics.hpp"
#include "sg/models/model.hpp"
#include "sg/train/train_config.hpp"

namespace sg {

struct ValidationResult {
  MetricValues metrics;   // the config's validation metrics and the mean loss
  int64_t samples = 0, batches = 0;
};

// After each batch: this process's batches and samples so far, and the batch's loss.
using ValidationProgress = std::function<void(int64_t batches, int64_t samples, double loss)>;

// The model in eval mode over every batch of `loader` (epoch 0), with the config's
// validation metrics, loss and mixed precision; the counts summed over the processes of
// `collective` when given (each validated its share).
ValidationResult validate(Classifier& model, DataLoader& loader, const TrainingConfig& config,
                          const torch::Device& device, Collective* collective = nullptr,
                          const ValidationProgress& progress = {});

}  // namespace sg
