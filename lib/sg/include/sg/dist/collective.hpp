#pragma once
// What the processes of a data-parallel run agree on, at the points the training loop
// needs it. A single process agrees with itself: SingleProcess does nothing, and the run
// is exactly the one-process run. A c10d implementation (torchrun) goes behind the same
// interface.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "sg/eval/metrics.hpp"

namespace sg {

// What a process asks of a training step. The processes agree on it: when any asks, all do.
struct StepRequests {
  bool stop = false;   // a stop signal: save the exact position and end
  bool save = false;   // a periodic checkpoint is due (ckpt_every_n_steps / ckpt_every_n_minutes)
};

class Collective {
 public:
  virtual ~Collective() = default;

  virtual int64_t rank() const = 0;
  virtual int64_t world_size() const = 0;

  // The initial weights of rank 0 everywhere (after they are built and loaded).
  virtual void broadcast_weights(const std::vector<torch::Tensor>& tensors) = 0;
  // Each process's gradients replaced by their mean, before clipping, unscaling and the
  // optimizer step; in the same collective, the step's requests agreed.
  virtual StepRequests average_gradients(const std::vector<torch::Tensor>& parameters, StepRequests asked) = 0;
  // A contiguous tensor replaced, in place, by its sum over the processes (sync_bn's
  // per-channel statistics and gradient sums).
  virtual void all_reduce_sum(const torch::Tensor& tensor) = 0;
  // Validation counts summed over the processes (each validated its share).
  virtual void sum_counts(MetricAccumulator::Counts& counts) = 0;
  // The stop decision: true everywhere when any process was asked to stop.
  virtual bool any(bool asked) = 0;
  // The run directory rank 0 chose.
  virtual std::string agree_on_run_directory(const std::string& chosen) = 0;
  // Every process waits here until all have arrived (after rank 0 saved a checkpoint).
  virtual void barrier() = 0;
};

class SingleProcess final : public Collective {
 public:
  int64_t rank() const override { return 0; }
  int64_t world_size() const override { return 1; }
  void broadcast_weights(const std::vector<torch::Tensor>&) override {}
  StepRequests average_gradients(const std::vector<torch::Tensor>&, StepRequests asked) override { return asked; }
  void all_reduce_sum(const torch::Tensor&) override {}
  void sum_counts(MetricAccumulator::Counts&) override {}
  bool any(bool asked) override { return asked; }
  std::string agree_on_run_directory(const std::string& chosen) override { return chosen; }
  void barrier() override {}
};

}  // namespace sg
