#pragma once
// sg-train's own launcher, for SG's `multi_gpu: DDP` with `num_gpus: N` when torchrun did
// not start it: N copies of this program (the same executable and arguments) on this
// machine, each with torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RESTART_COUNT=0), as torchrun's static rendezvous
// would start them: this process serves the c10d store on loopback, like torchrun's agent
// (TORCHELASTIC_USE_AGENT_STORE=True), and restarts nothing.
//
// Stop signals: the first SIGINT, SIGTERM or SIGHUP this process receives reaches every
// worker as SIGUSR1, a stop request that never forces (a Ctrl-C the terminal also sent to
// the workers does not count twice, and a worker still starting stops after its first
// step, so that all stop together); a later one is passed on as itself, which ends them.
// Each worker gets SIGTERM should this process die (PR_SET_PDEATHSIG).
// No LibTorch in this header.
#include <cstdint>
#include <string>
#include <vector>

namespace common {

struct WorkerEnd {
  int64_t rank = 0;
  int pid = 0;
  int wait_status = 0;   // as waitpid gives it
};

struct LocalLaunch {
  int64_t workers = 2;
  // How long the store waits for a worker (the workers' collective timeout).
  double timeout_s = 300;
};

// Starts the workers and returns when every one has ended, in rank order. Throws
// std::runtime_error when the store or a worker cannot be started (the workers already
// started are stopped first).
std::vector<WorkerEnd> run_local_workers(const LocalLaunch& launch);

}  // namespace common
