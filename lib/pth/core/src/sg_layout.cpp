#include "pth/sg_layout.hpp"

namespace pth {
namespace {

const Value* present(const Dict& d, const char* key) {
  const Value* v = d.find(key);
  return v && !v->is_none() ? v : nullptr;
}

bool has_ddp_prefix(std::string_view name) { return name.compare(0, kDdpPrefix.size(), kDdpPrefix) == 0; }

}  // namespace

SelectedWeights select_weights(const Value& root, WeightsChoice choice) {
  SelectedWeights s;
  if (!root.is_dict()) {
    s.weights = &root;
    return s;
  }
  const Value* net = present(root.as_dict(), sg_keys::kNet);
  s.ema = present(root.as_dict(), sg_keys::kEmaNet);
  auto take = [&s](const Value* v, const char* which) {
    s.weights = v;
    s.which = which;
  };
  switch (choice) {
    case WeightsChoice::PreferEma:
      if (s.ema) take(s.ema, sg_keys::kEmaNet);
      else if (net) take(net, sg_keys::kNet);
      break;
    case WeightsChoice::PreferNet:
      if (net) take(net, sg_keys::kNet);
      else if (s.ema) take(s.ema, sg_keys::kEmaNet);
      break;
    case WeightsChoice::Net:
      if (net) take(net, sg_keys::kNet);
      else if (s.ema) s.missing = sg_keys::kNet;
      break;
    case WeightsChoice::Ema:
      if (s.ema) take(s.ema, sg_keys::kEmaNet);
      else s.missing = sg_keys::kEmaNet;
      break;
  }
  if (!s.weights && s.missing.empty()) s.weights = &root;
  return s;
}

size_t ddp_prefix_length(const Dict& state_dict) {
  if (state_dict.items.empty()) return 0;
  for (const auto& [k, v] : state_dict.items)
    if (!k.is_string() || !has_ddp_prefix(k.as_string())) return 0;
  return kDdpPrefix.size();
}

size_t ddp_prefix_length(const std::vector<std::string_view>& names) {
  if (names.empty()) return 0;
  for (std::string_view name : names)
    if (!has_ddp_prefix(name)) return 0;
  return kDdpPrefix.size();
}

Value make_average_checkpoint(const Value& checkpoint, Value averaged_net) {
  auto is = [](const Value& key, const char* name) { return key.is_string() && key.as_string() == name; };
  Value root = Value::dict();
  Dict& out = root.as_dict();
  for (const auto& [key, value] : checkpoint.as_dict().items) {
    if (is(key, sg_keys::kOptimizerStateDict) || is(key, sg_keys::kScalerStateDict) || is(key, sg_keys::kEmaNet) ||
        is(key, sg_keys::kSgCppState))
      continue;
    out.items.emplace_back(key, is(key, sg_keys::kNet) ? std::move(averaged_net) : value);
  }
  return root;
}

}  // namespace pth
