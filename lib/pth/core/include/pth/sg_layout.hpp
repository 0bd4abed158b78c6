#pragma once
// SuperGradients' checkpoint layout, the one answer for every program: the key names, which
// weights a checkpoint holds (EMA preferred or not), and DDP's "module." prefix.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pth/value.hpp"

namespace pth {

namespace sg_keys {
constexpr const char* kNet = "net";
constexpr const char* kEmaNet = "ema_net";
constexpr const char* kAcc = "acc";
constexpr const char* kEpoch = "epoch";
constexpr const char* kMetrics = "metrics";
constexpr const char* kPackages = "packages";
constexpr const char* kBestCkptMetrics = "_best_ckpt_metrics";
constexpr const char* kOptimizerStateDict = "optimizer_state_dict";
constexpr const char* kScalerStateDict = "scaler_state_dict";
constexpr const char* kTorchSchedulerStateDict = "torch_scheduler_state_dict";
constexpr const char* kSgCppState = "sg_cpp_state";   // ours: what SG's keys do not hold (resuming)
}  // namespace sg_keys

// A key is present when it exists and is not None. A root that is not a dict, or a dict
// with neither net nor ema_net present, is itself a plain state dict.
//   PreferEma  ema_net, else net, else the root
//   PreferNet  net, else ema_net, else the root
//   Net        net; none when only ema_net is present; else the root
//   Ema        ema_net; else none
enum class WeightsChoice { PreferEma, PreferNet, Net, Ema };

struct SelectedWeights {
  const Value* weights = nullptr;   // into the root; nullptr when the choice finds none
  std::string which;                // "ema_net", "net", or "" when the root itself is a plain state dict
  const Value* ema = nullptr;       // the root's ema_net when present
  std::string missing;              // when weights == nullptr: the key that was needed ("net" or "ema_net")
};

// Never throws: callers word their own errors from `which` and `missing`.
SelectedWeights select_weights(const Value& root, WeightsChoice choice);

// The same choice between any layout's plain and EMA entries of `d` (ema_key nullptr: the
// layout has none; `missing` is then "EMA weights"). Without either entry, PreferEma and
// PreferNet find none and leave `missing` empty.
SelectedWeights select_entries(const Dict& d, WeightsChoice choice, const char* plain_key, const char* ema_key);

// The entry `key` of `d` when it exists and is not None, else nullptr.
const Value* present_entry(const Dict& d, const char* key);

// DDP's wrapper names every parameter "module.<name>".
constexpr std::string_view kDdpPrefix = "module.";

// kDdpPrefix.size() when there is at least one key and every key is a string starting
// with kDdpPrefix, else 0.
size_t ddp_prefix_length(const Dict& state_dict);
size_t ddp_prefix_length(const std::vector<std::string_view>& names);

// average_model.pth as SG writes it: the epoch's checkpoint (a dict) with `net` replaced
// by the averaged weights, in the same key order, without optimizer_state_dict,
// scaler_state_dict and ema_net (SG pops them) nor our sg_cpp_state (nothing resumes from
// an average).
Value make_average_checkpoint(const Value& checkpoint, Value averaged_net);

}  // namespace pth
