// sg-eval: evaluate a run's checkpoint (SG's evaluate_checkpoint) or any checkpoint with a
// recipe (SG's evaluate_recipe) on the recipe's validation data and metrics.
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/cli.hpp"
#include "common/exit_codes.hpp"
#include "common/fetched_run.hpp"
#include "common/recipe_options.hpp"
#include "common/version.hpp"
#include "pth/json_conventions.hpp"
#include "pth/mapping_fault.hpp"
#include "sg/eval/evaluator.hpp"
#include "sg/runtime/libtorch_info.hpp"

namespace {

void print_table(const sg::EvalResult& r) {
  std::printf("checkpoint  %s\n", r.checkpoint_path.c_str());
  std::printf("weights     %s%s\n", r.weights_description.c_str(),
              r.epoch ? (", epoch " + std::to_string(*r.epoch)).c_str() : "");
  std::printf("model       %s\n", r.architecture.c_str());
  std::printf("data        %s validation, %lld images in %lld batches (%s, %.2fs)\n", r.dataset.c_str(),
              static_cast<long long>(r.samples), static_cast<long long>(r.batches), r.device.c_str(), r.seconds);
  size_t width = 6;
  for (const auto& [name, value] : r.metrics) width = std::max(width, name.size());
  std::printf("\n%-*s  %s\n", int(width), "metric", "value");
  for (const auto& [name, value] : r.metrics)
    if (name != r.loss_name) std::printf("%-*s  %.6f\n", int(width), name.c_str(), value);
  if (auto loss = r.metrics.find(r.loss_name); loss != r.metrics.end())
    std::printf("%-*s  %.6f  (loss)\n", int(width), loss->first.c_str(), loss->second);
}

// tools/schemas/sg-eval.schema.json; a metric that is NaN or infinite is "NaN", "Infinity" or "-Infinity".
nlohmann::ordered_json to_json(const sg::EvalResult& r) {
  using Json = nlohmann::ordered_json;
  Json j;
  j["schema_version"] = pth::kJsonSchemaVersion;
  j["checkpoint"] = r.checkpoint_path;
  j["epoch"] = r.epoch ? Json(*r.epoch) : Json(nullptr);
  j["weights"] = r.weights;
  j["layout"] = r.layout.empty() ? Json(nullptr) : Json(r.layout);
  j["run_dir"] = r.run_dir.empty() ? Json(nullptr) : Json(r.run_dir);
  j["experiment_name"] = r.experiment_name;
  j["architecture"] = r.architecture;
  j["dataset"] = r.dataset;
  j["split"] = "valid";
  j["samples"] = r.samples;
  j["batches"] = r.batches;
  j["device"] = r.device;
  j["seconds"] = r.seconds;
  j["loss"] = r.loss_name;
  j["metrics"] = Json::object();
  for (const auto& [name, value] : r.metrics) j["metrics"][name] = pth::json_float(value);
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  pth::install_mapping_fault_handler("sg-eval", common::kExitInputError);
  CLI::App app{"Evaluate a checkpoint on a recipe's validation data and metrics: a run's checkpoint\n"
               "(--experiment-name) or any checkpoint with a recipe (--config-name with\n"
               "checkpoint_params.checkpoint_path=FILE).",
               "sg-eval"};
  common::add_version_flag(app, sg::libtorch_description);
  sg::EvalRequest request;
  common::RunOptions run;
  std::string config_dir;
  bool no_ema = false, json = false;
  common::add_run_options(app, run, "Evaluate a checkpoint of this experiment's run",
                          "The run (RUN_<time>); default: the latest run holding the checkpoint");
  common::add_storage_location_option(app, run);
  app.add_option("--ckpt-name", request.ckpt_name, "Checkpoint file of the run (ckpt_best.pth, average_model.pth, ...)")
      ->capture_default_str();
  app.add_option("--config-name", request.config_name,
                 "Recipe to evaluate checkpoint_params.checkpoint_path=FILE with (instead of --experiment-name)");
  common::add_config_dir_option(app, config_dir);
  common::add_zoo_option(app, request.options.zoo);
  auto* key = app.add_option("--key", request.options.key,
                              "The weights' key path in the checkpoint (state_dict_ema, model, a/b); default:\n"
                              "checkpoint_params.checkpoint_key, else detected (SG, timm, torchvision, Lightning)");
  app.add_flag("--no-ema", no_ema, "Evaluate the plain weights (`net`, `state_dict`, `model`) even when the checkpoint has EMA weights")->excludes(key);
  app.add_flag("--json", json, "Print one JSON document instead of the table");
  std::string max_batches;
  app.add_option("--max-batches", max_batches, "Evaluate at most N batches, or all (default: the recipe's max_valid_batches)")
      ->check(common::positive_integer() | CLI::IsMember({"all"}));
  app.add_option("--batch-size", request.options.batch_size, "Validation batch size (default: the recipe's)")
      ->check(common::positive_integer());
  app.add_option("--device", request.options.device, "cpu, cuda, cuda:1 (default: the recipe's, else CUDA if available)");
  app.add_option("--threads", request.options.threads, "CPU threads (default: the recipe's, else all cores)")
      ->check(common::positive_integer());
  app.add_option("overrides", request.overrides, "Recipe overrides: key.sub=value (e.g. dataset_params.root=DIR);\n"
                 "experiment_name=, training_hyperparams.run_id= and ckpt_root_dir= choose the run as the flags do");
  app.footer("Exit status: 0 evaluated, 1 the evaluation failed, 2 bad usage, unknown experiment/run/checkpoint,\n"
             "a checkpoint that does not fit the recipe's model, bad recipe or data.");
  if (auto done = common::parse_command_line(app, argc, argv)) return *done;
  if (auto done = common::take_run_overrides(app, run, request.overrides, false)) return *done;

  request.experiment_name = run.experiment_name;
  request.run_id = run.run_id;
  request.ckpt_root_dir = run.ckpt_root_dir;
  request.options.prefer_ema = !no_ema;
  if (!max_batches.empty()) request.options.max_batches = max_batches == "all" ? -1 : std::stoll(max_batches);
  request.config_dirs = common::recipe_dirs(config_dir);

  sg::EvalResult result;
  try {
    request.run_id = common::fetched_run_id(run, request.ckpt_name);
    result = sg::evaluate(request);
  } catch (const sg::EvalError& e) {
    common::print_error("sg-eval", e.what());
    return common::kExitInputError;
  } catch (const sg::RecipeError& e) {
    common::print_error("sg-eval", e.what());
    return common::kExitInputError;
  } catch (const std::exception& e) {
    common::print_error("sg-eval", e.what());
    return common::kExitFailed;
  }
  if (json) std::cout << to_json(result).dump(2) << std::endl;
  else print_table(result);
  return common::kExitOk;
}
