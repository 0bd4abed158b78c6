#pragma once
// Which weights a checkpoint holds, for every program: a key path the user names, or the
// layout detected from the top-level keys of SuperGradients (net, ema_net), timm
// (state_dict, state_dict_ema), torchvision's reference scripts (model, model_ema),
// Lightning (state_dict, every name under the LightningModule's attribute), or the file
// itself as a plain state dict.
#include <string>
#include <vector>

#include "pth/error.hpp"
#include "pth/sg_layout.hpp"
#include "pth/value.hpp"

namespace pth {

namespace weights_layouts {
constexpr const char* kSg = "sg";
constexpr const char* kTimm = "timm";
constexpr const char* kTorchvision = "torchvision-references";
constexpr const char* kLightning = "lightning";
constexpr const char* kStateDict = "state_dict";   // the whole file is the state dict
constexpr const char* kCustom = "custom";          // a key path in a file of no known layout
}  // namespace weights_layouts

struct ChosenWeights {
  // name -> tensor as the model names them: `prefix` removed, `left_out` dropped (a new
  // dict sharing the tensors), else the chosen entry itself. None when `missing` is set.
  Value weights;
  std::string key;                     // the key path used ("a/b"); "" for the whole file
  std::string layout;                  // one of weights_layouts
  bool ema = false;                    // the layout's EMA weights
  std::string prefix;                  // removed from every name ("model.", "module.")
  std::vector<std::string> left_out;   // entries that are not the model's (AveragedModel's n_averaged)
  std::string ema_key;                 // the layout's EMA weights when present, chosen or not ("" none)
  std::string missing;                 // the choice needs weights the file lacks: their key
};

// The key path is wrong or names no dict of tensors. The message names the key and the
// keys there are; callers put the file before it.
class WeightsKeyError : public Error {
 public:
  explicit WeightsKeyError(const std::string& what) : Error(what) {}
};

// `key` (components joined by '/', list items by index) when not empty: exactly that entry,
// which must be a dict of tensors (else WeightsKeyError). Otherwise the detected layout's
// weights under `choice` (its plain weights for "net", its EMA weights for "ema_net";
// `missing` set when the choice needs weights the layout lacks), or the whole file.
//
// Names are cleaned for foreign layouts and key paths (not for SG's net/ema_net nor the
// whole file, whose DDP prefix the loaders handle as before): Lightning's state_dict loses
// the first name component when every name has the same one ("model.", "net."); an
// AveragedModel state dict (n_averaged and every other name under "module.", torchvision's
// model_ema) loses "module." and n_averaged; otherwise a "module." on every name goes.
ChosenWeights choose_weights(const Value& root, const std::string& key, WeightsChoice choice);

// One line for logs: "state_dict_ema (timm layout, EMA)", "the whole file (state_dict
// layout)", "state_dict (lightning layout, prefix 'model.' removed)".
std::string describe_weights(const ChosenWeights& c);

}  // namespace pth
