#pragma once
// Which processes a training run is made of. Under torchrun (its variables set), every
// worker joins the others through c10d and torchrun's WORLD_SIZE decides, as SG decides
// when torchrun starts it (SG then forces multi_gpu to DDP and ignores num_gpus). Without
// torchrun, DDP (or AUTO) with num_gpus N > 1 is N workers that sg-train starts itself
// (tools/common/local_workers.hpp, the programs' training runner) and that then join as under
// torchrun; anything else is one process. DP (DataParallel) is not implemented.
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
  int64_t local_world_size = 1;   // the workers on this machine, which share its cores
  // Where this process trains: `device` as asked, except that each CUDA worker takes the
  // GPU of its LOCAL_RANK (one device per local rank, as torchrun's users expect).
  torch::Device device = torch::kCPU;
};

// Throws RecipeError for multi_gpu / num_gpus it cannot follow, std::runtime_error when
// the other workers cannot be reached within `timeout`.
ProcessGroup join_process_group(const TrainingConfig& config, std::chrono::milliseconds timeout,
                                const torch::Device& device);

}  // namespace sg
