#include "sg/checkpoint_loading.hpp"
#include "sg/load_weights.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "pth/input_file.hpp"
#include "pth/sha256.hpp"
#include "pth/tensor_data.hpp"
#include "sg/recipe.hpp"
#include "sg/tensor_convert.hpp"

namespace sg {
namespace {

constexpr uint64_t kMaxManifestBytes = 16u << 20;

constexpr const char* kDdpPrefix = "module.";
constexpr size_t kListed = 8;   // names listed per category before "and N more"

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool under(const std::string& name, const std::string& prefix) {
  return name == prefix || starts_with(name, prefix + ".");
}

std::string list_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kListed; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > kListed) out += " and " + std::to_string(names.size() - kListed) + " more";
  return out;
}

// One line: the failure, then every key involved, parts joined with "; ".
std::string failure_text(const pth::MatchReport& r, const std::string& head) {
  std::vector<std::string> parts;
  std::string failure = r.failure.empty() ? std::string("the weights do not fit the model") : r.failure;
  const std::string cli = " (--strict on)";   // pth's wording for sg-ckpt-adapt; here it is strict_load
  if (auto at = failure.find(cli); at != std::string::npos) failure.erase(at, cli.size());
  parts.push_back(failure);
  if (!r.mismatched.empty()) {
    std::vector<std::string> items;
    for (const pth::ShapeMismatch& m : r.mismatched) {
      std::string s = m.target + " " + pth::shape_text(m.target_shape) + " in the model vs ";
      if (m.source != m.target) s += m.source + " ";
      items.push_back(s + pth::shape_text(m.source_shape) + " in the checkpoint");
    }
    parts.push_back("shape mismatch: " + list_names(items));
  }
  if (!r.missing.empty()) parts.push_back("missing: " + list_names(r.missing));
  if (!r.unexpected.empty()) parts.push_back("unexpected: " + list_names(r.unexpected));
  // Only the head differs in shape: the checkpoint has another class count.
  const bool head_only = !r.mismatched.empty() && std::all_of(r.mismatched.begin(), r.mismatched.end(), [&](const auto& m) {
    return under(m.target, head);
  });
  if (head_only) {
    const pth::ShapeMismatch& m = r.mismatched.front();
    if (!m.source_shape.empty())
      parts.push_back("the checkpoint's head has " + std::to_string(m.source_shape.front()) +
                      " classes: set checkpoint_params.checkpoint_num_classes=" + std::to_string(m.source_shape.front()) +
                      " to load it and replace the head");
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

std::string file_sha256(const std::string& path) {
  try {
    pth::InputFd in(path);
    pth::Sha256 sha;
    std::vector<uint8_t> buf(1 << 20);
    for (;;) {
      const ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw pth::Error(std::string("read failed: ") + std::strerror(errno));
      if (n == 0) return sha.finish_hex();
      sha.update(pth::ByteView(buf.data(), size_t(n)));
    }
  } catch (const pth::Error& e) {
    throw CheckpointLoadError("cannot read " + path + ": " + e.what());
  }
}

const std::vector<std::pair<std::string, int64_t>>& pretrained_datasets() {
  static const std::vector<std::pair<std::string, int64_t>> known = {
      {"imagenet", 1000}, {"coco", 80}, {"cifar10", 10}, {"cifar100", 100}, {"fashion_mnist", 10}, {"mnist", 10}};
  return known;
}

}  // namespace

CheckpointParams read_checkpoint_params(const Recipe& r) {
  const std::string p = "checkpoint_params.";
  CheckpointParams c;
  c.load_checkpoint = r.get_or<bool>(p + "load_checkpoint", false);
  c.load_backbone = r.get_or<bool>(p + "load_backbone", false);
  c.checkpoint_path = r.get_or<std::string>(p + "checkpoint_path", "");
  const std::string strict = r.get_or<std::string>(p + "strict_load", "no_key_matching");
  auto mode = pth::strict_mode_from_name(strict);
  if (!mode) {
    std::string lower = strict;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
    if (starts_with(lower, "strictload.")) lower = lower.substr(11);   // SG's enum spelling
    mode = pth::strict_mode_from_name(lower);
  }
  if (!mode)
    throw RecipeError(p + "strict_load: unknown '" + strict + "' (known: on/True, off/False, no_key_matching)");
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

const pth::Value& select_state_dict(const pth::Value& root, std::string* which) {
  if (root.is_dict()) {
    for (const char* key : {"ema_net", "net"}) {
      const pth::Value* v = root.as_dict().find(key);
      if (v && !v->is_none()) {
        if (which) *which = key;
        return *v;
      }
    }
  }
  if (which) which->clear();
  return root;
}

pth::MatchReport load_state_dict_into(Classifier& model, const pth::Value& state_dict, pth::StrictMode mode,
                                      bool backbone_only) {
  if (!state_dict.is_dict()) throw CheckpointLoadError("the weights are not a dict of tensors");
  const std::string head = model.head_name();
  const auto& items = state_dict.as_dict().items;
  const bool prefixed = !items.empty() && std::all_of(items.begin(), items.end(), [](const auto& kv) {
    return starts_with(pth::key_to_string(kv.first), kDdpPrefix);
  });

  std::vector<pth::KeyEntry> source;
  std::unordered_map<std::string, const pth::Tensor*> source_tensors;
  std::vector<std::string> not_tensors;
  for (const auto& [key, value] : items) {
    const std::string name = pth::key_to_string(key);
    if (backbone_only && under(prefixed ? name.substr(7) : name, head)) continue;
    if (!value.is_tensor()) {
      not_tensors.push_back(name);
      continue;
    }
    const pth::Tensor& t = *value.as_tensor();
    source.push_back({name, t.dtype, t.shape});
    source_tensors.emplace(name, &t);
  }
  if (!not_tensors.empty())
    throw CheckpointLoadError("not a state dict: entries that are not tensors: " + list_names(not_tensors));

  NamedTensors targets;
  for (auto& [name, tensor] : sg::state_dict(model))
    if (!(backbone_only && under(name, head))) targets.emplace_back(name, tensor);
  std::vector<pth::KeyEntry> target;
  target.reserve(targets.size());
  for (const auto& [name, tensor] : targets) target.push_back({name, to_pth_dtype(tensor.scalar_type()), tensor.sizes().vec()});

  pth::MatchReport report = pth::match_keys(source, target, mode);
  if (!report.ok) throw CheckpointLoadError(failure_text(report, head));

  std::unordered_map<std::string, torch::Tensor*> by_name;
  for (auto& [name, tensor] : targets) by_name.emplace(name, &tensor);
  for (const pth::KeyPair& pair : report.mapping) copy_tensor_into(*by_name.at(pair.target), *source_tensors.at(pair.source));
  return report;
}

pth::MatchReport load_checkpoint_weights(Classifier& model, const std::string& path, pth::StrictMode mode,
                                         bool backbone_only) {
  pth::Checkpoint ckpt;
  try {
    ckpt = pth::read_checkpoint(path);
  } catch (const std::exception& e) {
    throw CheckpointLoadError("cannot read checkpoint " + path + ": " + e.what());
  }
  std::string which;
  const pth::Value& weights = select_state_dict(ckpt.root, &which);
  try {
    return load_state_dict_into(model, weights, mode, backbone_only);
  } catch (const pth::FileDataError& e) {   // the weights' data failed its CRC, or the file changed
    throw CheckpointLoadError("cannot read checkpoint " + e.file() + ": " + e.what());
  } catch (const CheckpointLoadError& e) {
    std::string what = "cannot load " + path;
    if (!which.empty()) what += " (" + which + ")";
    what += backbone_only ? " into the model's backbone" : " into the model";
    what += " with strict_load=" + std::string(pth::strict_mode_name(mode)) + ": " + e.what();
    throw CheckpointLoadError(what);
  }
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

std::string verified_zoo_file(const std::string& zoo, const std::string& arch, const std::string& dataset) {
  const std::string name = arch + "_" + dataset + ".pth";
  const std::string path = zoo + "/" + name;
  const std::string manifest_path = zoo + "/manifest.json";
  if (::access(path.c_str(), R_OK) != 0)
    throw CheckpointLoadError("pretrained weights " + path + " not found (the model zoo is " + zoo + ", no downloads)");
  std::string manifest_text;
  try {
    manifest_text = pth::read_input_file(manifest_path, kMaxManifestBytes);
  } catch (const pth::Error& e) {
    throw CheckpointLoadError("model zoo manifest " + manifest_path + " cannot be read (needed to check " + name +
                              "): " + e.what());
  }
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(manifest_text);
  } catch (const std::exception& e) {
    throw CheckpointLoadError("model zoo manifest " + manifest_path + " is not valid JSON: " + e.what());
  }
  if (!manifest.is_object() || !manifest.contains(name) || !manifest[name].is_string())
    throw CheckpointLoadError("model zoo manifest " + manifest_path + " has no SHA-256 for " + name);
  std::string expected = manifest[name].get<std::string>();
  std::transform(expected.begin(), expected.end(), expected.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  const std::string actual = file_sha256(path);
  if (actual != expected)
    throw CheckpointLoadError("pretrained weights " + path + " fail the manifest check: SHA-256 " + actual +
                              ", manifest says " + expected);
  return path;
}

void load_initial_weights(Classifier& model, const std::string& arch, int64_t num_classes, const CheckpointParams& p) {
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
    load_checkpoint_weights(model, p.checkpoint_path, p.strict_load, p.load_backbone);
  }
  set_head(num_classes);
}

}  // namespace sg
