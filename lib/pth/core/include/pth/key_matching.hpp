#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pth/dtype.hpp"

namespace pth {

// How a source state dict's names are matched to a target's (SG's StrictLoad):
//   On            PyTorch strict=True: the same names, every shape equal.
//   Off           PyTorch strict=False: entries whose names match are paired, the rest
//                 ignored (reported as missing/unexpected); a matching name with another
//                 shape is still an error, as in load_state_dict.
//   NoKeyMatching SG's default: strict first; if that fails, pair the entries by
//                 position in state-dict order, every pair the same shape. As SG's
//                 zip(), pairing stops at the shorter of the two: a source with more
//                 entries loads (its trailing ones are reported as unexpected), one with
//                 fewer fails (the target would keep entries it did not get).
//   KeyMatching   SG's transfer_weights: strict first; if that fails, every entry whose
//                 name matches with the same shape is loaded and the rest skipped (names
//                 that match with another shape are reported as mismatched, not an error).
enum class StrictMode { On, Off, NoKeyMatching, KeyMatching };

// "on", "off", "no_key_matching", "key_matching"
std::string_view strict_mode_name(StrictMode m);
// The names above, and True/true/False/false as SG's recipes write on/off.
std::optional<StrictMode> strict_mode_from_name(std::string_view name);

// One entry of a state dict, in state-dict order.
struct KeyEntry {
  std::string name;
  DType dtype = DType::Float32;
  std::vector<int64_t> shape;
};

struct KeyPair {
  std::string target;
  std::string source;   // the name as it is in the source (DDP prefix included)
};

struct ShapeMismatch {
  std::string target, source;
  std::vector<int64_t> target_shape, source_shape;
};

struct MatchReport {
  StrictMode mode = StrictMode::NoKeyMatching;
  bool ok = false;
  bool by_position = false;          // no_key_matching fell back to pairing by position
  std::string stripped_prefix;       // "module." when every source key had it (DDP)
  size_t source_count = 0, target_count = 0;
  std::vector<KeyPair> mapping;      // in target order; what the adapted state dict holds
  std::vector<std::string> missing;      // target names with no source entry
  std::vector<std::string> unexpected;   // source names with no target entry
  std::vector<ShapeMismatch> mismatched;
  std::string failure;               // one line when !ok
  std::vector<std::string> notes;    // warnings that do not fail the match

  size_t renamed() const;            // pairs whose names differ
};

// Matches `source` to `target` under `mode`. A "module." prefix on every source key is
// ignored for matching (as SG's loading strips it). Never throws for a failed match:
// the report says why (ok == false).
MatchReport match_keys(const std::vector<KeyEntry>& source, const std::vector<KeyEntry>& target, StrictMode mode);

std::string shape_text(const std::vector<int64_t>& shape);    // "[16, 6, 5, 5]"
std::string match_report_to_text(const MatchReport& r);       // several lines, ends with "\n"
nlohmann::ordered_json match_report_to_json(const MatchReport& r);

}  // namespace pth
