#pragma once
// A training run's remote side: its folder storage_location/<experiment>/<run_id>/, the
// check before training that it can be reached, and fetching a run to resume it.
#include <string>
#include <vector>

#include "remote/location.hpp"
#include "sg/train/train_config.hpp"

namespace sg {

remote::Location remote_run_location(const RemoteConfig& config, const std::string& experiment, const std::string& run_id);

// Throws RecipeError naming storage_location when rclone is missing or the location
// cannot be listed (no such remote, bucket or credentials).
void check_storage_location(const RemoteConfig& config);

// Makes ckpt_root/experiment/<run id> hold what resuming needs: `ckpt_name`, the stored
// recipe (.hydra/) and the averaging snapshots, downloaded from the remote run `run_id`
// (or, when empty, the newest remote run that holds ckpt_name), each checked against the
// remote size and, for checkpoints, every record's CRC before it takes its name. A local
// run that already holds ckpt_name is used as it is (it is never older than its upload).
// Returns the run id; `notes` gets what was done. Throws RecipeError naming `setting` (the
// key or option that asked for the fetch).
std::string fetch_remote_run(const std::string& setting, const std::string& storage_location, const std::string& ckpt_root,
                             const std::string& experiment, const std::string& run_id, const std::string& ckpt_name,
                             std::vector<std::string>& notes);

}  // namespace sg
