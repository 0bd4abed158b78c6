#include "pth/inspect.hpp"
#include "pth/json_conventions.hpp"

namespace pth::inspect {
namespace {

// null where there is no finite element to take min, max or mean of.
Json optional_float(const std::optional<double>& d) { return d ? json_float(*d) : Json(nullptr); }

std::string hex_of(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

void write_tensor_fields(JsonWriter& out, const TensorReport& t, const Options& options) {
  const Tensor& x = *t.tensor;
  out.field("path", t.path);
  out.field("dtype", dtype_name(x.dtype));
  out.field("shape", x.shape);
  out.field("stride", x.stride);
  out.field("storage_offset", x.storage_offset);
  out.field("storage", x.storage->key);
  out.field("device", x.storage->device);
  out.field("requires_grad", x.requires_grad);
  out.field("parameter", x.is_parameter);
  out.field("bytes", x.nbytes());
  if (options.hash) out.field("sha256", t.sha256);
  if (t.stats) {
    const TensorStats& s = *t.stats;
    out.field("stats", Json{{"count", s.count}, {"nan", s.nan}, {"inf", s.inf},
                            {"min", optional_float(s.min)}, {"max", optional_float(s.max)}, {"mean", optional_float(s.mean)}});
  }
}

void write_group_fields(JsonWriter& out, const Group& g) {
  out.field("name", g.name);
  out.field("tensors", g.tensors);
  out.field("parameters", g.parameters);
  out.field("bytes", g.bytes);
  out.field("dtypes", Json(g.dtypes));
}

// name -> value pairs as one JSON object (a repeated name keeps its first place, last value).
template <class Items, class Name, class Write>
void write_object(JsonWriter& out, const Items& items, Name&& name_of, Write&& write_value) {
  std::vector<std::string_view> names;
  names.reserve(items.size());
  for (const auto& item : items) names.push_back(name_of(item));
  out.begin_object();
  for (size_t i : json_object_entries(names)) {
    out.key(names[i]);
    write_value(items[i]);
  }
  out.end_object();
}

// name: [an object per item, its fields written by `fields`]
template <class Items, class Fields>
void write_objects(JsonWriter& out, std::string_view name, const Items& items, Fields&& fields) {
  out.key(name);
  out.begin_array();
  for (const auto& item : items) {
    out.begin_object();
    fields(item);
    out.end_object();
  }
  out.end_array();
}

template <class Strings>
void write_strings(JsonWriter& out, const Strings& strings) {
  out.begin_array();
  for (const auto& s : strings) out.value(s);
  out.end_array();
}

}  // namespace

Json value_to_json(const Value& v) {
  using K = Value::Kind;
  switch (v.kind()) {
    case K::None: return nullptr;
    case K::Bool: return v.as_bool();
    case K::Int: return v.as_int();
    case K::BigInt: return v.as_string();
    case K::Float: return json_float(v.as_number());
    case K::String: return v.as_string();
    case K::Bytes: return Json{{"bytes_hex", hex_of(v.as_string())}};
    case K::List:
    case K::Tuple: {
      Json a = Json::array();
      for (const Value& item : v.items()) a.push_back(value_to_json(item));
      return a;
    }
    case K::Dict: {
      // Built in place: assigning o[name] one by one searches the names so far each time.
      const auto& items = v.as_dict().items;
      std::vector<std::string> names;
      names.reserve(items.size());
      for (const auto& item : items) names.push_back(key_to_string(item.first));
      Json o = Json::object();
      auto& entries = static_cast<Json::object_t::Container&>(o.get_ref<Json::object_t&>());
      for (size_t i : json_object_entries(std::vector<std::string_view>(names.begin(), names.end())))
        entries.emplace_back(std::move(names[i]), value_to_json(items[i].second));
      return o;
    }
    case K::Global: return v.as_global().module + "." + v.as_global().name;
    case K::Tensor: return "<tensor>";
    case K::Storage: return "<storage>";
  }
  return nullptr;
}

void write_report_json(JsonWriter& out, const Report& r, const Options& options) {
  const Checkpoint& c = r.checkpoint;
  out.begin_object();
  out.field("path", c.path);
  out.field("format", format_name(c.format));
  out.field("root", c.root_name);
  out.field("version", int64_t(c.version));
  out.key("keys");
  write_strings(out, r.keys);
  out.key("scalars");
  write_object(
      out, r.scalars, [](const auto& s) { return std::string_view(s.first); },
      [&](const auto& s) { out.value(value_to_json(s.second)); });
  write_objects(out, "groups", r.groups, [&](const Group& g) { write_group_fields(out, g); });
  write_objects(out, "optimizers", r.optimizers, [&](const OptimizerReport& o) {
    out.field("path", o.path);
    out.field("param_groups", value_to_json(o.param_groups));
  });
  write_objects(out, "tensors", r.tensors, [&](const TensorReport& t) { write_tensor_fields(out, t, options); });
  if (options.verify) out.field("verify", Json{{"ok", r.problems.empty()}, {"problems", r.problems}});
  out.end_object();
}

void write_unreadable_json(JsonWriter& out, const std::string& path, const std::string& why) {
  out.begin_object();
  out.field("path", path);
  out.field("error", why);
  out.field("verify", Json{{"ok", false}, {"problems", {why}}});
  out.end_object();
}

std::string json_text(const Json& j, int indent) { return j.dump(indent, ' ', false, Json::error_handler_t::replace); }

void write_diff_json(JsonWriter& out, const Diff& d) {
  auto tensor_type = [](const Tensor& t) { return Json{{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}}; };
  out.begin_object();
  out.field("schema_version", int64_t(kJsonSchemaVersion));
  out.key("diff");
  out.begin_object();
  out.field("a", d.a_path);
  out.field("b", d.b_path);
  out.field("identical", d.identical());
  out.key("added");
  write_strings(out, d.added);
  out.key("removed");
  write_strings(out, d.removed);
  write_objects(out, "changed", d.changed, [&](const TensorChange& c) {
    out.field("path", c.path);
    out.field("a", tensor_type(*c.a));
    out.field("b", tensor_type(*c.b));
  });
  write_objects(out, "value_changed", d.value_changed, [&](const ValueChange& c) {
    out.field("path", c.path);
    out.field("max_abs_diff", json_float(c.max_abs_diff));
  });
  write_objects(out, "scalars_changed", d.scalars_changed, [&](const ScalarChange& c) {
    out.field("path", c.path);
    if (c.a) out.field("a", *c.a);
    if (c.b) out.field("b", *c.b);
  });
  out.end_object();
  out.end_object();
}

}  // namespace pth::inspect
