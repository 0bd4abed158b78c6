#include "select.hpp"

#include "pth/checkpoint_weights.hpp"
#include "pth/message.hpp"
#include "pth/sg_layout.hpp"

namespace pth::adapt_detail {
namespace {

const Dict& checkpoint_dict(const Loaded& loaded) {
  if (!loaded.root.is_dict())
    throw AdaptError(loaded.path, "holds a " + std::string(Value::kind_name(loaded.root.kind())) +
                                      ", not a checkpoint or state dict");
  return loaded.root.as_dict();
}

// choose_weights reads a key that is None as absent; sg-ckpt-adapt refuses the one it takes.
void refuse_none(const Dict& root, const std::string& path, const char* key) {
  if (const Value* v = root.find(key); v && v->is_none())
    throw AdaptError(path, pth::quoted(key) + " is a None, not a state dict");
}

Weights selected(const ChosenWeights& c, const std::string& path) {
  return weights_of(c.weights, path, c.key.empty() ? "state dict" : c.key);
}

ChosenWeights chosen(const Value& root, const AdaptOptions& o, const std::string& path) {
  try {
    return choose_weights(root, o.key, o.ema ? WeightsChoice::Ema : WeightsChoice::Net);
  } catch (const WeightsKeyError& e) {
    throw AdaptError(path, std::string(o.key.empty() ? "" : "--key: ") + e.what());
  }
}

AdaptError missing_weights(const ChosenWeights& c, const Dict& root, const std::string& path) {
  if (!c.ema_key.empty())   // only the EMA weights
    return AdaptError(path, "has " + pth::quoted(c.ema_key) + " but no " + pth::quoted(c.missing) + " (use --ema)");
  if (c.layout == weights_layouts::kSg || c.layout == weights_layouts::kStateDict)
    return AdaptError(path, root.find(sg_keys::kNet) ? "has no 'ema_net' (needed by --ema)"
                                                     : "is a plain state dict with no 'ema_net' (needed by --ema)");
  return AdaptError(path, "has no EMA weights (" + c.layout + " layout; --ema needs " + c.missing + ")");
}

// --weights-only on a file of no known layout: the whole file must be the weights.
void refuse_non_tensors(const Dict& root, const std::string& path) {
  std::string keys;
  bool all_tensors = true;
  for (const auto& [k, v] : root.items) {
    all_tensors = all_tensors && v.is_tensor();
    keys += (keys.empty() ? "" : ", ") + key_to_string(k);
  }
  if (!all_tensors)
    throw AdaptError(path, "--weights-only: no weights of a known layout (top-level keys: " + keys +
                               "); name them with --key PATH");
}

// What a plain state dict of another layout's weights leaves out of the file.
std::string left_out_note(const Dict& root, const ChosenWeights& c) {
  std::string keys;
  for (const auto& [k, v] : root.items) {
    const std::string name = key_to_string(k);
    if (name != c.key) keys += (keys.empty() ? "" : ", ") + name;
  }
  return "wrote " + describe_weights(c) + " as a plain state dict" + (keys.empty() ? "" : "; left out: " + keys);
}

}  // namespace

Doc select_input(Loaded loaded, const AdaptOptions& o) {
  Doc doc;
  doc.path = loaded.path;
  doc.safetensors = loaded.safetensors;
  doc.metadata = std::move(loaded.metadata);
  doc.keep = std::move(loaded.keep);
  const Dict& root = checkpoint_dict(loaded);
  if (!o.ema && o.key.empty()) refuse_none(root, doc.path, sg_keys::kNet);
  const ChosenWeights c = chosen(loaded.root, o, doc.path);
  doc.source = {c.key, c.layout, c.ema, c.prefix, describe_weights(c)};
  if (!c.missing.empty()) throw missing_weights(c, root, doc.path);
  if (c.layout == weights_layouts::kStateDict) {
    if (o.weights_only) refuse_non_tensors(root, doc.path);
    doc.net = selected(c, doc.path);
    return doc;
  }
  if (c.layout == weights_layouts::kSg) {
    doc.net = selected(c, doc.path);
    doc.plain = false;
    doc.root = loaded.root;
    const Value* ema = root.find(sg_keys::kEmaNet);
    if (!c.ema && ema && !ema->is_none() && !o.weights_only) doc.ema = weights_of(*ema, doc.path, sg_keys::kEmaNet);
    return doc;
  }
  doc.chosen = c.weights;
  doc.net = selected(c, doc.path);
  if (!o.weights_only) doc.notes.push_back(left_out_note(root, c));
  return doc;
}

Weights template_weights(const Loaded& t) {
  const Dict& root = checkpoint_dict(t);
  refuse_none(root, t.path, root.find(sg_keys::kNet) ? sg_keys::kNet : sg_keys::kEmaNet);
  try {
    return selected(choose_weights(t.root, "", WeightsChoice::PreferNet), t.path);
  } catch (const WeightsKeyError& e) {
    throw AdaptError(t.path, e.what());
  }
}

}  // namespace pth::adapt_detail
