#pragma once
// Running a helper program (rclone) without a shell: its arguments are never interpreted.
#include <functional>
#include <string>
#include <vector>

namespace remote {

struct ProcessResult {
  int exit_status = 0;   // the program's exit status; 128 + N when signal N ended it
  std::string out;       // its stdout
  std::string err;       // its stderr
  bool cancelled = false;
};

// Runs argv[0] (searched on PATH) with stdin from /dev/null and waits for it, in this
// process's environment less the variables named in `unset_env`. `cancelled` is asked every
// fraction of a second; when it says true the program is killed. Throws RemoteError when
// the program cannot be started (naming it, and how to install it: `install_hint`).
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& install_hint,
                          const std::function<bool()>& cancelled = {}, const std::vector<std::string>& unset_env = {});

}  // namespace remote
