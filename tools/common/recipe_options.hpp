#pragma once
// The options of the programs that take a recipe or a run: where recipes are, which run,
// the model zoo, and the recipe overrides.
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "recipe/recipe.hpp"

namespace common {

// --config-dir DIR: a folder of the user's recipes, searched before the built-in ones.
void add_config_dir_option(CLI::App& app, std::string& config_dir);
// The recipe folders to search: config_dir (if given), then the built-in recipes.
std::vector<std::string> recipe_dirs(const std::string& config_dir);

// --zoo DIR: the model zoo of checkpoint_params.pretrained_weights.
void add_zoo_option(CLI::App& app, std::string& zoo);
// --collective-timeout SECONDS: under torchrun, how long to wait for the other workers.
void add_collective_timeout_option(CLI::App& app, double& seconds);
// --progress-every SECONDS: when stderr is not a terminal, a progress line that often.
void add_progress_option(CLI::App& app, double& seconds);

// A run of an experiment: --experiment-name, --run-id, --ckpt-root-dir.
struct RunOptions {
  std::string experiment_name;
  std::string run_id;                    // "": the latest run holding the checkpoint
  std::string ckpt_root_dir = "checkpoints";
  std::string storage_location;          // "": the run is local
};
// `experiment_help` says what the experiment's run is used for.
void add_run_options(CLI::App& app, RunOptions& run, const std::string& experiment_help, const std::string& run_id_help);
// One vocabulary for a run, as flags or as sg-train's recipe overrides: --experiment-name /
// experiment_name=, --run-id / training_hyperparams.run_id=, --ckpt-root-dir / ckpt_root_dir=.
// For the programs that use a run (sg-resume, sg-eval): takes those overrides out of
// `overrides` into `run`, as the flags would set it. Returns the exit status after a usage
// error (printed): a flag and an override that disagree, or no experiment where one is
// required; nullopt: go on.
std::optional<int> take_run_overrides(const CLI::App& app, RunOptions& run, std::vector<std::string>& overrides,
                                      bool experiment_required);
// For sg-train: the flags given become those overrides, appended to `overrides`. Returns
// the exit status after a flag and an override of the same key disagree (printed).
std::optional<int> add_run_flags_to_overrides(const CLI::App& app, const RunOptions& run,
                                              std::vector<std::string>& overrides);

// --list-recipes and --list-keys: print, one per line, the recipes the folders offer or
// every key of the composed recipe as an override setting it, instead of training.
struct RecipeListing {
  bool recipes = false, keys = false;
};
void add_recipe_listing_options(CLI::App& app, RecipeListing& listing);
// Prints what `listing` asks for and returns the exit status (2 after a recipe error);
// nullopt when it asks for nothing.
std::optional<int> print_recipe_listing(const RecipeListing& listing, const sg::RecipeRequest& request,
                                        const std::string& program);

// --storage-location LOC: the run is fetched from LOC/<experiment>/<run> first when it is
// not here (what training_hyperparams.resume_from_remote_sg_logger does for sg-train).
void add_storage_location_option(CLI::App& app, RunOptions& run);

}  // namespace common
