#include <cmath>

#include "pth/inspect.hpp"

namespace pth::inspect {
namespace {

Json number_json(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  return d;
}

std::string hex_of(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

Json tensor_json(const TensorReport& t, const Options& options) {
  const Tensor& x = *t.tensor;
  Json j;
  j["path"] = t.path;
  j["dtype"] = dtype_name(x.dtype);
  j["shape"] = x.shape;
  j["stride"] = x.stride;
  j["storage_offset"] = x.storage_offset;
  j["storage"] = x.storage->key;
  j["device"] = x.storage->device;
  j["requires_grad"] = x.requires_grad;
  j["parameter"] = x.is_parameter;
  j["bytes"] = x.nbytes();
  if (options.hash) j["sha256"] = t.sha256;
  if (t.stats) {
    const TensorStats& s = *t.stats;
    j["stats"] = {{"count", s.count}, {"nan", s.nan}, {"inf", s.inf},
                  {"min", number_json(s.min)}, {"max", number_json(s.max)}, {"mean", number_json(s.mean)}};
  }
  return j;
}

}  // namespace

Json value_to_json(const Value& v) {
  using K = Value::Kind;
  switch (v.kind()) {
    case K::None: return nullptr;
    case K::Bool: return v.as_bool();
    case K::Int: return v.as_int();
    case K::BigInt: return v.as_string();
    case K::Float: return number_json(v.as_number());
    case K::String: return v.as_string();
    case K::Bytes: return Json{{"bytes_hex", hex_of(v.as_string())}};
    case K::List:
    case K::Tuple: {
      Json a = Json::array();
      for (const Value& item : v.items()) a.push_back(value_to_json(item));
      return a;
    }
    case K::Dict: {
      Json o = Json::object();
      for (const auto& [k, item] : v.as_dict().items) o[key_to_string(k)] = value_to_json(item);
      return o;
    }
    case K::Global: return v.as_global().module + "." + v.as_global().name;
    case K::Tensor: return "<tensor>";
    case K::Storage: return "<storage>";
  }
  return nullptr;
}

Json report_to_json(const Report& r, const Options& options) {
  const Checkpoint& c = r.checkpoint;
  Json j;
  j["path"] = c.path;
  j["format"] = format_name(c.format);
  j["root"] = c.root_name;
  j["version"] = c.version;
  j["keys"] = r.keys;
  Json scalars = Json::object();
  for (const auto& [key, value] : r.scalars) scalars[key] = value_to_json(value);
  j["scalars"] = std::move(scalars);
  Json groups = Json::array();
  for (const Group& g : r.groups)
    groups.push_back({{"name", g.name}, {"tensors", g.tensors}, {"parameters", g.parameters}, {"bytes", g.bytes}, {"dtypes", g.dtypes}});
  j["groups"] = std::move(groups);
  Json tensors = Json::array();
  for (const TensorReport& t : r.tensors) tensors.push_back(tensor_json(t, options));
  j["tensors"] = std::move(tensors);
  if (options.verify) j["verify"] = {{"ok", r.problems.empty()}, {"problems", r.problems}};
  return j;
}

std::string json_text(const Json& j, int indent) { return j.dump(indent, ' ', false, Json::error_handler_t::replace); }

Json diff_to_json(const Diff& d) {
  Json changed = Json::array();
  for (const TensorChange& c : d.changed)
    changed.push_back({{"path", c.path},
                       {"a", {{"dtype", dtype_name(c.a->dtype)}, {"shape", c.a->shape}}},
                       {"b", {{"dtype", dtype_name(c.b->dtype)}, {"shape", c.b->shape}}}});
  Json values = Json::array();
  for (const ValueChange& c : d.value_changed) values.push_back({{"path", c.path}, {"max_abs_diff", number_json(c.max_abs_diff)}});
  Json scalars = Json::array();
  for (const ScalarChange& c : d.scalars_changed) {
    Json s = {{"path", c.path}};
    if (c.a) s["a"] = *c.a;
    if (c.b) s["b"] = *c.b;
    scalars.push_back(std::move(s));
  }
  return {{"diff",
           {{"a", d.a_path}, {"b", d.b_path}, {"identical", d.identical()}, {"added", d.added}, {"removed", d.removed},
            {"changed", changed}, {"value_changed", values}, {"scalars_changed", scalars}}}};
}

}  // namespace pth::inspect
