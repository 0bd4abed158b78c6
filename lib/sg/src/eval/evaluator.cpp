#include "sg/eval/evaluator.hpp"

#include <chrono>
#include <filesystem>

#include <torch/torch.h>

#include "pth/checkpoint.hpp"
#include "pth/checkpoint_weights.hpp"
#include "pth/error.hpp"
#include "pth/folder.hpp"
#include "pth/input_file.hpp"
#include "pth/message.hpp"
#include "recipe/run_dir.hpp"
#include "remote/file_arguments.hpp"
#include "remote/location.hpp"
#include "sg/checkpoint/load_weights.hpp"
#include "sg/data/data.hpp"
#include "sg/eval/validation.hpp"
#include "sg/models/model.hpp"
#include "sg/runtime/cpu_settings.hpp"
#include "sg/runtime/device.hpp"
#include "sg/train/train_config.hpp"

namespace fs = std::filesystem;

namespace sg {
namespace {


// The weights to evaluate: the entry at `key`, else the detected layout's (EMA preferred
// unless --no-ema), else the whole file as a plain state dict.
pth::ChosenWeights pick_weights(const pth::Value& root, const EvalOptions& options, const std::string& path) {
  if (!root.is_dict()) throw EvalError("checkpoint " + path + " is not a dict of weights");
  pth::ChosenWeights chosen;
  try {
    chosen = pth::choose_weights(root, options.key, options.prefer_ema ? pth::WeightsChoice::PreferEma : pth::WeightsChoice::Net);
  } catch (const pth::WeightsKeyError& e) {
    throw EvalError("checkpoint " + path + ": " + e.what());
  }
  if (!chosen.missing.empty())
    throw EvalError("checkpoint " + path + " has " + pth::quoted(chosen.ema_key) + " but no " + pth::quoted(chosen.missing) +
                    " (drop --no-ema)");
  return chosen;
}

}  // namespace

EvalTarget resolve_eval_target(const EvalRequest& request) {
  EvalTarget target;
  if (!request.experiment_name.empty()) {
    if (!request.config_name.empty()) throw EvalError("give either an experiment name or a recipe, not both");
    for (const auto& [flag, name] : {std::pair<const char*, const std::string&>{"--experiment-name", request.experiment_name},
                                     {"--run-id", request.run_id}, {"--ckpt-name", request.ckpt_name}})
      if (const std::string problem = pth::path_component_problem(name); !name.empty() && !problem.empty())
        throw EvalError(std::string(flag) + " '" + name + "' " + problem);
    const fs::path experiment = fs::path(request.ckpt_root_dir) / request.experiment_name;
    if (!fs::is_directory(experiment))
      throw EvalError("unknown experiment '" + request.experiment_name + "' (no folder " + experiment.string() + ")");
    if (request.run_id.empty()) {
      auto latest = find_latest_run(request.ckpt_root_dir, request.experiment_name, request.ckpt_name);
      if (!latest)
        throw EvalError("no run of experiment '" + request.experiment_name + "' under " + experiment.string() +
                        " holds checkpoint '" + request.ckpt_name + "'");
      target.run_dir = *latest;
    } else {
      if (!fs::is_directory(experiment / request.run_id))
        throw EvalError("unknown run '" + request.run_id + "' of experiment '" + request.experiment_name + "' (no folder " +
                        (experiment / request.run_id).string() + ")");
      target.run_dir = (experiment / request.run_id).string();
    }
    target.checkpoint_path = (fs::path(target.run_dir) / request.ckpt_name).string();
    if (!fs::is_regular_file(target.checkpoint_path))
      throw EvalError("unknown checkpoint '" + request.ckpt_name + "': no file " + target.checkpoint_path);
    if (!fs::is_regular_file(fs::path(target.run_dir) / ".hydra" / "config.yaml"))
      throw EvalError("run " + target.run_dir + " has no stored recipe (.hydra/config.yaml)");
    // Where the run is now wins over where it was when the recipe was stored.
    std::vector<std::string> all = {"ckpt_root_dir=" + request.ckpt_root_dir,
                                    "experiment_name=" + request.experiment_name};
    all.insert(all.end(), request.overrides.begin(), request.overrides.end());
    target.recipe = load_stored_recipe(target.run_dir, all);
    return target;
  }
  if (request.config_name.empty()) throw EvalError("give --experiment-name or --config-name");
  RecipeRequest recipe_request{request.config_name, request.config_dirs, request.overrides};
  target.recipe = compose_recipe(recipe_request);
  target.checkpoint_path = target.recipe.get_or<std::string>("checkpoint_params.checkpoint_path", "");
  target.checkpoint_key = target.recipe.get_or<std::string>("checkpoint_params.checkpoint_key", "");
  if (target.checkpoint_path.empty()) {
    // Pretrained weights from the model zoo: evaluate_checkpoint loads them as sg-train does.
    if (!target.recipe.get_or<std::string>("checkpoint_params.pretrained_weights", "").empty()) return target;
    throw EvalError("no checkpoint to evaluate: give checkpoint_params.checkpoint_path=FILE");
  }
  if (remote::is_remote_file(target.checkpoint_path)) return target;   // downloaded when it is read
  if (const std::string problem = pth::input_file_problem(target.checkpoint_path); !problem.empty())
    throw EvalError("checkpoint_params.checkpoint_path: " + target.checkpoint_path + ": " + problem);
  return target;
}

EvalResult evaluate_checkpoint(const Recipe& recipe, const std::string& checkpoint_path, const EvalOptions& options) {
  EvalResult result;
  result.checkpoint_path = checkpoint_path;

  // Everything up to the first batch is input: recipe, data, checkpoint.
  TrainingConfig config;
  std::unique_ptr<SampleSource> val_data;
  std::shared_ptr<Classifier> model;
  torch::Device device(torch::kCPU);
  try {
    config = read_training_config(recipe);
    if (options.batch_size < 0) throw EvalError("--batch-size must be positive");
    if (options.batch_size > 0) config.data.val.loader.batch_size = options.batch_size;
    if (options.max_batches) config.data.val.loader.max_batches = *options.max_batches;
    if (!options.device.empty()) config.device = options.device;
    if (options.threads > 0) config.num_threads = options.threads;
    config.checkpoint.zoo = options.zoo;
    device = pick_device(config.device);
    set_threads(config.num_threads);
    keep_freed_memory_for_reuse();
    result.experiment_name = config.experiment_name;
    result.architecture = config.architecture;
    result.dataset = config.data.val.dataset;
    result.loss_name = config.loss_name;
    result.device = device.str();

    model = create_model(config.architecture, config.model);   // its options were checked with the recipe

    if (checkpoint_path.empty()) {
      try {
        load_initial_weights(*model, config.architecture, config.model.num_classes, config.checkpoint);
      } catch (const std::exception& e) {
        throw EvalError(pth::first_line(e.what()));
      }
      result.weights = "pretrained " + config.checkpoint.pretrained_weights;
      result.weights_description = result.weights;
    } else {
      remote::FileArguments given;   // a remote checkpoint is read from a downloaded copy
      pth::Checkpoint ckpt;
      try {
        ckpt = pth::read_checkpoint(given.readable(checkpoint_path));
      } catch (const std::exception& e) {
        throw EvalError("cannot read checkpoint " + checkpoint_path + ": " + given.shown(pth::first_line(e.what())));
      }
      const pth::ChosenWeights chosen = pick_weights(ckpt.root, options, checkpoint_path);
      result.weights = chosen.key.empty() ? "state_dict" : chosen.key;
      result.layout = chosen.layout;
      result.weights_description = pth::describe_weights(chosen);
      if (ckpt.root.is_dict())
        if (const pth::Value* epoch = ckpt.root.as_dict().find("epoch"); epoch && epoch->is_int())
          result.epoch = epoch->as_int();
      try {
        load_state_dict_into(*model, chosen.weights, pth::StrictMode::On);
      } catch (const pth::FileDataError& e) {   // the weights' data failed its CRC, or the file changed
        throw EvalError("cannot read checkpoint " + given.shown(e.file()) + ": " + given.shown(e.what()));
      } catch (const CheckpointLoadError& e) {
        throw EvalError("checkpoint " + checkpoint_path + " (" + result.weights + ") does not fit the recipe's model '" +
                        config.architecture + "': " + pth::first_line(e.what()));
      }
    }
    model->to(device);

    val_data = load_dataset(config.data, false);
    check_dataset_fits(*val_data, config.model);
  } catch (const EvalError&) {
    throw;
  } catch (const std::exception& e) {
    throw EvalError(pth::first_line(e.what()));
  }

  const auto start = std::chrono::steady_clock::now();
  DataLoader loader(*val_data, config.data.val.transforms, config.data.val.loader);
  const ValidationResult validation = validate(*model, loader, config, device);
  result.batches = validation.batches;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.samples = validation.samples;
  if (result.samples == 0) throw EvalError("the validation set is empty (no batch evaluated)");
  result.metrics = validation.metrics;
  return result;
}

EvalResult evaluate(const EvalRequest& request) {
  EvalTarget target = resolve_eval_target(request);
  EvalOptions options = request.options;
  if (options.key.empty()) options.key = target.checkpoint_key;
  EvalResult result = evaluate_checkpoint(target.recipe, target.checkpoint_path, options);
  result.run_dir = target.run_dir;
  return result;
}

}  // namespace sg
