#include "pth/sg_layout.hpp"

namespace pth {
namespace {

bool has_ddp_prefix(std::string_view name) { return name.compare(0, kDdpPrefix.size(), kDdpPrefix) == 0; }

}  // namespace

const Value* present_entry(const Dict& d, const char* key) {
  const Value* v = d.find(key);
  return v && !v->is_none() ? v : nullptr;
}

SelectedWeights select_entries(const Dict& d, WeightsChoice choice, const char* plain_key, const char* ema_key) {
  SelectedWeights s;
  const Value* plain = present_entry(d, plain_key);
  s.ema = ema_key ? present_entry(d, ema_key) : nullptr;
  auto take = [&s](const Value* v, const char* which) {
    s.weights = v;
    s.which = which;
  };
  switch (choice) {
    case WeightsChoice::PreferEma:
      if (s.ema) take(s.ema, ema_key);
      else if (plain) take(plain, plain_key);
      break;
    case WeightsChoice::PreferNet:
      if (plain) take(plain, plain_key);
      else if (s.ema) take(s.ema, ema_key);
      break;
    case WeightsChoice::Net:
      if (plain) take(plain, plain_key);
      else if (s.ema) s.missing = plain_key;
      break;
    case WeightsChoice::Ema:
      if (s.ema) take(s.ema, ema_key);
      else s.missing = ema_key ? ema_key : "EMA weights";
      break;
  }
  return s;
}

SelectedWeights select_weights(const Value& root, WeightsChoice choice) {
  if (!root.is_dict()) {
    SelectedWeights s;
    s.weights = &root;
    return s;
  }
  SelectedWeights s = select_entries(root.as_dict(), choice, sg_keys::kNet, sg_keys::kEmaNet);
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
