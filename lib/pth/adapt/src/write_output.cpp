#include "write_output.hpp"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "data_error.hpp"
#include "pth/checkpoint.hpp"
#include "pth/float_text.hpp"
#include "pth/message.hpp"
#include "pth/safetensors.hpp"
#include "pth/sg_layout.hpp"

namespace pth::adapt_detail {
namespace {

// Python's str() of a float: the shortest text that reads back the same. Metadata values
// are text as Python's str() writes it ("nan", "inf"), not JSON values: the JSON
// convention of pth::json_float does not apply here.
std::string python_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  std::string s = shortest_float_text(d);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::optional<std::string> scalar_text(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Bool: return std::string(v.as_bool() ? "True" : "False");
    case Value::Kind::Int: return std::to_string(v.as_int());
    case Value::Kind::BigInt: return v.as_string();
    case Value::Kind::Float: return python_float(v.as_number());
    case Value::Kind::String: return v.as_string();
    default: return std::nullopt;
  }
}

// net's tensors; the root's scalar keys as metadata (a note lists what is left out).
void write_safetensors_output(const AdaptOptions& o, Doc& doc, AdaptResult& r) {
  std::vector<NamedTensor> tensors;
  tensors.reserve(doc.net.entries.size());
  for (Entry& e : doc.net.entries) {
    if (!e.value.is_tensor())
      throw AdaptError(doc.path, what_of(doc.net) + "entry " + pth::quoted(e.name) + " is a " +
                                     std::string(Value::kind_name(e.value.kind())) + "; safetensors holds only tensors");
    tensors.push_back({std::move(e.name), e.value.as_tensor()});
  }
  StringPairs metadata;
  if (doc.plain) {
    metadata = doc.safetensors ? doc.metadata : StringPairs{{"format", "pt"}};
  } else {
    std::vector<std::string> left_out;
    bool has_format = false;
    for (const auto& [k, v] : doc.root.as_dict().items) {
      if (!k.is_string()) continue;
      const std::string& key = k.as_string();
      if (key == sg_keys::kNet || key == sg_keys::kEmaNet) {
        if (key == sg_keys::kEmaNet && !v.is_none() && !o.ema) left_out.push_back(key);
        continue;
      }
      if (auto text = scalar_text(v)) {
        metadata.emplace_back(key, *text);
        has_format = has_format || key == "format";
      } else if (!v.is_none()) {
        left_out.push_back(key);
      }
    }
    if (!has_format) metadata.insert(metadata.begin(), {"format", "pt"});
    if (!left_out.empty()) {
      std::string list;
      for (const std::string& k : left_out) list += (list.empty() ? "" : ", ") + k;
      r.notes.push_back("safetensors holds net's tensors and scalar keys only; left out: " + list);
    }
  }
  try {
    write_safetensors(o.output, tensors, metadata, /*replace=*/o.force);
  } catch (const std::exception& e) {
    throw data_error(o.output, "", e);
  }
}

// The root as it was, with net (and ema_net) replaced, less what --ema and --weights-only leave out.
void write_pth_output(const AdaptOptions& o, Doc& doc) {
  Value root;
  if (doc.plain) {
    root = to_value(std::move(doc.net));
  } else {
    root = Value::dict(doc.root.as_dict().ordered);
    Dict& out = root.as_dict();
    bool net_written = false;
    for (const auto& [k, v] : doc.root.as_dict().items) {
      if (k.is_string() && k.as_string() == sg_keys::kNet) {
        out.items.emplace_back(k, to_value(std::move(doc.net)));
        net_written = true;
      } else if (k.is_string() && k.as_string() == sg_keys::kEmaNet) {
        if (o.ema || o.weights_only) continue;   // promoted to net, or not wanted
        out.items.emplace_back(k, doc.ema ? to_value(std::move(*doc.ema)) : v);
      } else if (!o.weights_only) {
        out.items.emplace_back(k, v);
      }
    }
    if (!net_written) out.items.insert(out.items.begin(), {Value::string(sg_keys::kNet), to_value(std::move(doc.net))});
  }
  try {
    WriteOptions options;
    options.replace = o.force;   // without --force a file that appeared meanwhile stays
    write_checkpoint(o.output, root, options);
  } catch (const std::exception& e) {
    throw data_error(o.output, "", e);
  }
}

}  // namespace

void write_output(const AdaptOptions& o, Doc doc, AdaptResult& r) {
  if (r.format == AdaptFormat::Safetensors) write_safetensors_output(o, doc, r);
  else write_pth_output(o, doc);
  r.written = true;
}

}  // namespace pth::adapt_detail
