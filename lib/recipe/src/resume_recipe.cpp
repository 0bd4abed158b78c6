#include "recipe/resume_recipe.hpp"

#include <filesystem>

#include "pth/folder.hpp"
#include "recipe/run_dir.hpp"

namespace fs = std::filesystem;

namespace sg {

Recipe resume_recipe(const std::string& ckpt_root_dir, const std::string& experiment_name, const std::string& run_id,
                     const std::vector<std::string>& overrides) {
  if (const std::string problem = pth::path_component_problem(experiment_name); !problem.empty())
    throw RecipeError("--experiment-name '" + experiment_name + "' " + problem);
  if (const std::string problem = pth::path_component_problem(run_id); !run_id.empty() && !problem.empty())
    throw RecipeError("--run-id '" + run_id + "' " + problem);
  const fs::path experiment = fs::path(ckpt_root_dir) / experiment_name;
  std::string run_dir;
  if (run_id.empty()) {
    auto latest = find_latest_run(ckpt_root_dir, experiment_name);
    if (!latest) throw RecipeError("no run of experiment '" + experiment_name + "' under " + experiment.string() +
                                   " holds ckpt_latest.pth");
    run_dir = *latest;
  } else {
    run_dir = (experiment / run_id).string();
    if (!fs::is_directory(run_dir)) throw RecipeError("run '" + run_id + "' not found in " + experiment.string());
  }
  if (!fs::is_regular_file(fs::path(run_dir) / ".hydra" / "config.yaml"))
    throw RecipeError(run_dir + " has no stored recipe (.hydra/config.yaml)");
  // Where the run is now wins over where it was when the recipe was stored.
  std::vector<std::string> all = {"ckpt_root_dir=" + ckpt_root_dir, "experiment_name=" + experiment_name,
                                  "training_hyperparams.run_id=" + fs::path(run_dir).filename().string(),
                                  "training_hyperparams.resume_path=null"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_stored_recipe(run_dir, all);
}

}  // namespace sg
