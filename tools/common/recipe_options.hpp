#pragma once
// The options of the programs that take a recipe or a run: where recipes are, which run,
// the model zoo, and the recipe overrides.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace common {

// --config-dir DIR: a folder of the user's recipes, searched before the built-in ones.
void add_config_dir_option(CLI::App& app, std::string& config_dir);
// The recipe folders to search: config_dir (if given), then the built-in recipes.
std::vector<std::string> recipe_dirs(const std::string& config_dir);

// --zoo DIR: the model zoo of checkpoint_params.pretrained_weights.
void add_zoo_option(CLI::App& app, std::string& zoo);
// --collective-timeout SECONDS: under torchrun, how long to wait for the other workers.
void add_collective_timeout_option(CLI::App& app, double& seconds);

// A run of an experiment: --experiment-name, --run-id, --ckpt-root-dir.
struct RunOptions {
  std::string experiment_name;
  std::string run_id;                    // "": the latest run holding the checkpoint
  std::string ckpt_root_dir = "checkpoints";
  std::string storage_location;          // "": the run is local
};
// `experiment_help` says what the experiment's run is used for. Returns --experiment-name.
CLI::Option* add_run_options(CLI::App& app, RunOptions& run, const std::string& experiment_help,
                             const std::string& run_id_help);
// --storage-location LOC: the run is fetched from LOC/<experiment>/<run> first when it is
// not here (what training_hyperparams.resume_from_remote_sg_logger does for sg-train).
void add_storage_location_option(CLI::App& app, RunOptions& run);

}  // namespace common
