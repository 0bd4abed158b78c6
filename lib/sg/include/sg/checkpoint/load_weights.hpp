#pragma once
// Copying a checkpoint's weights into a live model: the one loader of every program
// (sg-train's checkpoint_params and resume, sg-eval, the averaged model).
#include <stdexcept>
#include <string>

#include <torch/types.h>

#include "pth/key_matching.hpp"
#include "pth/value.hpp"
#include "sg/models/model.hpp"

namespace sg {

// The weights cannot be loaded into the model: the file cannot be read, holds no weights,
// or they do not fit (the message lists every key involved), or a model-zoo file fails
// its check. One line.
class CheckpointLoadError : public std::runtime_error {
 public:
  explicit CheckpointLoadError(const std::string& what) : std::runtime_error(what) {}
};

// Copies a checkpoint tensor into a live one of the same shape, converting the dtype
// (straight from the file with pread when the target is a contiguous CPU tensor).
void copy_tensor_into(torch::Tensor& target, const pth::Tensor& source);

// Copies `state_dict` (name -> tensor; a DDP "module." prefix on every key is ignored,
// pth/sg_layout.hpp) into `model` under `mode` (pth::match_keys: on = strict, exact names
// and shapes as torch's load_state_dict(strict=True); off = what matches by name, the rest
// left as it is; no_key_matching = by name, else paired by position with equal shapes;
// key_matching = by name, else every entry whose name and shape match, the rest as it is).
// `backbone_only`: entries under head_name() are left out on both sides. Nothing is
// copied unless the match succeeds. Throws CheckpointLoadError, one line: how the match
// failed, then "shape mismatch: ...; missing: ...; unexpected: ..." (callers say what
// was loaded where).
pth::MatchReport load_state_dict_into(Classifier& model, const pth::Value& state_dict, pth::StrictMode mode,
                                      bool backbone_only = false);

// Reads the checkpoint file at `path` (zip or legacy torch.save) and loads its weights
// (pth::choose_weights: the entry at key path `key`, else the detected layout's, EMA
// preferred) as load_state_dict_into does. `weights_used`, when given, receives
// pth::describe_weights of what was loaded. The message of a failure starts with the path
// and names the strict_load mode.
pth::MatchReport load_checkpoint_weights(Classifier& model, const std::string& path, pth::StrictMode mode,
                                         bool backbone_only = false, const std::string& key = "",
                                         std::string* weights_used = nullptr);

}  // namespace sg
