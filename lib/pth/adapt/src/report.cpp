// What sg-ckpt-adapt prints: the result as text (the match reports and a summary line) or JSON.
#include <nlohmann/json.hpp>

#include "pth/adapt.hpp"
#include "pth/json_conventions.hpp"

namespace pth {
namespace {

nlohmann::ordered_json weights_to_json(const WeightsSource& w) {
  using J = nlohmann::ordered_json;
  if (w.layout.empty()) return J(nullptr);
  return {{"key", w.key.empty() ? J(nullptr) : J(w.key)}, {"layout", w.layout}, {"ema", w.ema}, {"prefix", w.prefix}};
}

}  // namespace

nlohmann::ordered_json adapt_result_to_json(const AdaptResult& r) {
  using J = nlohmann::ordered_json;
  J doc = {{"schema_version", kJsonSchemaVersion},
           {"ok", r.ok},
           {"inputs", r.inputs},
           {"template", r.template_path.empty() ? J(nullptr) : J(r.template_path)},
           {"weights", weights_to_json(r.weights)},
           {"output", r.output},
           {"format", r.format == AdaptFormat::Safetensors ? "safetensors" : "pth"},
           {"written", r.written},
           {"tensors", r.tensors},
           {"tensor_bytes", r.tensor_bytes},
           {"converted", r.converted},
           {"match", r.match ? match_report_to_json(*r.match) : J(nullptr)}};
  if (r.ema_match) doc["ema_match"] = match_report_to_json(*r.ema_match);
  doc["notes"] = r.notes;
  doc["failure"] = r.ok ? J(nullptr) : J(r.failure);
  return doc;
}

std::string adapt_result_to_text(const AdaptResult& r) {
  std::string out;
  if (!r.weights.description.empty()) out += "weights: " + r.weights.description + "\n";
  if (r.match) out += match_report_to_text(*r.match);
  if (r.ema_match && !r.ema_match->ok) out += "ema_net:\n" + match_report_to_text(*r.ema_match);
  for (const std::string& n : r.notes) out += "note: " + n + "\n";
  if (r.written) {
    out += "wrote " + r.output + " (" + (r.format == AdaptFormat::Safetensors ? "safetensors" : "pth") + ", " +
           std::to_string(r.tensors) + " tensors, " + std::to_string(r.tensor_bytes) + " bytes";
    if (r.converted) out += ", " + std::to_string(r.converted) + " converted";
    out += ")\n";
  }
  return out;
}

}  // namespace pth
