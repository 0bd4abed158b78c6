// The launcher's exit status: the most severe of its workers'.
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "common/exit_codes.hpp"
#include "common/worker_statuses.hpp"

namespace {

std::vector<common::WorkerEnd> ends(std::initializer_list<int> wait_statuses) {
  std::vector<common::WorkerEnd> out;
  for (int s : wait_statuses) out.push_back({int64_t(out.size()), 100 + int(out.size()), s});
  return out;
}

int exited(int code) { return W_EXITCODE(code, 0); }
int killed(int signal_number) { return W_EXITCODE(0, signal_number); }

}  // namespace

TEST_CASE("a launcher exits with its workers' most severe status") {
  using namespace common;
  CHECK(launcher_exit_status(ends({exited(0), exited(0)}), "t") == kExitOk);
  CHECK(launcher_exit_status(ends({exited(0), exited(kExitInterrupted)}), "t") == kExitInterrupted);
  CHECK(launcher_exit_status(ends({exited(kExitInterrupted), exited(kExitInputError)}), "t") == kExitInputError);
  CHECK(launcher_exit_status(ends({exited(kExitFailed), exited(kExitInputError)}), "t") == kExitFailed);
  CHECK(launcher_exit_status(ends({exited(kExitFailed), exited(kExitCheckpointWrite)}), "t") == kExitCheckpointWrite);
  CHECK(launcher_exit_status(ends({exited(127), exited(kExitCheckpointWrite)}), "t") == 127);
  CHECK(launcher_exit_status(ends({exited(127), killed(9), exited(0)}), "t") == 128 + 9);
  CHECK(launcher_exit_status({}, "t") == kExitOk);
}
