#pragma once
// Initialising a model from a checkpoint before training, as SuperGradients' models.get
// does with `checkpoint_params`: checkpoint_path, strict_load, load_backbone,
// checkpoint_num_classes and pretrained_weights (from a model zoo: a local folder, or a
// remote one whose files are fetched into ~/.cache/sg-models). checkpoint_path may be
// remote too (an rclone location, s3://, http(s)://): it is read from a downloaded copy.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/types.h>

#include "pth/key_matching.hpp"
#include "pth/value.hpp"
#include "sg/checkpoint/load_weights.hpp"
#include "sg/models/model.hpp"

namespace sg {

class Recipe;

// The recipe's `checkpoint_params` (recipes/checkpoint_params/default_checkpoint_params.yaml).
struct CheckpointParams {
  bool load_checkpoint = false;            // SG's legacy switch; a checkpoint_path alone loads too
  bool load_backbone = false;              // load everything but the head (head_name())
  std::string checkpoint_path;             // "" = none
  std::string checkpoint_key;              // ours: the weights' key path in it ("state_dict_ema", "a/b"); "" = detected
  pth::StrictMode strict_load = pth::StrictMode::NoKeyMatching;
  std::string pretrained_weights;          // a dataset name: <zoo>/<arch>_<dataset>.pth; "" = none
  std::optional<int64_t> checkpoint_num_classes;   // the checkpoint's head size, when it differs
  std::string zoo;                         // "" = $SG_MODEL_ZOO, else ~/.cache/sg-models
};

// Reads checkpoint_params.* (all optional). Throws RecipeError naming the key.
CheckpointParams read_checkpoint_params(const Recipe& recipe);

// SG's class count of a pretrained_weights dataset (imagenet 1000, coco 80, cifar10 10,
// cifar100 100, fashion_mnist 10, mnist 10); nullopt for an unknown name.
std::optional<int64_t> pretrained_num_classes(const std::string& dataset);

// The model zoo folder: `configured` if not empty, else $SG_MODEL_ZOO, else
// ~/.cache/sg-models.
std::string model_zoo_dir(const std::string& configured = "");

// <zoo>/<arch>_<dataset>.pth after checking its SHA-256 against <zoo>/manifest.json
// ({"<file name>": "<hex sha256>"}). Throws CheckpointLoadError when the file, the manifest
// or its entry is missing, or the sum differs. A remote zoo (an rclone location, s3:// or
// an http(s):// base address): the manifest is read from it, and the file comes from
// model_cache_dir() when a copy with the manifest's sum is there, else it is downloaded
// into it, checked, and renamed into place (remote::cached_download).
std::string verified_zoo_file(const std::string& zoo, const std::string& arch, const std::string& dataset);

// Where a remote zoo's files are kept: ~/.cache/sg-models. Throws CheckpointLoadError
// when HOME is not set.
std::string model_cache_dir();

// Everything checkpoint_params asks for, on a model just built by
// create_model(arch, {num_classes, ...}) (and already on its device):
//  1. pretrained_weights: the head set to the dataset's class count, the zoo file loaded
//     with no_key_matching, the head set back (fresh) to checkpoint_num_classes or
//     num_classes if that differs;
//  2. checkpoint_path: the head set to checkpoint_num_classes (if given), the file's
//     weights (checkpoint_key, else detected: pth::choose_weights) loaded under
//     strict_load (backbone only if load_backbone), then a fresh head for num_classes if
//     checkpoint_num_classes differs.
// Does nothing when neither is set. A head that is replaced is freshly initialised (on
// the model's device). Returns lines for the run's log: which weights of checkpoint_path
// were loaded, and the entries a key_matching load skipped (SG's transfer_weights skips
// them silently). Throws CheckpointLoadError / RecipeError.
std::vector<std::string> load_initial_weights(Classifier& model, const std::string& arch, int64_t num_classes,
                                              const CheckpointParams& p);

}  // namespace sg
