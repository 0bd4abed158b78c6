#include "common/recipe_options.hpp"

#include "recipe/recipe.hpp"

namespace common {

void add_config_dir_option(CLI::App& app, std::string& config_dir) {
  app.add_option("--config-dir", config_dir, "A folder of your own recipes, searched before the built-in ones");
}

std::vector<std::string> recipe_dirs(const std::string& config_dir) {
  std::vector<std::string> dirs;
  if (!config_dir.empty()) dirs.push_back(config_dir);
  dirs.push_back(sg::builtin_recipes_dir());
  return dirs;
}

void add_zoo_option(CLI::App& app, std::string& zoo) {
  app.add_option("--zoo", zoo,
                 "Model zoo for checkpoint_params.pretrained_weights: a folder, or a remote one (name:path, s3://, https://) "
                 "whose files are fetched into ~/.cache/sg-models (default: $SG_MODEL_ZOO, else ~/.cache/sg-models)");
}

void add_collective_timeout_option(CLI::App& app, double& seconds) {
  app.add_option("--collective-timeout", seconds,
                 "Under torchrun: seconds to wait for the other workers at each collective before failing")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

CLI::Option* add_run_options(CLI::App& app, RunOptions& run, const std::string& experiment_help,
                             const std::string& run_id_help) {
  CLI::Option* experiment = app.add_option("--experiment-name", run.experiment_name, experiment_help);
  app.add_option("--run-id", run.run_id, run_id_help);
  app.add_option("--ckpt-root-dir", run.ckpt_root_dir, "Where the experiments are")->capture_default_str();
  return experiment;
}

void add_storage_location_option(CLI::App& app, RunOptions& run) {
  app.add_option("--storage-location", run.storage_location,
                 "Fetch the run from this remote first when it is not here: an rclone remote (name:path), "
                 "an on-the-fly one (:backend,opt=value:path) or s3://bucket/prefix");
}

}  // namespace common
