// sg-resume: continue a run from the recipe stored in its run directory (SG's
// resume_experiment). Prints the run directory last on stdout.
#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "common/exit_codes.hpp"
#include "common/fetched_run.hpp"
#include "common/recipe_options.hpp"
#include "common/training_runner.hpp"
#include "common/version.hpp"
#include "pth/mapping_fault.hpp"
#include "recipe/resume_recipe.hpp"
#include "sg/runtime/libtorch_info.hpp"

int main(int argc, char** argv) {
  pth::install_mapping_fault_handler("sg-resume", common::kExitInputError);
  CLI::App app{"Continue a training run from the recipe stored in its run directory. Prints the run directory last.",
               "sg-resume"};
  common::add_version_flag(app, sg::libtorch_description);
  common::RunOptions run;
  sg::TrainingOptions options;
  std::vector<std::string> overrides;
  common::add_run_options(app, run, "The experiment whose run to continue",
                          "The run (RUN_<time>); default: the latest run holding ckpt_latest.pth");
  common::add_storage_location_option(app, run);
  common::add_zoo_option(app, options.zoo);
  common::add_collective_timeout_option(app, options.collective_timeout_s);
  common::add_progress_option(app, options.progress_every_s);
  app.add_option("overrides", overrides, "Recipe overrides, e.g. training_hyperparams.max_epochs=40 to extend a run;\n"
                 "experiment_name=, training_hyperparams.run_id= and ckpt_root_dir= choose the run as the flags do");
  app.footer(common::kTrainingExitStatus);
  if (auto done = common::parse_command_line(app, argc, argv)) return *done;
  if (auto done = common::take_run_overrides(app, run, overrides, true)) return *done;

  return common::run_training(
      [&] {
        return sg::resume_recipe(run.ckpt_root_dir, run.experiment_name, common::fetched_run_id(run, "ckpt_latest.pth"),
                                 overrides);
      },
      options,
      "sg-resume");
}
