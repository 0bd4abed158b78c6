// sg-resume: continue a run from the recipe stored in its run directory (SG's
// resume_experiment). Prints the run directory last on stdout.
#include <csignal>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "pth/mapping_fault.hpp"
#include "pth/usage_error.hpp"
#include "sg/resume_recipe.hpp"
#include "sg/exit_codes.hpp"
#include "sg/run_training.hpp"
#include "sg/stop_signal.hpp"

int main(int argc, char** argv) {
  pth::install_mapping_fault_handler("sg-resume", sg::kExitInputError);
  CLI::App app{"Continue a training run from the recipe stored in its run directory. Prints the run directory last.",
               "sg-resume"};
  std::string experiment, run_id, root = "checkpoints";
  std::vector<std::string> overrides;
  app.add_option("--experiment-name", experiment, "The experiment whose run to continue")->required();
  app.add_option("--run-id", run_id, "The run (RUN_<time>); default: the latest run holding ckpt_latest.pth");
  app.add_option("--ckpt-root-dir", root, "Where the experiments are")->capture_default_str();
  std::string zoo;
  app.add_option("--zoo", zoo, "Model zoo folder for checkpoint_params.pretrained_weights (default: $SG_MODEL_ZOO, else ~/.cache/sg-models)");
  app.add_option("overrides", overrides, "Recipe overrides, e.g. training_hyperparams.max_epochs=40 to extend a run");
  app.footer(
      "Exit status: 0 trained, 1 training failed, 2 bad usage/run/recipe, 3 a file of the run could not be written,\n"
      "4 stopped by SIGINT/SIGTERM/SIGHUP after saving its position to ckpt_latest.pth.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return pth::exit_for_parse_error(app, e, "sg-resume");  // --help: 0; usage errors: one line, 2
  }

  if (!zoo.empty()) setenv("SG_MODEL_ZOO", zoo.c_str(), 1);  // read where the zoo is resolved
  std::signal(SIGXFSZ, SIG_IGN);
  sg::install_stop_signal_handlers();
  return sg::run_training([&] { return sg::resume_recipe(root, experiment, run_id, overrides); }, "sg-resume");
}
