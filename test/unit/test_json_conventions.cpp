#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "pth/json_conventions.hpp"

using pth::json_float;
using pth::non_finite_name;

TEST_CASE("non-finite floats are protobuf's JSON strings, finite ones numbers") {
  CHECK(json_float(NAN) == "NaN");
  CHECK(json_float(-NAN) == "NaN");
  CHECK(json_float(INFINITY) == "Infinity");
  CHECK(json_float(-INFINITY) == "-Infinity");
  CHECK(json_float(0.5).is_number_float());
  CHECK(json_float(0.5) == 0.5);
  CHECK(json_float(-0.0).dump() == "-0.0");
  CHECK(json_float(std::numeric_limits<double>::max()) == std::numeric_limits<double>::max());
  CHECK(json_float(std::numeric_limits<double>::denorm_min()) == std::numeric_limits<double>::denorm_min());
  CHECK(non_finite_name(1e308) == nullptr);
}

TEST_CASE("json_float makes either kind of nlohmann document, which never holds a bare NaN") {
  nlohmann::json metrics;
  metrics["loss"] = json_float<nlohmann::json>(NAN);
  metrics["acc"] = json_float<nlohmann::json>(0.75);
  CHECK(metrics.dump() == R"({"acc":0.75,"loss":"NaN"})");
  nlohmann::ordered_json doc = {{"schema_version", pth::kJsonSchemaVersion}, {"max", json_float(-INFINITY)}};
  CHECK(doc.dump() == R"({"schema_version":1,"max":"-Infinity"})");
}
