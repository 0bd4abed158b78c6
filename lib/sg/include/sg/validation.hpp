#pragma once
// What training and evaluation share: the device choice, mixed precision for a forward
// pass, and one validation pass over a loader.
#include <string>

#include <torch/types.h>

#include "sg/data.hpp"
#include "sg/metrics.hpp"
#include "sg/model.hpp"
#include "sg/train_config.hpp"

namespace sg {

// "" -> CUDA when available, else CPU. Throws RecipeError naming
// training_hyperparams.device for an unknown or unavailable device.
torch::Device pick_device(const std::string& wanted);

// Mixed precision for a forward pass: float16 autocast on CUDA, bfloat16 on the CPU.
class Autocast {
 public:
  Autocast(bool enabled, const torch::Device& device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool enabled_, cuda_;
};

// LibTorch's intra-op threads: `num_threads`, or every core when 0 (LibTorch's own
// default can be one thread where OpenMP miscounts the cores).
void set_threads(int64_t num_threads);

// Every step frees and reallocates the same activation buffers. glibc's default returns
// such memory to the kernel (munmap, heap trimming) and faults it back in on the next
// step; keeping it in the heap makes a CPU step ~1.5x faster (bench-train, bench-eval).
void keep_freed_memory_for_reuse();

struct ValidationResult {
  MetricValues metrics;   // the config's validation metrics and the mean loss
  int64_t samples = 0, batches = 0;
};

// The model in eval mode over every batch of `loader` (epoch 0), with the config's
// validation metrics, loss and mixed precision.
ValidationResult validate(Classifier& model, DataLoader& loader, const TrainingConfig& config,
                          const torch::Device& device);

}  // namespace sg
