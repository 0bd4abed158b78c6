#pragma once
// What the JSON every program prints shares (sg-ckpt-inspect, sg-ckpt-adapt, sg-eval): the
// version of its schema (tools/schemas/<program>.schema.json) and the spelling of non-finite numbers.
// Header only: sg-eval uses it without linking the format layer's libraries.
#include <cmath>

#include <nlohmann/json.hpp>

namespace pth {

// The "schema_version" at the top of every document; raised when a field changes meaning
// or goes away (adding a field is compatible).
constexpr int kJsonSchemaVersion = 1;

// JSON has no NaN or infinity: they are written as the strings of protobuf's canonical JSON
// mapping. Returns that string, or nullptr for a finite value.
inline const char* non_finite_name(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return nullptr;
}

// A floating-point value as JSON: a number when finite, else non_finite_name's string.
template <class Json = nlohmann::ordered_json>
Json json_float(double d) {
  if (const char* name = non_finite_name(d)) return Json(name);
  return Json(d);
}

}  // namespace pth
