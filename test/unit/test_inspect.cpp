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
  CHECK(inspect::value_to_json(Value::floating(NAN)) == "NaN");
  CHECK(inspect::value_to_json(Value::floating(-INFINITY)) == "-Infinity");
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

namespace {

Value param_group(double lr, std::vector<int64_t> params) {
  Value g = Value::dict();
  g.as_dict().set("lr", Value::floating(lr));
  g.as_dict().set("momentum", Value::floating(0.9));
  List indices;
  for (int64_t i : params) indices.push_back(Value::integer(i));
  g.as_dict().set("params", Value::list(indices));
  return g;
}

Checkpoint in_memory(const std::string& path, Value root) {
  Checkpoint c;
  c.path = path;
  c.root_name = "archive";
  c.version = 3;
  c.root = std::move(root);
  return c;
}

// torch's Optimizer.state_dict(): {"state": {0: {"momentum_buffer": tensor}}, "param_groups": [...]}.
Value optimizer_state(std::vector<Value> groups) {
  Value state = Value::dict();
  Value entry = Value::dict();
  entry.as_dict().set("momentum_buffer", float_tensor({0.25f, 0.5f}));
  state.as_dict().set(Value::integer(0), entry);
  Value o = Value::dict();
  o.as_dict().set("state", state);
  o.as_dict().set("param_groups", Value::list(std::move(groups)));
  return o;
}

}  // namespace

TEST_CASE("an optimizer's param_groups are reported, under a top-level key or as the root") {
  Value root = checkpoint(1, 4, false);
  root.as_dict().set("optimizer_state_dict", optimizer_state({param_group(0.1, {0, 1}), param_group(NAN, {2})}));
  inspect::Report r = inspect::describe(in_memory("a.pth", root), {});
  REQUIRE(r.optimizers.size() == 1);
  CHECK(r.optimizers[0].path == "optimizer_state_dict");

  JsonWriter out(2);
  inspect::write_report_json(out, r, {});
  const Json groups = Json::parse(out.text())["optimizers"][0]["param_groups"];
  CHECK(groups == Json::parse(R"([{"lr": 0.1, "momentum": 0.9, "params": [0, 1]},
                                  {"lr": "NaN", "momentum": 0.9, "params": [2]}])"));
  const std::string text = inspect::report_to_text(r, {}, false);
  CHECK(text.find("  optimizer_state_dict/param_groups/0  lr 0.1, momentum 0.9, params 2\n") != std::string::npos);
  CHECK(text.find("  optimizer_state_dict/param_groups/1  lr \"NaN\", momentum 0.9, params 1\n") != std::string::npos);

  inspect::Report plain = inspect::describe(in_memory("o.pth", optimizer_state({param_group(1, {0})})), {});
  REQUIRE(plain.optimizers.size() == 1);
  CHECK(plain.optimizers[0].path == "");
  CHECK(inspect::report_to_text(plain, {}, false).find("\n  param_groups/0  lr 1.0, momentum 0.9, params 1\n") != std::string::npos);
}

TEST_CASE("a dict with param_groups but no state dict is not an optimizer") {
  Value root = Value::dict();
  Value fake = Value::dict();
  fake.as_dict().set("param_groups", Value::list({param_group(0.1, {0})}));
  root.as_dict().set("opt", fake);
  CHECK(inspect::describe(in_memory("a.pth", root), {}).optimizers.empty());
}

TEST_CASE("stats of a tensor without finite elements: null min, max, mean in JSON, n/a in text") {
  Value root = Value::dict();
  root.as_dict().set("all_nan", float_tensor({NAN, NAN}));
  root.as_dict().set("infs", float_tensor({INFINITY, -INFINITY, NAN}));
  root.as_dict().set("empty", float_tensor({}));
  root.as_dict().set("big", float_tensor({3e38f, 3e38f, 1}));   // float32 values whose float64 mean is finite
  inspect::Options options;
  options.stats = true;
  inspect::Report r = inspect::describe(in_memory("a.pth", root), options);
  JsonWriter out(2);
  inspect::write_report_json(out, r, options);
  const Json tensors = Json::parse(out.text())["tensors"];
  CHECK(tensors[0]["stats"] == Json::parse(R"({"count": 2, "nan": 2, "inf": 0, "min": null, "max": null, "mean": null})"));
  CHECK(tensors[1]["stats"] == Json::parse(R"({"count": 3, "nan": 1, "inf": 2, "min": null, "max": null, "mean": null})"));
  CHECK(tensors[2]["stats"] == Json::parse(R"({"count": 0, "nan": 0, "inf": 0, "min": null, "max": null, "mean": null})"));
  CHECK(tensors[3]["stats"]["min"] == 1.0);
  const std::string text = inspect::report_to_text(r, options, false);
  CHECK(text.find("min n/a max n/a mean n/a nan 2 inf 0\n") != std::string::npos);
  CHECK(text.find("min n/a max n/a mean n/a nan 1 inf 2\n") != std::string::npos);
  CHECK(text.find("min 1 max 3e+38 mean 2e+38 nan 0 inf 0\n") != std::string::npos);
}

TEST_CASE("an unreadable file in --verify's JSON: its path, the error, a failed verification") {
  JsonWriter out(2);
  out.begin_array();
  inspect::write_unreadable_json(out, "gone.pth", "No such file or directory");
  out.end_array();
  CHECK(Json::parse(out.text())[0] == Json::parse(R"({"path": "gone.pth", "error": "No such file or directory",
                                                     "verify": {"ok": false, "problems": ["No such file or directory"]}})"));
}

TEST_CASE("diff JSON starts with the schema version, an infinite difference a string") {
  inspect::Diff d;
  d.a_path = "a.pth";
  d.b_path = "b.pth";
  d.value_changed.push_back({"w", INFINITY});
  JsonWriter out(2);
  inspect::write_diff_json(out, d);
  const Json j = Json::parse(out.text());
  CHECK(j.begin().key() == "schema_version");
  CHECK(j["schema_version"] == 1);
  CHECK(j["diff"]["value_changed"][0]["max_abs_diff"] == "Infinity");
}
