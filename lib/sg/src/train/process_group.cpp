#include "train/process_group.hpp"

#include <unistd.h>

#include "sg/dist/c10d_collective.hpp"
#include "sg/dist/torchrun_env.hpp"
#include "sg/train/training.hpp"

namespace sg {
namespace {

std::string asked(const TrainingConfig& config) {
  return "multi_gpu: " + config.multi_gpu + " with num_gpus " + std::to_string(config.num_gpus);
}

// Alone (no torchrun variables): how many processes the recipe asks for, 1 or more.
int64_t processes_asked(const TrainingConfig& config) {
  if (config.multi_gpu == "DP")
    throw RecipeError(asked(config) + ": DataParallel is not implemented (multi_gpu: DDP is)");
  // SG: num_gpus 0 means the CPU, -1 (null) all devices, which AUTO on a CPU makes one process.
  if (config.multi_gpu == "Off" && config.num_gpus != 0 && config.num_gpus != 1)
    throw RecipeError(asked(config) + ": Off trains one process (num_gpus 0 or 1, as SG requires)");
  if (config.multi_gpu == "DDP" && config.num_gpus < 1)
    throw RecipeError(asked(config) + ": DDP on the CPU needs num_gpus: N, the number of worker processes "
                      "(or start it with torchrun --no_python --nproc_per_node N sg-train ...)");
  if (config.multi_gpu == "DDP" || config.multi_gpu == "AUTO") return std::max<int64_t>(1, config.num_gpus);
  return 1;
}

}  // namespace

int64_t workers_to_start(const Recipe& recipe) {
  if (read_torchrun_environment()) return 0;
  const int64_t n = processes_asked(read_training_config(recipe));
  return n > 1 ? n : 0;
}

ProcessGroup join_process_group(const TrainingConfig& config, std::chrono::milliseconds timeout,
                                const torch::Device& device) {
  const std::optional<TorchrunEnvironment> env = read_torchrun_environment();
  if (env) {
    char host[256] = "localhost";
    ::gethostname(host, sizeof host - 1);
    const torch::Device mine = device.is_cuda() ? torch::Device(torch::kCUDA, c10::DeviceIndex(env->local_rank)) : device;
    return {std::make_unique<C10dCollective>(*env, timeout, C10dCollective::kDefaultBucketBytes, mine),
            "rank " + std::to_string(env->rank) + " of " + std::to_string(env->world_size) + " (c10d " +
                (mine.is_cuda() ? "NCCL" : "Gloo") +
                "; multi_gpu and num_gpus of the recipe give way to WORLD_SIZE, as in SG)" +
                (env->restart_count > 0 ? ", restart " + std::to_string(env->restart_count) : ""),
            std::string(host) + ":" + std::to_string(::getppid()), env->restart_count, env->local_world_size, mine};
  }
  if (processes_asked(config) > 1)
    throw RecipeError(asked(config) + ": its workers are started by sg-train / sg-resume or torchrun "
                      "(torchrun --no_python --nproc_per_node " + std::to_string(config.num_gpus) + " sg-train ...)");
  return {std::make_unique<SingleProcess>(), "", "", 0, 1, device};
}

}  // namespace sg
