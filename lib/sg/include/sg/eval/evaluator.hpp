#pragma once
// SG's evaluate_checkpoint and evaluate_recipe: a checkpoint evaluated on a recipe's
// validation data with its metrics and loss, as the trainer validates (EMA weights
// preferred, same loader, same autocast). Never evaluates random weights: a missing or
// unfitting checkpoint is an EvalError.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "recipe/recipe.hpp"
#include "sg/eval/metric_values.hpp"

namespace sg {

// Bad input: unknown experiment, run or checkpoint, unreadable checkpoint, a checkpoint
// that does not fit the recipe's model, a recipe without a checkpoint. One line.
class EvalError : public std::runtime_error {
 public:
  explicit EvalError(const std::string& what) : std::runtime_error(what) {}
};

struct EvalOptions {
  bool prefer_ema = true;        // ema_net when the checkpoint has it (else net)
  std::string key;               // the weights' key path in the checkpoint (--key); "": detected (pth::choose_weights)
  std::optional<int64_t> max_batches;   // -1: every batch; nullopt: the recipe's (training_hyperparams.max_valid_batches)
  int64_t batch_size = 0;        // 0: the recipe's val_dataloader_params.batch_size
  std::string device;            // "": the recipe's training_hyperparams.device (or CUDA when available)
  int64_t threads = 0;           // 0: the recipe's training_hyperparams.num_threads (or all cores)
  std::string zoo;               // model zoo for pretrained_weights; "": $SG_MODEL_ZOO, else ~/.cache/sg-models
};

// What to evaluate: either a run's checkpoint (experiment_name set) or a recipe plus
// checkpoint_params.checkpoint_path (config_name set).
struct EvalRequest {
  std::string experiment_name;
  std::string run_id;                       // "": the latest run holding ckpt_name
  std::string ckpt_root_dir = "checkpoints";
  std::string ckpt_name = "ckpt_latest.pth";

  std::string config_name;
  std::vector<std::string> config_dirs;

  std::vector<std::string> overrides;       // recipe overrides, both modes
  EvalOptions options;
};

struct EvalResult {
  std::string checkpoint_path;
  std::optional<int64_t> epoch;             // the checkpoint's `epoch`, if it has one
  std::string weights;                      // the key path used ("ema_net", "state_dict_ema", ...), "state_dict" (a plain one)
  std::string layout;                       // pth::weights_layouts ("sg", "timm", ...); "" for zoo weights
  std::string weights_description;          // pth::describe_weights, or "pretrained <name>"
  std::string run_dir;                      // experiment mode only
  std::string experiment_name;
  std::string architecture;
  std::string dataset;                      // dataset_params.dataset
  std::string device;
  std::string loss_name;
  int64_t samples = 0, batches = 0;
  double seconds = 0;
  MetricValues metrics;                     // the recipe's valid metrics plus the loss
};

// The recipe and checkpoint file a request names (throws EvalError / RecipeError).
struct EvalTarget {
  Recipe recipe;
  std::string checkpoint_path;
  std::string checkpoint_key;               // the recipe's checkpoint_params.checkpoint_key (recipe mode only)
  std::string run_dir;
};
EvalTarget resolve_eval_target(const EvalRequest& request);

// Evaluates `checkpoint_path` with the recipe's model, validation data and metrics.
EvalResult evaluate_checkpoint(const Recipe& recipe, const std::string& checkpoint_path, const EvalOptions& options);

// resolve_eval_target + evaluate_checkpoint.
EvalResult evaluate(const EvalRequest& request);

}  // namespace sg
