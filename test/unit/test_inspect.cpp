#include <catch2/catch.hpp>

#include <cmath>

#include "pth/checkpoint.hpp"
#include "pth/inspect.hpp"
#include "temp_dir.hpp"

using namespace pth;
using inspect::Json;

namespace {

Value float_tensor(std::vector<float> values) {
  auto owner = std::make_shared<std::vector<float>>(std::move(values));
  auto s = std::make_shared<Storage>();
  s->numel = int64_t(owner->size());
  s->data = std::make_shared<MemoryStorageData>(ByteView(owner->data(), owner->size() * 4), owner);
  auto t = std::make_shared<Tensor>();
  t->storage = s;
  t->shape = {s->numel};
  t->stride = {1};
  return Value::tensor(t);
}

Value checkpoint(float first_weight, int64_t epoch, bool extra_key) {
  Value net = Value::dict(true);
  net.as_dict().set("fc.weight", float_tensor({first_weight, 2, 3}));
  net.as_dict().set("fc.bias", float_tensor({0.5f}));
  if (extra_key) net.as_dict().set("fc.extra", float_tensor({1}));
  Value root = Value::dict();
  root.as_dict().set("net", net);
  root.as_dict().set("epoch", Value::integer(epoch));
  Value metrics = Value::dict();
  metrics.as_dict().set("Accuracy", Value::floating(0.5));
  root.as_dict().set("metrics", metrics);
  return root;
}

}  // namespace

TEST_CASE("describe groups tensors by top-level key and keeps scalars") {
  TempDir dir;
  write_checkpoint(dir.file("a.pth"), checkpoint(1, 4, false));
  inspect::Options options;
  options.hash = true;
  inspect::Report r = inspect::describe(dir.file("a.pth"), options);
  CHECK(r.keys == std::vector<std::string>{"net", "epoch", "metrics"});
  REQUIRE(r.scalars.size() == 2);
  CHECK(r.scalars[0].first == "epoch");
  REQUIRE(r.groups.size() == 1);
  CHECK(r.groups[0].name == "net");
  CHECK(r.groups[0].tensors == 2);
  CHECK(r.groups[0].parameters == 4);
  CHECK(r.groups[0].bytes == 16);
  CHECK(r.groups[0].dtypes.at("float32") == 2);

  JsonWriter out(2);
  inspect::write_report_json(out, r, options);
  const Json j = Json::parse(out.text());
  CHECK(j["scalars"]["metrics"]["Accuracy"] == 0.5);
  CHECK(j["tensors"][0]["path"] == "net/fc.weight");
  CHECK(j["tensors"][0]["shape"] == Json::array({3}));
  CHECK(j["tensors"][0]["sha256"].get<std::string>().size() == 64);
  CHECK(j["tensors"][0]["sha256"] != j["tensors"][1]["sha256"]);
}

TEST_CASE("value_to_json renders what JSON cannot hold natively") {
  CHECK(inspect::value_to_json(Value::floating(NAN)) == "nan");
  CHECK(inspect::value_to_json(Value::floating(-INFINITY)) == "-inf");
  CHECK(inspect::value_to_json(Value::big_integer("1180591620717411303424")) == "1180591620717411303424");
  CHECK(inspect::value_to_json(Value::bytes(std::string("\x00\xff", 2))) == Json{{"bytes_hex", "00ff"}});
  CHECK(inspect::value_to_json(Value::tuple({Value::none(), Value::boolean(false)})) == Json::array({nullptr, false}));
}

TEST_CASE("value_to_json: dict keys that render alike keep the first place and the last value") {
  Value d = Value::dict();
  d.as_dict().items.emplace_back(Value::integer(1), Value::string("a"));
  d.as_dict().items.emplace_back(Value::string("x"), Value::integer(2));
  d.as_dict().items.emplace_back(Value::string("1"), Value::string("b"));
  CHECK(inspect::value_to_json(d).dump() == R"({"1":"b","x":2})");
}

TEST_CASE("diff finds added, removed, changed values and scalars") {
  TempDir dir;
  write_checkpoint(dir.file("a.pth"), checkpoint(1, 4, false));
  write_checkpoint(dir.file("b.pth"), checkpoint(1.25f, 5, true));
  write_checkpoint(dir.file("c.pth"), checkpoint(1, 4, false));
  Checkpoint a = read_checkpoint(dir.file("a.pth")), b = read_checkpoint(dir.file("b.pth")),
             c = read_checkpoint(dir.file("c.pth"));

  CHECK(inspect::diff(a, c).identical());
  inspect::Diff d = inspect::diff(a, b);
  CHECK_FALSE(d.identical());
  CHECK(d.added == std::vector<std::string>{"net/fc.extra"});
  CHECK(d.removed.empty());
  REQUIRE(d.value_changed.size() == 1);
  CHECK(d.value_changed[0].path == "net/fc.weight");
  CHECK(d.value_changed[0].max_abs_diff == 0.25);
  REQUIRE(d.scalars_changed.size() == 1);
  CHECK(d.scalars_changed[0].path == "epoch");
  CHECK(*d.scalars_changed[0].a == 4);
  CHECK(*d.scalars_changed[0].b == 5);
}
