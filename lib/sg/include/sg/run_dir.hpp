#pragma once
// SG's run directories: <ckpt_root_dir>/<experiment_name>/RUN_%Y%m%d_%H%M%S_%f/.
#include <optional>
#include <string>

namespace sg {

// A fresh run id from the local time, e.g. RUN_20230802_131052_651906.
std::string make_run_id();
bool is_run_id(const std::string& name);

// Creates <root>/<experiment>/<run id>/ (and the parents); a run id that already exists
// gets the next microsecond. Returns the run directory.
std::string create_run_dir(const std::string& ckpt_root_dir, const std::string& experiment_name);

// The newest run (by name) of the experiment that holds `ckpt_name`, if any.
std::optional<std::string> find_latest_run(const std::string& ckpt_root_dir, const std::string& experiment_name,
                                           const std::string& ckpt_name = "ckpt_latest.pth");

// Removes temp files a killed writer left behind in a run directory.
void remove_stale_temp_files(const std::string& run_dir);

}  // namespace sg
