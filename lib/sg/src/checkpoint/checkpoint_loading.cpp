#include "sg/checkpoint/checkpoint_loading.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <vector>

#include <nlohmann/json.hpp>

#include "pth/error.hpp"
#include "pth/input_file.hpp"
#include "pth/sha256.hpp"
#include "recipe/recipe.hpp"
#include "remote/cached_download.hpp"
#include "remote/file_arguments.hpp"
#include "remote/local_copy.hpp"
#include "remote/location.hpp"
#include "remote/remote_error.hpp"

namespace sg {
namespace {

constexpr uint64_t kMaxManifestBytes = 16u << 20;

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string file_sha256(const std::string& path) {
  try {
    return pth::file_sha256(path);
  } catch (const pth::Error& e) {
    throw CheckpointLoadError("cannot read " + path + ": " + e.what());
  }
}

const std::vector<std::pair<std::string, int64_t>>& pretrained_datasets() {
  static const std::vector<std::pair<std::string, int64_t>> known = {
      {"imagenet", 1000}, {"imagenet21k", 21843}, {"coco", 80}, {"cifar10", 10}, {"cifar100", 100}, {"fashion_mnist", 10}, {"mnist", 10}};
  return known;
}

}  // namespace

CheckpointParams read_checkpoint_params(const Recipe& r) {
  const std::string p = "checkpoint_params.";
  CheckpointParams c;
  c.load_checkpoint = r.get_or<bool>(p + "load_checkpoint", false);
  c.load_backbone = r.get_or<bool>(p + "load_backbone", false);
  c.checkpoint_path = r.get_or<std::string>(p + "checkpoint_path", "");
  c.checkpoint_key = r.get_or<std::string>(p + "checkpoint_key", "");
  const std::string strict = r.get_or<std::string>(p + "strict_load", "no_key_matching");
  auto mode = pth::strict_mode_from_name(strict);
  if (!mode) {
    std::string lower = strict;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
    if (starts_with(lower, "strictload.")) lower = lower.substr(11);   // SG's enum spelling
    mode = pth::strict_mode_from_name(lower);
  }
  if (!mode)
    throw RecipeError(p + "strict_load: unknown '" + strict + "' (known: on/True, off/False, no_key_matching, key_matching)");
  c.strict_load = *mode;
  c.pretrained_weights = r.get_or<std::string>(p + "pretrained_weights", "");
  if (!c.pretrained_weights.empty() && !pretrained_num_classes(c.pretrained_weights)) {
    std::string known;
    for (const auto& [name, n] : pretrained_datasets()) known += (known.empty() ? "" : ", ") + name;
    throw RecipeError(p + "pretrained_weights: unknown dataset '" + c.pretrained_weights + "' (known: " + known + ")");
  }
  if (r.has(p + "checkpoint_num_classes") && !r.node(p + "checkpoint_num_classes").IsNull()) {
    c.checkpoint_num_classes = r.get<int64_t>(p + "checkpoint_num_classes");
    if (*c.checkpoint_num_classes < 1) throw RecipeError(p + "checkpoint_num_classes: must be at least 1");
  }
  if (c.load_backbone && c.checkpoint_path.empty())
    throw RecipeError(p + "load_backbone: True needs " + p + "checkpoint_path");
  if (c.load_checkpoint && c.checkpoint_path.empty() && c.pretrained_weights.empty())
    throw RecipeError(p + "load_checkpoint: True needs " + p + "checkpoint_path (or pretrained_weights)");
  return c;
}

std::optional<int64_t> pretrained_num_classes(const std::string& dataset) {
  for (const auto& [name, n] : pretrained_datasets())
    if (name == dataset) return n;
  return std::nullopt;
}

std::string model_zoo_dir(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("SG_MODEL_ZOO"); env && *env) return env;
  const char* home = std::getenv("HOME");
  if (!home || !*home) throw CheckpointLoadError("no model zoo: set SG_MODEL_ZOO (HOME is not set for ~/.cache/sg-models)");
  return std::string(home) + "/.cache/sg-models";
}

std::string model_cache_dir() {
  const char* home = std::getenv("HOME");
  if (!home || !*home) throw CheckpointLoadError("no cache for a remote model zoo: HOME is not set (for ~/.cache/sg-models)");
  return std::string(home) + "/.cache/sg-models";
}

namespace {

// `zoo` + "/" + `name`, for a folder, a remote location or a web address.
std::string zoo_file(const std::string& zoo, const std::string& name) {
  const bool ends_folder = !zoo.empty() && (zoo.back() == '/' || zoo.back() == ':');
  return ends_folder ? zoo + name : zoo + "/" + name;
}

// The SHA-256 that the manifest at `local_path` (shown as `shown`) gives for `name`.
std::string manifest_sha256(const std::string& local_path, const std::string& shown, const std::string& name) {
  std::string manifest_text;
  try {
    manifest_text = pth::read_input_file(local_path, kMaxManifestBytes);
  } catch (const pth::Error& e) {
    throw CheckpointLoadError("model zoo manifest " + shown + " cannot be read (needed to check " + name + "): " + e.what());
  }
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(manifest_text);
  } catch (const std::exception& e) {
    throw CheckpointLoadError("model zoo manifest " + shown + " is not valid JSON: " + e.what());
  }
  if (!manifest.is_object() || !manifest.contains(name) || !manifest[name].is_string())
    throw CheckpointLoadError("model zoo manifest " + shown + " has no SHA-256 for " + name);
  std::string expected = manifest[name].get<std::string>();
  std::transform(expected.begin(), expected.end(), expected.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  return expected;
}

// A remote zoo: its manifest read, the file fetched into the cache (or found there) and
// checked against it.
std::string fetched_zoo_file(const std::string& zoo, const std::string& name) {
  const std::string manifest = zoo_file(zoo, "manifest.json");
  try {
    const remote::Rclone rclone;
    std::string expected;
    {
      const remote::LocalCopy copy(remote::parse_file_location(manifest), rclone);
      expected = manifest_sha256(copy.path(), manifest, name);
    }
    return remote::cached_download(remote::parse_file_location(zoo_file(zoo, name)), model_cache_dir(), name, expected,
                                   rclone);
  } catch (const remote::RemoteError& e) {
    throw CheckpointLoadError("pretrained weights " + name + " from the model zoo " + zoo + ": " + e.what());
  } catch (const std::invalid_argument& e) {
    throw CheckpointLoadError("model zoo " + zoo + ": " + e.what());
  }
}

}  // namespace

std::string verified_zoo_file(const std::string& zoo, const std::string& arch, const std::string& dataset) {
  const std::string name = arch + "_" + dataset + ".pth";
  if (remote::is_remote_file(zoo)) return fetched_zoo_file(zoo, name);
  const std::string path = zoo + "/" + name;
  if (::access(path.c_str(), R_OK) != 0)
    throw CheckpointLoadError("pretrained weights " + path + " not found (the model zoo is " + zoo + ", no downloads)");
  const std::string expected = manifest_sha256(zoo + "/manifest.json", zoo + "/manifest.json", name);
  const std::string actual = file_sha256(path);
  if (actual != expected)
    throw CheckpointLoadError("pretrained weights " + path + " fail the manifest check: SHA-256 " + actual +
                              ", manifest says " + expected);
  return path;
}

namespace {

// What a key_matching load left out: one line per entry, after a count.
std::vector<std::string> skipped_entries(const pth::MatchReport& report, const std::string& path) {
  std::vector<std::string> lines;
  const size_t skipped = report.missing.size() + report.mismatched.size();
  if (skipped == 0 && report.unexpected.empty()) return lines;
  lines.push_back("strict_load=key_matching: " + std::to_string(report.mapping.size()) + " of the model's " +
                  std::to_string(report.target_count) + " entries loaded from " + path + ", " + std::to_string(skipped) +
                  " kept as initialised, " + std::to_string(report.unexpected.size()) + " of the file's not used");
  for (const pth::ShapeMismatch& m : report.mismatched)
    lines.push_back("  skipped " + m.target + ": model " + pth::shape_text(m.target_shape) + ", file " +
                    pth::shape_text(m.source_shape));
  for (const std::string& name : report.missing) lines.push_back("  skipped " + name + ": not in the file");
  for (const std::string& name : report.unexpected) lines.push_back("  not used: " + name);
  return lines;
}

}  // namespace

std::vector<std::string> load_initial_weights(Classifier& model, const std::string& arch, int64_t num_classes,
                                              const CheckpointParams& p) {
  std::vector<std::string> notes;
  if (p.load_backbone && p.checkpoint_path.empty())
    throw RecipeError("checkpoint_params.load_backbone: True needs checkpoint_params.checkpoint_path");
  if (p.load_checkpoint && p.checkpoint_path.empty() && p.pretrained_weights.empty())
    throw RecipeError("checkpoint_params.load_checkpoint: True needs checkpoint_params.checkpoint_path (or pretrained_weights)");
  int64_t current = num_classes;
  auto set_head = [&](int64_t n) {
    if (n != current) {
      model.reset_head(n);
      current = n;
    }
  };
  const int64_t checkpoint_classes = p.checkpoint_num_classes.value_or(num_classes);
  if (!p.pretrained_weights.empty()) {
    const auto zoo_classes = pretrained_num_classes(p.pretrained_weights);
    if (!zoo_classes)
      throw RecipeError("checkpoint_params.pretrained_weights: unknown dataset '" + p.pretrained_weights + "'");
    const std::string file = verified_zoo_file(model_zoo_dir(p.zoo), arch, p.pretrained_weights);
    set_head(*zoo_classes);
    load_checkpoint_weights(model, file, pth::StrictMode::NoKeyMatching);
    set_head(checkpoint_classes);
  }
  if (!p.checkpoint_path.empty()) {
    set_head(checkpoint_classes);
    remote::FileArguments given;   // a remote checkpoint_path is read from a downloaded copy
    try {
      std::string weights;
      const pth::MatchReport report = load_checkpoint_weights(model, given.readable(p.checkpoint_path), p.strict_load,
                                                              p.load_backbone, p.checkpoint_key, &weights);
      notes.push_back("checkpoint_params.checkpoint_path " + p.checkpoint_path + ": weights: " + weights);
      if (report.mode == pth::StrictMode::KeyMatching) {
        const std::vector<std::string> skipped = skipped_entries(report, p.checkpoint_path);
        notes.insert(notes.end(), skipped.begin(), skipped.end());
      }
    } catch (const CheckpointLoadError& e) {
      throw CheckpointLoadError(given.shown(e.what()));
    } catch (const remote::RemoteError& e) {
      throw CheckpointLoadError("checkpoint_params.checkpoint_path: " + std::string(e.what()));
    } catch (const std::invalid_argument& e) {
      throw CheckpointLoadError("checkpoint_params.checkpoint_path: " + std::string(e.what()));
    }
  }
  set_head(num_classes);
  return notes;
}

}  // namespace sg
