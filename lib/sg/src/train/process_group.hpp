#pragma once
// Which processes a training run is made of. Under torchrun (its variables set), every
// worker joins the others through c10d and torchrun's WORLD_SIZE decides, as SG decides
// when torchrun starts it (SG then forces multi_gpu to DDP and ignores num_gpus). Alone, the
// recipe's multi_gpu / num_gpus must ask for one process: DDP or AUTO with several is an
// error saying how to start it with torchrun, DP (DataParallel) is not implemented.
#include <chrono>
#include <memory>
#include <string>

#include "sg/dist/collective.hpp"
#include "sg/train/train_config.hpp"

namespace sg {

struct ProcessGroup {
  std::unique_ptr<Collective> collective;
  std::string description;   // for the log: "rank 0 of 2 (torchrun, c10d Gloo)", or "" alone
  // Under torchrun: the agent that started the workers ("<host>:<pid>"), the same when it
  // restarts them, and how many times it did (TORCHELASTIC_RESTART_COUNT).
  std::string job;
  int64_t restart_count = 0;
};

// Throws RecipeError for multi_gpu / num_gpus it cannot follow, std::runtime_error when
// the other workers cannot be reached within `timeout`.
ProcessGroup join_process_group(const TrainingConfig& config, std::chrono::milliseconds timeout);

}  // namespace sg
