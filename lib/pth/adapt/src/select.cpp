#include "select.hpp"

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

// select_weights reads a key that is None as absent; sg-ckpt-adapt refuses the one it takes.
void refuse_none(const Dict& root, const std::string& path, const char* key) {
  if (const Value* v = root.find(key); v && v->is_none())
    throw AdaptError(path, pth::quoted(key) + " is a None, not a state dict");
}

Weights selected(const SelectedWeights& s, const std::string& path) {
  return weights_of(*s.weights, path, s.which.empty() ? "state dict" : s.which);
}

}  // namespace

Doc select_input(Loaded loaded, const AdaptOptions& o) {
  Doc doc;
  doc.path = loaded.path;
  doc.safetensors = loaded.safetensors;
  doc.metadata = std::move(loaded.metadata);
  doc.keep = std::move(loaded.keep);
  const Dict& root = checkpoint_dict(loaded);
  if (!o.ema) refuse_none(root, doc.path, sg_keys::kNet);
  const SelectedWeights s = select_weights(loaded.root, o.ema ? WeightsChoice::Ema : WeightsChoice::Net);
  if (!s.weights) {
    if (s.missing == sg_keys::kNet) throw AdaptError(doc.path, "has 'ema_net' but no 'net' (use --ema)");
    throw AdaptError(doc.path, root.find(sg_keys::kNet) ? "has no 'ema_net' (needed by --ema)"
                                                        : "is a plain state dict with no 'ema_net' (needed by --ema)");
  }
  doc.net = selected(s, doc.path);
  doc.plain = s.which.empty();
  if (doc.plain) return doc;
  doc.root = loaded.root;
  if (s.ema && !o.ema && !o.weights_only) doc.ema = weights_of(*s.ema, doc.path, sg_keys::kEmaNet);
  return doc;
}

Weights template_weights(const Loaded& t) {
  const Dict& root = checkpoint_dict(t);
  refuse_none(root, t.path, root.find(sg_keys::kNet) ? sg_keys::kNet : sg_keys::kEmaNet);
  return selected(select_weights(t.root, WeightsChoice::PreferNet), t.path);
}

}  // namespace pth::adapt_detail
