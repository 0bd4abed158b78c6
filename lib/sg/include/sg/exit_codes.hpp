#pragma once
#include <string>

namespace sg {

// Exit status shared by every program.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,            // the job ran and failed
  kExitInputError = 2,        // usage error, bad recipe, unreadable or unsafe input
  kExitCheckpointWrite = 3,   // a file of the run could not be written (disk full, read-only)
  kExitInterrupted = 4,       // stopped by SIGINT/SIGTERM/SIGHUP after saving its exact position
};

// LibTorch errors carry a C++ backtrace after the first line; messages are one line.
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace sg
