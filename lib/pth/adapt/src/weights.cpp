#include "weights.hpp"

#include "pth/adapt.hpp"
#include "pth/message.hpp"

namespace pth::adapt_detail {

Weights weights_of(const Value& v, const std::string& file, const std::string& which) {
  if (!v.is_dict()) throw AdaptError(file, pth::quoted(which) + " is a " + std::string(Value::kind_name(v.kind())) + ", not a state dict");
  Weights w;
  w.file = file;
  w.which = which;
  const Dict& d = v.as_dict();
  w.ordered = d.ordered;
  w.metadata = d.metadata;
  w.entries.reserve(d.items.size());
  for (const auto& [k, value] : d.items) {
    if (!k.is_string()) throw AdaptError(file, which + ": key " + pth::quoted(key_to_string(k)) + " is not a string");
    w.entries.push_back({k.as_string(), value, k.as_string()});
  }
  return w;
}

Value to_value(Weights w) {
  Value v = Value::dict(w.ordered);
  Dict& d = v.as_dict();
  d.metadata = w.metadata;
  d.items.reserve(w.entries.size());
  for (Entry& e : w.entries) d.items.emplace_back(Value::string(std::move(e.name)), std::move(e.value));
  return v;
}

std::string what_of(const Weights& w) { return w.which == "state dict" ? std::string() : w.which + ": "; }

std::vector<KeyEntry> key_entries(const Weights& w) {
  std::vector<KeyEntry> out;
  out.reserve(w.entries.size());
  for (const Entry& e : w.entries) {
    if (!e.value.is_tensor())
      throw AdaptError(w.file, what_of(w) + "entry " + pth::quoted(e.name) + " is a " +
                                   std::string(Value::kind_name(e.value.kind())) + ", not a tensor");
    const Tensor& t = *e.value.as_tensor();
    out.push_back({e.name, t.dtype, t.shape});
  }
  return out;
}

}  // namespace pth::adapt_detail
