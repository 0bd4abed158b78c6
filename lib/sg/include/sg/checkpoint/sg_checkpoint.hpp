#pragma once
// The checkpoints a training run writes (ckpt_latest/ckpt_best/ckpt_epoch_N), built from
// LibTorch objects with the key names of pth/sg_layout.hpp.
#include <optional>
#include <string>

#include "pth/value.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/eval/metrics.hpp"

namespace sg {

// {"tracked_metric_name": ..., "valid": {...}, "train": {...}}
struct EpochMetrics {
  std::string tracked_metric_name;
  MetricValues valid, train;
};
pth::Value metrics_to_pth(const EpochMetrics& m);

struct CheckpointContents {
  NamedTensors net;
  double acc = 0;                          // the watched metric of this epoch
  int64_t epoch = 0;                       // finished epochs
  EpochMetrics metrics;
  pth::Value packages;                     // packages_entry()
  std::optional<EpochMetrics> best_metrics;
  pth::Value optimizer_state;              // Optimizer::state_dict()
  pth::Value scaler_state = pth::Value::dict();
};

// net, acc, epoch, metrics, packages, _best_ckpt_metrics, optimizer_state_dict,
// scaler_state_dict (SG's order).
pth::Value make_sg_checkpoint(const CheckpointContents& c);

}  // namespace sg
