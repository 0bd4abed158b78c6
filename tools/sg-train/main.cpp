// sg-train: train an image classifier from a recipe into a SuperGradients run directory.
#include <csignal>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "pth/mapping_fault.hpp"
#include "pth/usage_error.hpp"
#include "sg/exit_codes.hpp"
#include "sg/run_training.hpp"
#include "sg/stop_signal.hpp"

int main(int argc, char** argv) {
  pth::install_mapping_fault_handler("sg-train", sg::kExitInputError);
  CLI::App app{"Train an image classifier from a SuperGradients-style recipe. Prints the run directory last on stdout.",
               "sg-train"};
  sg::RecipeRequest request;
  request.config_name = "fashion_mnist_resnet";
  std::string config_dir;
  app.add_option("--config-name", request.config_name, "Recipe name (a .yaml in the recipe folders)")
      ->capture_default_str();
  app.add_option("--config-dir", config_dir, "A folder of your own recipes, searched before the built-in ones");
  std::string zoo;
  app.add_option("--zoo", zoo, "Model zoo folder for checkpoint_params.pretrained_weights (default: $SG_MODEL_ZOO, else ~/.cache/sg-models)");
  app.add_option("overrides", request.overrides,
                 "Recipe overrides: key.sub=value, +new.key=value, ~key, or SG shortcuts (epochs=, lr=, batch_size=);\n"
                 "resume=True continues the latest run, training_hyperparams.run_id=RUN_... that run,\n"
                 "training_hyperparams.resume_path=FILE branches a new run from a checkpoint");
  app.footer(
      "Exit status: 0 trained, 1 training failed, 2 bad usage/recipe/data, 3 a file of the run could not be written,\n"
      "4 stopped by SIGINT/SIGTERM/SIGHUP after saving its position to ckpt_latest.pth.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return pth::exit_for_parse_error(app, e, "sg-train");  // --help: 0; usage errors: one line, 2
  }

  std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit must surface as a write error, not kill us
  sg::install_stop_signal_handlers();
  if (!zoo.empty()) setenv("SG_MODEL_ZOO", zoo.c_str(), 1);  // read where the zoo is resolved
  if (!config_dir.empty()) request.config_dirs.push_back(config_dir);
  request.config_dirs.push_back(sg::builtin_recipes_dir());
  return sg::run_training([&] { return sg::compose_recipe(request); }, "sg-train");
}
