#pragma once
// What sg-ckpt-inspect reports about checkpoint files: descriptions, hashes, statistics,
// verification and differences, rendered as text for people or JSON for machines.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pth/checkpoint.hpp"
#include "pth/json_writer.hpp"
#include "pth/tensor_data.hpp"

namespace pth::inspect {

using Json = nlohmann::ordered_json;

struct Options {
  bool hash = false;     // SHA-256 of every tensor (reads the data)
  bool stats = false;    // min/max/mean/NaN/Inf of every floating tensor (reads the data)
  bool verify = false;   // CRCs and unreferenced records
};

struct TensorReport {
  std::string path;
  std::shared_ptr<Tensor> tensor;
  std::string sha256;                 // empty unless Options::hash
  std::optional<TensorStats> stats;   // only floating tensors, with Options::stats
};

// Tensors under one top-level key ("net", "ema_net", ...; "" for a bare top-level tensor).
struct Group {
  std::string name;
  uint64_t tensors = 0;
  uint64_t parameters = 0;   // elements
  uint64_t bytes = 0;
  std::map<std::string, uint64_t> dtypes;
};

// An optimizer's state dict (torch's Optimizer.state_dict(): a dict of "state" and a
// "param_groups" list), as the file's root or under one of its top-level keys.
struct OptimizerReport {
  std::string path;     // the top-level key ("optimizer_state_dict"); "" for the root
  Value param_groups;   // as the file holds them: lr, momentum, ..., params per group
};

struct Report {
  Checkpoint checkpoint;
  std::vector<std::string> keys;                        // top-level keys, in order
  std::vector<std::pair<std::string, Value>> scalars;   // top-level entries without tensors
  std::vector<Group> groups;
  std::vector<TensorReport> tensors;
  std::vector<OptimizerReport> optimizers;
  std::vector<std::string> problems;                    // from Options::verify
};

// Reads and describes one file; throws pth::Error if it cannot be read.
Report describe(const std::string& path, const Options& options);
// Describes a checkpoint already read.
Report describe(Checkpoint checkpoint, const Options& options);

// A value without tensors as JSON: None null, nan/inf as "NaN"/"Infinity"/"-Infinity"
// (pth::json_float), big ints as digit strings, bytes as {"bytes_hex": ...}, tuples as
// arrays, dict keys as strings.
Json value_to_json(const Value& v);

// The report as one JSON object, written where `out` stands (the top, or an array item).
// Text from a file that is not UTF-8 is replaced, never an error: see JsonWriter.
void write_report_json(JsonWriter& out, const Report& r, const Options& options);
// A file that could not be read, as --verify reports it in place of its description:
// {"path", "error": why, "verify": {"ok": false, "problems": [why]}}.
void write_unreadable_json(JsonWriter& out, const std::string& path, const std::string& why);
// JSON as text; invalid UTF-8 taken from a file is replaced, never an error.
std::string json_text(const Json& j, int indent = -1);
std::string report_to_text(const Report& r, const Options& options, bool list_tensors);

struct TensorChange {
  std::string path;
  std::shared_ptr<Tensor> a, b;
};
struct ValueChange {
  std::string path;
  double max_abs_diff;
};
struct ScalarChange {
  std::string path;
  std::optional<Json> a, b;   // absent where the path exists on one side only
};
struct Diff {
  std::string a_path, b_path;
  std::vector<std::string> added, removed;
  std::vector<TensorChange> changed;        // dtype or shape
  std::vector<ValueChange> value_changed;
  std::vector<ScalarChange> scalars_changed;
  bool identical() const {
    return added.empty() && removed.empty() && changed.empty() && value_changed.empty() && scalars_changed.empty();
  }
};

Diff diff(const Checkpoint& a, const Checkpoint& b);
void write_diff_json(JsonWriter& out, const Diff& d);   // {"schema_version": 1, "diff": {...}}
std::string diff_to_text(const Diff& d);

}  // namespace pth::inspect
