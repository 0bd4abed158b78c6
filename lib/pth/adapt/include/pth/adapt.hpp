#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pth/dtype.hpp"
#include "pth/error.hpp"
#include "pth/key_matching.hpp"
#include "pth/value.hpp"

namespace pth {

// --- building blocks -------------------------------------------------------------------

// Round to nearest even, exactly as PyTorch's c10::Half(float) / c10::BFloat16(float)
// (so tensor.half() / tensor.bfloat16()); NaN becomes 0x7E00 (with its sign) / 0x7FC0.
uint16_t float_to_half_bits(float f);
uint16_t float_to_bfloat16_bits(float f);
float half_bits_to_float(uint16_t h);
float bfloat16_bits_to_float(uint16_t b);

// A new contiguous tensor in memory holding `t` converted to `to` (a floating dtype).
// float64 goes through float32 on its way to float16/bfloat16, as PyTorch does. Returns
// `t` itself when it already has that dtype or is not floating.
std::shared_ptr<Tensor> convert_tensor(const std::shared_ptr<Tensor>& t, DType to);

// The element-wise mean of tensors of one dtype and shape, accumulated in float64 and
// stored in their dtype (float16/bfloat16 rounded through float32). Throws pth::Error if
// dtypes or shapes differ or the dtype is not floating.
std::shared_ptr<Tensor> average_tensors(const std::vector<std::shared_ptr<Tensor>>& tensors);

// --- sg-ckpt-adapt --------------------------------------------------------------------

enum class AdaptFormat { Auto, Pth, Safetensors };
AdaptFormat adapt_format_for_path(const std::string& path);   // ".safetensors" -> Safetensors, else Pth

// For --model: writes the state dict of architecture `arch` with `num_classes` classes as
// a .pth file at `out_path` (in a temporary folder that adapt() makes and removes), and
// reports a failure by throwing (what() is printed as the error). Programs are started by
// the caller (sg-ckpt-adapt runs sg-model-template), never by lib/pth.
using MakeModelTemplate =
    std::function<void(const std::string& arch, int64_t num_classes, const std::string& out_path)>;

struct AdaptOptions {
  std::string input;                    // IN; empty when averaging
  std::vector<std::string> average;     // --average A B ...: the files to average (instead of IN)
  std::string output;                   // -o OUT
  AdaptFormat format = AdaptFormat::Auto;
  bool force = false;                   // overwrite an existing OUT (or IN)

  std::string like;                     // --like TEMPLATE
  std::string model;                    // --model ARCH (through make_model_template)
  int64_t num_classes = 1000;           // --num-classes for --model
  MakeModelTemplate make_model_template;   // for --model; empty: sg-model-template is not there
  StrictMode strict = StrictMode::NoKeyMatching;

  std::string key;                      // --key PATH: the weights at this key path ("a/b"); "": detected
  bool ema = false;                     // ema_net becomes net (the layout's EMA weights)
  bool weights_only = false;            // keep only net
  std::optional<DType> dtype;           // convert floating weights
  std::string strip_prefix, add_prefix;
  std::vector<std::string> renames;     // "REGEX=REPLACEMENT" (ECMAScript, $1 groups), in order
  std::vector<std::string> drop, keep;  // regexes searched anywhere in the key
};

// A problem with an input or with the options: exit status 2, printed as
// "<file>: <why>" (or "<why>" when file is empty). Nothing has been written.
class AdaptError : public Error {
 public:
  AdaptError(std::string file, const std::string& why)
      : Error(file.empty() ? why : file + ": " + why), file_(std::move(file)), why_(why) {}
  const std::string& file() const { return file_; }
  const std::string& why() const { return why_; }

 private:
  std::string file_, why_;
};

// Which weights of an input were taken (pth::choose_weights).
struct WeightsSource {
  std::string key;                      // "" = the whole file
  std::string layout;
  bool ema = false;
  std::string prefix;                   // removed from every name
  std::string description;              // describe_weights: "state_dict_ema (timm layout, EMA)"
};

struct AdaptResult {
  bool ok = false;                      // false: key matching failed under the mode (exit 1)
  std::string failure;                  // "<file>: <why>" when !ok
  std::optional<MatchReport> match;     // net against the template (--like / --model)
  std::optional<MatchReport> ema_match; // ema_net against the template, when kept
  std::vector<std::string> inputs;
  std::string template_path;
  WeightsSource weights;                // IN's (the first file's for --average)
  std::string output;
  AdaptFormat format = AdaptFormat::Pth;
  bool written = false;
  size_t tensors = 0;                   // tensors in the written net (or plain state dict)
  uint64_t tensor_bytes = 0;
  size_t converted = 0;                 // tensors converted by --dtype
  std::vector<std::string> notes;
};

// Runs the whole conversion. Throws AdaptError for bad options and unreadable or
// inconsistent inputs; returns ok == false (nothing written) when matching fails.
AdaptResult adapt(const AdaptOptions& options);

nlohmann::ordered_json adapt_result_to_json(const AdaptResult& r);
std::string adapt_result_to_text(const AdaptResult& r);   // the weights taken, the match report (if any), a summary line

}  // namespace pth
