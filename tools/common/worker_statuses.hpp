#pragma once
// The exit status of a launcher (sg-train / sg-resume starting its own workers): the most
// severe of the workers' statuses, from least to most severe 0 trained, 4 stopped after
// saving, 2 bad input, 1 failed, 3 a file could not be written, another status, and a
// worker ended by a signal (128 + its number, as a shell reports it).
#include <string>
#include <vector>

#include "common/local_workers.hpp"

namespace common {

// Also prints, on stderr, one line `<program>: worker rank R (pid P) ...` for each worker
// that neither trained nor stopped after saving.
int launcher_exit_status(const std::vector<WorkerEnd>& ends, const std::string& program);

}  // namespace common
