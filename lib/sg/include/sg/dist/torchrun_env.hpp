#pragma once
// The variables torchrun gives each worker, read and checked (no LibTorch here).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sg {

struct TorchrunEnvironment {
  int64_t rank = 0;
  int64_t local_rank = 0;
  int64_t world_size = 1;
  int64_t local_world_size = 1;
  std::string master_addr;
  int64_t master_port = 0;
  int64_t restart_count = 0;   // TORCHELASTIC_RESTART_COUNT: 0 on the first attempt
  // TORCHELASTIC_USE_AGENT_STORE=True (torchrun's static rendezvous): torchrun's agent
  // already serves the store at MASTER_ADDR:MASTER_PORT, so every rank is a client of it.
  bool use_agent_store = false;
};

// The variables read here, in that order.
const std::vector<std::string>& torchrun_variable_names();

// The value of an environment variable, or nothing when it is unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;

// std::nullopt when none of torchrun's variables is set (a one-process run). RANK,
// LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT are then all
// required; TORCHELASTIC_RESTART_COUNT (default 0) and TORCHELASTIC_USE_AGENT_STORE
// (default False) may be absent, as when a user sets the variables by hand. A missing,
// malformed or inconsistent value throws std::runtime_error naming the variable and value.
std::optional<TorchrunEnvironment> read_torchrun_environment(const EnvironmentLookup& lookup = nullptr);

}  // namespace sg
