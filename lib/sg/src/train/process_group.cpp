#include "train/process_group.hpp"

#include <unistd.h>

#include "sg/dist/c10d_collective.hpp"
#include "sg/dist/torchrun_env.hpp"

namespace sg {

ProcessGroup join_process_group(const TrainingConfig& config, std::chrono::milliseconds timeout) {
  const std::optional<TorchrunEnvironment> env = read_torchrun_environment();
  if (env) {
    char host[256] = "localhost";
    ::gethostname(host, sizeof host - 1);
    return {std::make_unique<C10dCollective>(*env, timeout),
            "rank " + std::to_string(env->rank) + " of " + std::to_string(env->world_size) +
                " (torchrun, c10d Gloo; multi_gpu and num_gpus of the recipe give way to WORLD_SIZE, as in SG)" +
                (env->restart_count > 0 ? ", restart " + std::to_string(env->restart_count) : ""),
            std::string(host) + ":" + std::to_string(::getppid()), env->restart_count};
  }
  const std::string asked = "multi_gpu: " + config.multi_gpu + " with num_gpus " + std::to_string(config.num_gpus);
  if (config.multi_gpu == "DP")
    throw RecipeError(asked + ": DataParallel is not implemented (multi_gpu: DDP under torchrun is)");
  // SG: num_gpus 0 means the CPU, -1 (null) all devices, which AUTO on a CPU makes one process.
  if (config.multi_gpu == "Off" && config.num_gpus != 0 && config.num_gpus != 1)
    throw RecipeError(asked + ": Off trains one process (num_gpus 0 or 1, as SG requires)");
  if (config.multi_gpu == "DDP" || (config.multi_gpu == "AUTO" && config.num_gpus > 1)) {
    const std::string n = config.num_gpus > 0 ? std::to_string(config.num_gpus) : "N";
    throw RecipeError(asked + ": start it with torchrun (torchrun --no_python --nproc_per_node " + n +
                      " sg-train ...); sg-train starting its own workers is not implemented yet");
  }
  return {std::make_unique<SingleProcess>(), "", "", 0};
}

}  // namespace sg
