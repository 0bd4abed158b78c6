#include "common/recipe_options.hpp"

#include <iostream>

#include "common/cli.hpp"
#include "common/exit_codes.hpp"
#include "recipe/listing.hpp"

namespace common {
namespace {

struct RunKey {
  const char* flag;
  std::string key;
  std::string RunOptions::*field;
};
const RunKey kRunKeys[] = {{"--experiment-name", "experiment_name", &RunOptions::experiment_name},
                           {"--run-id", "training_hyperparams.run_id", &RunOptions::run_id},
                           {"--ckpt-root-dir", "ckpt_root_dir", &RunOptions::ckpt_root_dir}};

// The value `word` gives `key` ("key=value"), or nullopt when it is about another key.
std::optional<std::string> value_for(const std::string& word, const std::string& key) {
  if (word.size() <= key.size() || word.compare(0, key.size(), key) != 0 || word[key.size()] != '=') return std::nullopt;
  return word.substr(key.size() + 1);
}

void check_agrees(const CLI::App& app, const RunKey& k, const std::string& flag_value, const std::string& value) {
  if (app.count(k.flag) && value != flag_value)
    throw CLI::ValidationError(k.key, "'" + value + "' disagrees with " + k.flag + " '" + flag_value + "'");
}

}  // namespace

std::optional<int> take_run_overrides(const CLI::App& app, RunOptions& run, std::vector<std::string>& overrides,
                                      bool experiment_required) try {
  for (const RunKey& k : kRunKeys) {
    const std::string flag_value = run.*k.field;
    for (auto word = overrides.begin(); word != overrides.end();) {
      const std::optional<std::string> value = value_for(*word, k.key);
      if (!value) {
        ++word;
        continue;
      }
      check_agrees(app, k, flag_value, *value);
      run.*k.field = *value;
      word = overrides.erase(word);
    }
  }
  if (experiment_required && run.experiment_name.empty())
    throw CLI::RequiredError("--experiment-name (or experiment_name=NAME)");
  return std::nullopt;
} catch (const CLI::ParseError& e) {
  return exit_for_parse_error(app, e);
}

std::optional<int> add_run_flags_to_overrides(const CLI::App& app, const RunOptions& run,
                                              std::vector<std::string>& overrides) try {
  for (const RunKey& k : kRunKeys) {
    if (!app.count(k.flag)) continue;
    for (const std::string& word : overrides)
      if (const std::optional<std::string> value = value_for(word, k.key)) check_agrees(app, k, run.*k.field, *value);
    overrides.push_back(k.key + "=" + run.*k.field);
  }
  return std::nullopt;
} catch (const CLI::ParseError& e) {
  return exit_for_parse_error(app, e);
}

void add_recipe_listing_options(CLI::App& app, RecipeListing& listing) {
  app.add_flag("--list-recipes", listing.recipes, "Print the recipe names --config-name takes (with --config-dir's), and exit");
  app.add_flag("--list-keys", listing.keys,
               "Print every key of the composed recipe as the override that sets it (key=value), and exit");
}

std::optional<int> print_recipe_listing(const RecipeListing& listing, const sg::RecipeRequest& request,
                                        const std::string& program) {
  if (!listing.recipes && !listing.keys) return std::nullopt;
  try {
    if (listing.recipes)
      for (const std::string& name : sg::recipe_names(request.config_dirs)) std::cout << name << "\n";
    if (listing.keys)
      for (const std::string& line : sg::recipe_overrides(sg::compose_recipe(request))) std::cout << line << "\n";
  } catch (const sg::RecipeError& e) {
    print_error(program, e.what());
    return kExitInputError;
  }
  std::cout.flush();
  return kExitOk;
}

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

void add_progress_option(CLI::App& app, double& seconds) {
  app.add_option("--progress-every", seconds,
                 "When stderr is not a terminal: a progress line (rate, ETA, loss) every SECONDS, checked after "
                 "each batch; 0: after every batch (a terminal gets a bar instead)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

void add_run_options(CLI::App& app, RunOptions& run, const std::string& experiment_help, const std::string& run_id_help) {
  app.add_option("--experiment-name", run.experiment_name, experiment_help + " (or experiment_name=NAME)");
  app.add_option("--run-id", run.run_id, run_id_help + " (or training_hyperparams.run_id=RUN)");
  app.add_option("--ckpt-root-dir", run.ckpt_root_dir, "Where the experiments are (or ckpt_root_dir=DIR)")
      ->capture_default_str();
}

void add_storage_location_option(CLI::App& app, RunOptions& run) {
  app.add_option("--storage-location", run.storage_location,
                 "Fetch the run from this remote first when it is not here: an rclone remote (name:path), "
                 "an on-the-fly one (:backend,opt=value:path) or s3://bucket/prefix");
}

}  // namespace common
