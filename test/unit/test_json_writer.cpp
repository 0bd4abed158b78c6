// pth::JsonWriter writes what nlohmann's dump() writes for the same document.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "pth/json_writer.hpp"

using pth::JsonWriter;
using Json = JsonWriter::Json;

namespace {

// Writes `j` through the writer piece by piece: containers opened and closed, leaves as
// the writer's own types where it has them.
void write_pieces(JsonWriter& out, const Json& j) {
  if (j.is_object()) {
    out.begin_object();
    for (auto it = j.begin(); it != j.end(); ++it) {
      out.key(it.key());
      write_pieces(out, it.value());
    }
    out.end_object();
  } else if (j.is_array()) {
    out.begin_array();
    for (const Json& item : j) write_pieces(out, item);
    out.end_array();
  } else if (j.is_string()) {
    out.value(j.get_ref<const std::string&>());
  } else if (j.is_boolean()) {
    out.value(j.get<bool>());
  } else if (j.is_number_unsigned()) {
    out.value(j.get<uint64_t>());
  } else if (j.is_number_integer()) {
    out.value(j.get<int64_t>());
  } else {
    out.value(j);   // floats, null
  }
}

Json sample() {
  Json j = Json::object();
  j["path"] = "net/conv1.weight";
  j["escapes"] = "quote \" backslash \\ newline \n tab \t bell \x07 del \x7f caf\xc3\xa9";
  j["bad utf-8 \xff"] = std::string("\xc3\x28 x \xe2\x82", 7);
  j["ints"] = Json::array({0, -1, 9223372036854775807LL, -9223372036854775807LL - 1});
  j["uint"] = uint64_t(18446744073709551615ull);
  j["floats"] = Json::array({0.1, -0.0, 1e100, 3.0, 2.5e-300});
  j["flags"] = Json::array({true, false, nullptr});
  j["empty object"] = Json::object();
  j["empty array"] = Json::array();
  j["nested"] = Json::array({Json::object({{"a", Json::array({Json::array(), Json::object()})}}), Json::array({1, Json::array({2})})});
  return j;
}

}  // namespace

TEST_CASE("JsonWriter writes dump(indent)'s bytes, piece by piece or with trees nested in it") {
  const Json doc = sample();
  for (int indent : {-1, 0, 2, 4}) {
    INFO("indent " << indent);
    const std::string expected = doc.dump(indent, ' ', false, Json::error_handler_t::replace);
    JsonWriter pieces(indent);
    write_pieces(pieces, doc);
    CHECK(pieces.text() == expected);

    JsonWriter mixed(indent);   // some members written whole, at their depth
    mixed.begin_object();
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      mixed.key(it.key());
      if (it.value().is_array()) mixed.value(it.value());
      else write_pieces(mixed, it.value());
    }
    mixed.end_object();
    CHECK(mixed.text() == expected);
  }
  JsonWriter top(2);
  top.value("just a string");
  CHECK(top.text() == "\"just a string\"");
}

TEST_CASE("JsonWriter::raw_value puts compact JSON text where a value goes") {
  const Json doc = sample();
  JsonWriter raw(-1);
  raw.begin_object();
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    raw.key(it.key());
    raw.raw_value(it.value().dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  raw.end_object();
  CHECK(raw.text() == doc.dump(-1, ' ', false, Json::error_handler_t::replace));
}

TEST_CASE("JsonWriter refuses text that is not UTF-8 when asked to, as dump() does") {
  JsonWriter strict(-1, /*replace_invalid_utf8=*/false);
  strict.begin_object();
  CHECK_THROWS_AS(strict.key("\xff"), Json::type_error);
  JsonWriter replacing(-1);
  replacing.value("\xff");
  CHECK(replacing.text() == "\"\xef\xbf\xbd\"");
}

TEST_CASE("json_object_entries: a repeated name keeps its first place and its last value") {
  CHECK(pth::json_object_entries({"b", "a", "b", "c", "a"}) == std::vector<size_t>{2, 4, 3});
  CHECK(pth::json_object_entries({}).empty());
}
