#include "pth/checkpoint_weights.hpp"

#include <string_view>

#include "pth/message.hpp"

namespace pth {
namespace {

namespace L = weights_layouts;

struct Layout {
  const char* name;
  const char* plain;
  const char* ema;   // nullptr: the layout has no EMA weights
};

constexpr Layout kSgLayout{L::kSg, sg_keys::kNet, sg_keys::kEmaNet};
constexpr Layout kTimmLayout{L::kTimm, "state_dict", "state_dict_ema"};
constexpr Layout kTorchvisionLayout{L::kTorchvision, "model", "model_ema"};
constexpr Layout kLightningLayout{L::kLightning, "state_dict", nullptr};
constexpr Layout kStateDictLayout{L::kStateDict, "", nullptr};

constexpr size_t kListedKeys = 20;
constexpr std::string_view kAveragedCount = "n_averaged";   // torch.optim.swa_utils.AveragedModel's buffer

const Value* present_dict(const Dict& d, const char* key) {
  const Value* v = d.find(key);
  return v && v->is_dict() ? v : nullptr;
}

// By the top-level keys. Lightning's own keys tell its state_dict from timm's.
const Layout& detect(const Value& root) {
  if (!root.is_dict()) return kStateDictLayout;
  const Dict& d = root.as_dict();
  if (present_entry(d, sg_keys::kNet) || present_entry(d, sg_keys::kEmaNet)) return kSgLayout;
  if (present_dict(d, "state_dict") &&
      (d.find("pytorch-lightning_version") || d.find("optimizer_states") || d.find("loops")))
    return kLightningLayout;
  if (present_dict(d, "state_dict") || present_dict(d, "state_dict_ema")) return kTimmLayout;
  if (present_dict(d, "model") || present_dict(d, "model_ema")) return kTorchvisionLayout;
  return kStateDictLayout;
}

std::string key_list(const Value& container) {
  std::vector<std::string> names;
  if (container.is_dict())
    for (const auto& [k, v] : container.as_dict().items) names.push_back(key_to_string(k));
  else
    for (size_t i = 0; i < container.items().size(); ++i) names.push_back(std::to_string(i));
  return names.empty() ? "none" : listed(names, kListedKeys);
}

const Value* child(const Value& container, std::string_view name) {
  if (container.is_dict()) {
    for (const auto& [k, v] : container.as_dict().items)
      if ((k.is_string() && k.as_string() == name) || (!k.is_string() && key_to_string(k) == name)) return &v;
    return nullptr;
  }
  const List& items = container.items();
  if (name.empty() || name.size() > 18 || name.find_first_not_of("0123456789") != std::string_view::npos) return nullptr;
  const size_t i = std::stoull(std::string(name));
  return i < items.size() ? &items[i] : nullptr;
}

const Value& at_path(const Value& root, const std::string& key) {
  const Value* at = &root;
  std::string walked;
  for (size_t begin = 0;;) {
    const size_t end = key.find('/', begin);
    const std::string_view name = std::string_view(key).substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    if (!at->is_container())
      throw WeightsKeyError("no key " + quoted(key) + ": " + (walked.empty() ? std::string("the file") : quoted(walked)) +
                            " is a " + std::string(Value::kind_name(at->kind())) + ", not a dict");
    const Value* next = child(*at, name);
    if (!next)
      throw WeightsKeyError("no key " + quoted(key) + " (" + (walked.empty() ? "top-level keys" : quoted(walked) + " has keys") +
                            ": " + key_list(*at) + ")");
    walked += (walked.empty() ? "" : "/") + std::string(name);
    at = next;
    if (end == std::string::npos) return *at;
    begin = end + 1;
  }
}

void require_tensor_dict(const Value& v, const std::string& key) {
  if (!v.is_dict())
    throw WeightsKeyError(quoted(key) + " is a " + std::string(Value::kind_name(v.kind())) + ", not a dict of tensors");
  for (const auto& [k, item] : v.as_dict().items)
    if (!item.is_tensor())
      throw WeightsKeyError(quoted(key) + " is not a dict of tensors: its entry " + quoted(key_to_string(k)) + " is a " +
                            std::string(Value::kind_name(item.kind())));
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// The first name component with its '.' when every name has the same one and more after it.
std::string common_first_component(const Dict& d) {
  std::string first;
  for (const auto& [k, v] : d.items) {
    if (!k.is_string()) return "";
    const std::string& name = k.as_string();
    const size_t dot = name.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) return "";
    if (first.empty()) first = name.substr(0, dot + 1);
    else if (!starts_with(name, first)) return "";
  }
  return first;
}

// Every string name but `except` starts with prefix; at least one does.
bool all_under(const Dict& d, std::string_view prefix, std::string_view except) {
  size_t under = 0;
  for (const auto& [k, v] : d.items) {
    if (!k.is_string()) return false;
    if (k.as_string() == except) continue;
    if (!starts_with(k.as_string(), prefix)) return false;
    ++under;
  }
  return under > 0;
}

// OrderedDict's _metadata ({module path: {'version': n}}) re-rooted below the prefix.
std::shared_ptr<Value> rerooted_metadata(const std::shared_ptr<Value>& metadata, const std::string& prefix) {
  if (!metadata || !metadata->is_dict()) return metadata;
  const std::string module = prefix.substr(0, prefix.size() - 1);
  auto out = std::make_shared<Value>(Value::dict(metadata->as_dict().ordered));
  for (const auto& [k, v] : metadata->as_dict().items) {
    if (!k.is_string()) continue;
    const std::string& path = k.as_string();
    if (path == module) out->as_dict().items.emplace_back(Value::string(""), v);
    else if (starts_with(path, prefix)) out->as_dict().items.emplace_back(Value::string(path.substr(prefix.size())), v);
  }
  return out;
}

Value cleaned(const Value& weights, const std::string& prefix, const std::vector<std::string>& left_out) {
  const Dict& d = weights.as_dict();
  Value out = Value::dict(d.ordered);
  Dict& o = out.as_dict();
  o.metadata = rerooted_metadata(d.metadata, prefix);
  o.items.reserve(d.items.size());
  for (const auto& [k, v] : d.items) {
    const std::string& name = k.as_string();
    if (!left_out.empty() && name == left_out.front()) continue;
    o.items.emplace_back(Value::string(name.substr(prefix.size())), v);
  }
  return out;
}

void clean_names(ChosenWeights& c, bool lightning) {
  if (!c.weights.is_dict()) return;
  const Dict& d = c.weights.as_dict();
  if (lightning) {
    c.prefix = common_first_component(d);
  } else if (d.find(kAveragedCount) && all_under(d, kDdpPrefix, kAveragedCount)) {
    c.prefix = kDdpPrefix;
    c.left_out.emplace_back(kAveragedCount);
  } else if (ddp_prefix_length(d) > 0) {
    c.prefix = kDdpPrefix;
  }
  if (!c.prefix.empty()) c.weights = cleaned(c.weights, c.prefix, c.left_out);
}

}  // namespace

ChosenWeights choose_weights(const Value& root, const std::string& key, WeightsChoice choice) {
  const Layout& layout = detect(root);
  ChosenWeights c;
  c.layout = layout.name;
  if (layout.ema && present_entry(root.as_dict(), layout.ema)) c.ema_key = layout.ema;

  if (!key.empty()) {
    const Value& v = at_path(root, key);
    require_tensor_dict(v, key);
    c.key = key;
    c.weights = v;
    const bool plain_key = *layout.plain && key == layout.plain;
    c.ema = layout.ema && key == layout.ema;
    if (!plain_key && !c.ema) c.layout = L::kCustom;   // some entry, not the layout's weights
    if (&layout != &kSgLayout || c.layout == std::string(L::kCustom)) clean_names(c, c.layout == std::string(L::kLightning));
    return c;
  }

  if (&layout == &kStateDictLayout) {
    if (choice == WeightsChoice::Ema) c.missing = sg_keys::kEmaNet;
    else c.weights = root;
    return c;
  }
  // detect() found the layout by its plain or EMA entry: a choice finds one, or names the missing one.
  const SelectedWeights s = select_entries(root.as_dict(), choice, layout.plain, layout.ema);
  c.missing = s.missing;
  if (!s.weights) return c;
  c.weights = *s.weights;
  c.key = s.which;
  c.ema = s.weights == s.ema;
  if (&layout == &kSgLayout) return c;
  require_tensor_dict(c.weights, c.key);
  clean_names(c, &layout == &kLightningLayout);
  return c;
}

std::string describe_weights(const ChosenWeights& c) {
  std::string out = c.key.empty() ? "the whole file" : c.key;
  out += " (" + c.layout + " layout";
  if (c.ema) out += ", EMA";
  if (!c.prefix.empty()) out += ", prefix " + quoted(c.prefix) + " removed";
  for (const std::string& name : c.left_out) out += ", " + name + " left out";
  return out + ")";
}

}  // namespace pth
