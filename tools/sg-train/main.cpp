// sg-train: train an image classifier from a recipe into a SuperGradients run directory.
#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "common/exit_codes.hpp"
#include "common/recipe_options.hpp"
#include "common/training_runner.hpp"
#include "common/version.hpp"
#include "pth/mapping_fault.hpp"
#include "sg/runtime/libtorch_info.hpp"

int main(int argc, char** argv) {
  pth::install_mapping_fault_handler("sg-train", common::kExitInputError);
  CLI::App app{"Train an image classifier from a SuperGradients-style recipe. Prints the run directory last on stdout.",
               "sg-train"};
  common::add_version_flag(app, sg::libtorch_description);
  sg::RecipeRequest request;
  request.config_name = "fashion_mnist_resnet";
  std::string config_dir;
  sg::TrainingOptions options;
  app.add_option("--config-name", request.config_name, "Recipe name (a .yaml in the recipe folders)")
      ->capture_default_str();
  common::add_config_dir_option(app, config_dir);
  common::add_zoo_option(app, options.zoo);
  common::add_collective_timeout_option(app, options.collective_timeout_s);
  common::add_progress_option(app, options.progress_every_s);
  common::RunOptions run;
  common::add_run_options(app, run, "The experiment to train",
                          "Continue this run of the experiment in place");
  common::RecipeListing listing;
  common::add_recipe_listing_options(app, listing);
  app.add_option("overrides", request.overrides,
                 "Recipe overrides: key.sub=value, +new.key=value, ~key, or SG shortcuts (epochs=, lr=, batch_size=);\n"
                 "resume=True continues the latest run, training_hyperparams.run_id=RUN_... that run,\n"
                 "training_hyperparams.resume_path=FILE branches a new run from a checkpoint");
  app.footer(common::kTrainingExitStatus);
  if (auto done = common::parse_command_line(app, argc, argv)) return *done;
  if (auto done = common::add_run_flags_to_overrides(app, run, request.overrides)) return *done;

  request.config_dirs = common::recipe_dirs(config_dir);
  if (auto done = common::print_recipe_listing(listing, request, "sg-train")) return *done;
  return common::run_training([&] { return sg::compose_recipe(request); }, options, "sg-train");
}
