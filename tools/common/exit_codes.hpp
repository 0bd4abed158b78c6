#pragma once
// The exit status of every program.

namespace common {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,            // the job ran and failed (a verification, a diff, a match, training)
  kExitInputError = 2,        // usage error, bad recipe, unreadable or unsafe input
  kExitCheckpointWrite = 3,   // a file of the run could not be written (disk full, read-only)
  kExitInterrupted = 4,       // stopped by SIGINT/SIGTERM/SIGHUP after saving its exact position
};

}  // namespace common
