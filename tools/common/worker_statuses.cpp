#include "common/worker_statuses.hpp"

#include <sys/wait.h>

#include <cstring>
#include <iostream>

#include "common/exit_codes.hpp"

namespace common {
namespace {

int exit_status(int wait_status) {
  return WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
}

int severity(int wait_status) {
  if (WIFSIGNALED(wait_status)) return 6;
  switch (WEXITSTATUS(wait_status)) {
    case kExitOk: return 0;
    case kExitInterrupted: return 1;
    case kExitInputError: return 2;
    case kExitFailed: return 3;
    case kExitCheckpointWrite: return 4;
    default: return 5;
  }
}

}  // namespace

int launcher_exit_status(const std::vector<WorkerEnd>& ends, const std::string& program) {
  int worst = 0;
  for (const WorkerEnd& end : ends) {
    const int s = end.wait_status;
    if (severity(s) > severity(worst)) worst = s;
    if (severity(s) <= severity(W_EXITCODE(kExitInterrupted, 0))) continue;
    std::cerr << program << ": worker rank " << end.rank << " (pid " << end.pid << ") "
              << (WIFSIGNALED(s) ? std::string("was ended by signal ") + std::to_string(WTERMSIG(s)) + " (" +
                                       strsignal(WTERMSIG(s)) + ")"
                                 : "exited with status " + std::to_string(WEXITSTATUS(s)))
              << "\n";
  }
  return exit_status(worst);
}

}  // namespace common
