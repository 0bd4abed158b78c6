#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>

#include "pth/error.hpp"
#include "pth/pickle_reader.hpp"
#include "pth/pickle_writer.hpp"
#include "pth/torch_unpickler.hpp"
#include "pickle_builder.hpp"
#include "temp_dir.hpp"

using namespace pth;

namespace {

// ---------------------------------------------------------------------------------------
// Storages for torch-shaped pickles.

// Validates the persistent id ('storage', torch.<X>Storage, key, location, numel) and
// returns one Storage per key (shared), as the checkpoint layer does.
struct StubStorages {
  std::map<std::string, std::shared_ptr<Storage>> by_key;
  int calls = 0;

  Value load(const Value& pid) {
    ++calls;
    if (pid.kind() != Value::Kind::Tuple || pid.items().size() != 5) throw FormatError("bad pid");
    const List& p = pid.items();
    if (!p[0].is_string() || p[0].as_string() != "storage") throw FormatError("bad pid tag");
    if (p[1].kind() != Value::Kind::Global || p[1].as_global().module != "torch") throw FormatError("bad pid class");
    auto dt = dtype_from_storage_class(p[1].as_global().name);
    if (!dt) throw FormatError("bad storage class");
    if (!p[2].is_string() || !p[3].is_string() || !p[4].is_int() || p[4].as_int() < 0) throw FormatError("bad pid fields");
    auto& s = by_key[p[2].as_string()];
    if (!s) {
      s = std::make_shared<Storage>();
      s->dtype = *dt;
      s->key = p[2].as_string();
      s->device = p[3].as_string();
      s->numel = p[4].as_int();
    } else if (s->dtype != *dt || s->numel != p[4].as_int()) {
      throw FormatError("storage redefined");
    }
    return Value::storage(s);
  }
};

TorchPickleHooks torch_hooks(StubStorages& st) {
  return TorchPickleHooks([&st](const Value& pid) { return st.load(pid); });
}

TorchPickleHooks no_storage_hooks() {
  return TorchPickleHooks([](const Value&) -> Value { throw FormatError("no storages here"); });
}

Value read_torch(const std::string& bytes, const PickleLimits& limits = {}) {
  StubStorages st;
  auto hooks = torch_hooks(st);
  return unpickle(view(bytes), hooks, limits);
}

// A storage owning `numel` elements of `dtype`, filled with bytes 0,1,2,...
std::shared_ptr<Storage> make_storage(DType dtype, int64_t numel, std::string device = "cpu") {
  auto bytes = std::make_shared<std::vector<uint8_t>>(size_t(numel) * dtype_size(dtype));
  for (size_t i = 0; i < bytes->size(); ++i) (*bytes)[i] = uint8_t(i);
  auto s = std::make_shared<Storage>();
  s->dtype = dtype;
  s->numel = numel;
  s->device = std::move(device);
  s->data = std::make_shared<MemoryStorageData>(ByteView(bytes->data(), bytes->size()), bytes);
  return s;
}

std::shared_ptr<Tensor> make_tensor(std::shared_ptr<Storage> s, std::vector<int64_t> shape, int64_t offset = 0) {
  auto t = std::make_shared<Tensor>();
  t->dtype = s->dtype;
  t->shape = std::move(shape);
  t->stride = Tensor::contiguous_strides(t->shape);
  t->storage_offset = offset;
  t->storage = std::move(s);
  return t;
}

// Writer with storage keys "0", "1", ... in order of first use; keeps them for reading back.
struct Written {
  std::string bytes;
  std::map<std::string, std::shared_ptr<Storage>> storages;  // key -> original
};

Written write(const Value& v) {
  Written w;
  std::map<const Storage*, std::string> keys;
  w.bytes = pickle_value(v, [&](const Storage& s) {
    std::string key = std::to_string(keys.size());
    keys[&s] = key;
    return key;
  });
  // Map keys back to the original storages by walking what we have seen.
  std::function<void(const Value&)> walk = [&](const Value& x) {
    if (x.is_tensor()) {
      auto it = keys.find(x.as_tensor()->storage.get());
      if (it != keys.end()) w.storages[it->second] = x.as_tensor()->storage;
    } else if (x.is_sequence()) {
      for (const auto& i : x.items()) walk(i);
    } else if (x.is_dict()) {
      for (const auto& kv : x.as_dict().items) {
        walk(kv.first);
        walk(kv.second);
      }
      if (x.as_dict().metadata) walk(*x.as_dict().metadata);
    }
  };
  walk(v);
  return w;
}

// Reads back a Written pickle; storages resolve to the original objects.
Value read_back(const Written& w) {
  TorchPickleHooks hooks([&](const Value& pid) {
    REQUIRE(pid.kind() == Value::Kind::Tuple);
    const List& p = pid.items();
    REQUIRE(p.size() == 5);
    CHECK(p[0].as_string() == "storage");
    auto it = w.storages.find(p[2].as_string());
    REQUIRE(it != w.storages.end());
    CHECK(p[1].as_global().module == "torch");
    CHECK(p[1].as_global().name == storage_class_name(it->second->dtype));
    CHECK(p[3].as_string() == it->second->device);
    CHECK(p[4].as_int() == it->second->numel);
    return Value::storage(it->second);
  });
  return unpickle(view(w.bytes), hooks);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Structural equality (floats bitwise; tensors by fields and storage identity).
bool same(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::None: return true;
    case Value::Kind::Bool: return a.as_bool() == b.as_bool();
    case Value::Kind::Int: return a.as_int() == b.as_int();
    case Value::Kind::Float: return same_bits(a.as_number(), b.as_number());
    case Value::Kind::BigInt:
    case Value::Kind::String:
    case Value::Kind::Bytes: return a.as_string() == b.as_string();
    case Value::Kind::Global:
      return a.as_global().module == b.as_global().module && a.as_global().name == b.as_global().name;
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      if (a.items().size() != b.items().size()) return false;
      for (size_t i = 0; i < a.items().size(); ++i)
        if (!same(a.items()[i], b.items()[i])) return false;
      return true;
    }
    case Value::Kind::Dict: {
      const Dict& x = a.as_dict();
      const Dict& y = b.as_dict();
      if (x.ordered != y.ordered || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i)
        if (!same(x.items[i].first, y.items[i].first) || !same(x.items[i].second, y.items[i].second)) return false;
      if (bool(x.metadata) != bool(y.metadata)) return false;
      return !x.metadata || same(*x.metadata, *y.metadata);
    }
    case Value::Kind::Tensor: {
      const Tensor& x = *a.as_tensor();
      const Tensor& y = *b.as_tensor();
      return x.dtype == y.dtype && x.shape == y.shape && x.stride == y.stride && x.storage_offset == y.storage_offset &&
             x.requires_grad == y.requires_grad && x.is_parameter == y.is_parameter && x.storage == y.storage;
    }
    case Value::Kind::Storage: return a.as_storage() == b.as_storage();
  }
  return false;
}

Value round_trip(const Value& v) { return read_back(write(v)); }

std::string hex(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

const Value& at(const Value& dict, const std::string& key) {
  const Value* v = dict.as_dict().find(key);
  if (!v) FAIL("missing key " << key);
  return *v;
}

// A torch-like state dict: OrderedDict of tensors/params, metadata, nested optimizer state.
Value sample_checkpoint() {
  auto s0 = make_storage(DType::Float32, 6);
  auto s1 = make_storage(DType::Int64, 3);
  auto s2 = make_storage(DType::BFloat16, 4, "cuda:0");
  auto w = make_tensor(s0, {2, 3});
  w->is_parameter = true;
  w->requires_grad = true;
  auto view = make_tensor(s0, {2}, 4);
  auto idx = make_tensor(s1, {3});
  auto half = make_tensor(s2, {2, 2});
  auto scalar = make_tensor(make_storage(DType::Float64, 1), {});

  Value sd = Value::dict(true);
  sd.as_dict().set("conv.weight", Value::tensor(w));
  sd.as_dict().set("conv.view", Value::tensor(view));
  sd.as_dict().set("idx", Value::tensor(idx));
  sd.as_dict().set("half", Value::tensor(half));
  sd.as_dict().set("scalar", Value::tensor(scalar));
  Value meta = Value::dict(true);
  Value ver = Value::dict();
  ver.as_dict().set("version", Value::integer(1));
  meta.as_dict().set("", ver);
  meta.as_dict().set("conv", ver);
  sd.as_dict().metadata = std::make_shared<Value>(meta);

  Value opt = Value::dict();
  Value state = Value::dict();
  Value st0 = Value::dict();
  st0.as_dict().set("momentum_buffer", Value::tensor(w));
  state.as_dict().set(Value::integer(0), st0);
  opt.as_dict().set("state", state);
  Value groups = Value::list({Value::dict()});
  groups.items()[0].as_dict().set("lr", Value::floating(0.1));
  groups.items()[0].as_dict().set("params", Value::list({Value::integer(0)}));
  opt.as_dict().set("param_groups", groups);

  Value root = Value::dict();
  root.as_dict().set("net", sd);
  root.as_dict().set("optimizer_state_dict", opt);
  root.as_dict().set("epoch", Value::integer(7));
  root.as_dict().set("acc", Value::floating(0.8125));
  root.as_dict().set("seed", Value::big_integer("18446744073709551615"));
  root.as_dict().set("blob", Value::bytes(std::string("\x00\xff\x80z", 4)));
  root.as_dict().set("shape", Value::tuple({Value::integer(2), Value::integer(3)}));
  root.as_dict().set("none", Value::none());
  root.as_dict().set("dtype", Value::global("torch", "float32"));
  return root;
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f.write(data.data(), std::streamsize(data.size()));
}

// Runs a Python script; returns exit status and combined output.
int run_python(const std::string& script_path, const std::string& arg, std::string& output) {
  std::string cmd = "/usr/bin/python3 '" + script_path + "' '" + arg + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  output.clear();
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  return pclose(p);
}

}  // namespace

// =======================================================================================
// Round trips: writer -> reader

TEST_CASE("round trip: ints at every encoding boundary") {
  const int64_t vals[] = {0,          1,          255,        256,        65535,      65536,
                          -1,         -128,       -129,       -256,       -32768,     INT32_MAX,
                          int64_t(INT32_MAX) + 1, INT32_MIN, int64_t(INT32_MIN) - 1, int64_t(1) << 40,
                          -(int64_t(1) << 40),    INT64_MAX, INT64_MIN,  INT64_MAX - 1, INT64_MIN + 1};
  for (int64_t v : vals) {
    INFO("value " << v);
    Value back = round_trip(Value::integer(v));
    REQUIRE(back.is_int());
    CHECK(back.as_int() == v);
  }
  // The exact opcodes Python uses.
  auto w = [](int64_t v) { return hex(write(Value::integer(v)).bytes); };
  CHECK(w(0) == "80024b002e");
  CHECK(w(255) == "80024bff2e");
  CHECK(w(256) == "80024d00012e");
  CHECK(w(65535) == "80024dffff2e");
  CHECK(w(65536) == "80024a000001002e");
  CHECK(w(-1) == "80024affffffff2e");
  CHECK(w(INT32_MIN) == "80024a000000802e");
  CHECK(w(int64_t(INT32_MAX) + 1) == "80028a0500000080002e");
  CHECK(w(int64_t(INT32_MIN) - 1) == "80028a05ffffff7fff2e");
  CHECK(w(INT64_MIN) == "80028a0800000000000000802e");
  CHECK(w(INT64_MAX) == "80028a08ffffffffffffff7f2e");
}

TEST_CASE("round trip: big integers") {
  std::string huge(700, '7');  // > 255 bytes of two's complement: LONG4
  const char* vals[] = {"9223372036854775808", "-9223372036854775809", "18446744073709551616",
                        "-18446744073709551616", "340282366920938463463374607431768211455", huge.c_str()};
  for (const char* d : vals) {
    INFO("value " << d);
    Value back = round_trip(Value::big_integer(d));
    REQUIRE(back.kind() == Value::Kind::BigInt);
    CHECK(back.as_string() == d);
  }
  CHECK(uint8_t(write(Value::big_integer(huge)).bytes[2]) == 0x8b);  // LONG4
  // A "big" integer that fits int64 comes back as a plain int.
  Value small = round_trip(Value::big_integer("-42"));
  REQUIRE(small.is_int());
  CHECK(small.as_int() == -42);
  CHECK_THROWS_AS(write(Value::big_integer("12x")), Error);
}

TEST_CASE("round trip: floats including nan, inf and -0.0") {
  const double vals[] = {0.0, -0.0, 1.5, -2.25, 1e300, 5e-324, std::numeric_limits<double>::max(),
                         std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (double d : vals) {
    Value back = round_trip(Value::floating(d));
    REQUIRE(back.is_float());
    CHECK(same_bits(back.as_number(), d));
  }
  Value nan = round_trip(Value::floating(std::nan("")));
  REQUIRE(nan.is_float());
  CHECK(std::isnan(nan.as_number()));
  CHECK(hex(write(Value::floating(1.5)).bytes) == "8002473ff80000000000002e");
}

TEST_CASE("round trip: strings, bytes, None, bools, globals") {
  for (std::string s : {std::string(""), std::string("plain"), std::string("h\xc3\xa9llo"),
                        std::string("\xe6\x97\xa5\xe6\x9c\xac"), std::string("\xf0\x9f\x98\x80 emoji"),
                        std::string("nul\0inside", 10), std::string(70000, 'x')}) {
    Value back = round_trip(Value::string(s));
    REQUIRE(back.is_string());
    CHECK(back.as_string() == s);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  for (const std::string& b : {all, std::string()}) {
    Value back = round_trip(Value::bytes(b));
    REQUIRE(back.kind() == Value::Kind::Bytes);
    CHECK(back.as_string() == b);
  }
  CHECK(round_trip(Value::none()).is_none());
  CHECK(round_trip(Value::boolean(true)).as_bool() == true);
  CHECK(round_trip(Value::boolean(false)).as_bool() == false);
  Value g = round_trip(Value::global("torch", "bfloat16"));
  REQUIRE(g.kind() == Value::Kind::Global);
  CHECK(g.as_global().name == "bfloat16");
  CHECK_THROWS_AS(write(Value::string("\xff bad utf8")), Error);
}

TEST_CASE("round trip: nested containers, dict keys, big batches") {
  Value d = Value::dict();
  d.as_dict().set(Value::integer(3), Value::string("int key"));
  d.as_dict().set(Value::tuple({Value::integer(1), Value::string("a")}), Value::none());
  d.as_dict().set(Value::none(), Value::boolean(true));
  d.as_dict().set(Value::floating(2.5), Value::list());
  Value inner = Value::list({Value::tuple(), Value::tuple({Value::integer(1)}),
                             Value::tuple({Value::integer(1), Value::integer(2)}),
                             Value::tuple({Value::integer(1), Value::integer(2), Value::integer(3)}),
                             Value::tuple({Value::integer(1), Value::integer(2), Value::integer(3), Value::integer(4)})});
  Value big_list = Value::list();
  for (int i = 0; i < 2500; ++i) big_list.items().push_back(Value::integer(i));
  Value big_dict = Value::dict(true);
  for (int i = 0; i < 2100; ++i) big_dict.as_dict().items.emplace_back(Value::string("k" + std::to_string(i)), Value::integer(i));
  Value root = Value::list({d, inner, big_list, big_dict, Value::list({Value::list({Value::list()})})});
  Value back = round_trip(root);
  CHECK(same(back, root));
  CHECK(back.items()[2].items().size() == 2500);
  CHECK(back.items()[3].as_dict().items.size() == 2100);
  CHECK(back.items()[3].as_dict().ordered);
}

TEST_CASE("round trip: OrderedDict with metadata, plain dict without") {
  Value od = Value::dict(true);
  od.as_dict().set("a", Value::integer(1));
  Value meta = Value::dict(true);
  Value v = Value::dict();
  v.as_dict().set("version", Value::integer(2));
  meta.as_dict().set("layer", v);
  od.as_dict().metadata = std::make_shared<Value>(meta);
  Value back = round_trip(od);
  REQUIRE(back.is_dict());
  CHECK(back.as_dict().ordered);
  REQUIRE(back.as_dict().metadata);
  CHECK(same(*back.as_dict().metadata, meta));
  CHECK(same(back, od));
  Value plain = round_trip(Value::dict());
  CHECK_FALSE(plain.as_dict().ordered);
  CHECK_FALSE(plain.as_dict().metadata);
}

TEST_CASE("argparse.Namespace (timm's and torchvision's args): an inert record, written back as one") {
  PB p;
  p.proto().global("argparse", "Namespace").op(')').op(0x81).op('}').str("model").str("resnet18").op('s').op('b').stop();
  const Value v = read_torch(p.s);
  REQUIRE(v.is_dict());
  CHECK(v.as_dict().python_class == "argparse.Namespace");
  CHECK(v.as_dict().find("model")->as_string() == "resnet18");
  const Value back = round_trip(v);
  CHECK(back.as_dict().python_class == "argparse.Namespace");
  CHECK(same(back, v));
  CHECK_THROWS_WITH(read_torch(PB().proto().global("argparse", "Namespace").k(1).op(0x85).op(0x81).stop().s),
                    Catch::Contains("without arguments"));
  CHECK_THROWS_WITH(read_torch(PB().proto().global("argparse", "Namespace").op(')').op(0x81).op(']').op('b').stop().s),
                    Catch::Contains("BUILD on argparse.Namespace with a list"));
  CHECK_THROWS_WITH(read_torch(PB().proto().global("argparse", "ArgumentParser").stop().s),
                    Catch::Contains("refused global 'argparse.ArgumentParser'"));
}

TEST_CASE("round trip: shared containers and tensors stay shared") {
  Value shared = Value::list({Value::integer(1)});
  Value shared_d = Value::dict();
  Value root = Value::list({shared, shared, shared_d, Value::tuple({shared_d, shared})});
  Value back = round_trip(root);
  CHECK(same(back, root));
  CHECK(back.items()[0].identity() == back.items()[1].identity());
  CHECK(back.items()[2].identity() == back.items()[3].items()[0].identity());
  CHECK(back.items()[3].items()[1].identity() == back.items()[0].identity());
  CHECK(back.items()[0].identity() != back.items()[2].identity());
  // Mutating one reference is seen through the other, as in Python.
  back.items()[0].items().push_back(Value::integer(2));
  CHECK(back.items()[1].items().size() == 2);
}

TEST_CASE("round trip: tensors and parameters") {
  Value root = sample_checkpoint();
  Written w = write(root);
  Value back = read_back(w);
  CHECK(same(back, root));
  const Value& net = at(back, "net");
  const auto& weight = at(net, "conv.weight").as_tensor();
  CHECK(weight->is_parameter);
  CHECK(weight->requires_grad);
  CHECK(weight->shape == std::vector<int64_t>{2, 3});
  CHECK(weight->stride == std::vector<int64_t>{3, 1});
  const auto& view = at(net, "conv.view").as_tensor();
  CHECK_FALSE(view->is_parameter);
  CHECK(view->storage_offset == 4);
  CHECK(view->storage == weight->storage);  // views share their storage
  CHECK(at(net, "half").as_tensor()->dtype == DType::BFloat16);
  CHECK(at(net, "half").as_tensor()->storage->device == "cuda:0");
  CHECK(at(net, "scalar").as_tensor()->shape.empty());
  // The same tensor object (parameter and momentum buffer here) comes back as one object.
  const Value& st0 = at(at(back, "optimizer_state_dict"), "state").as_dict().items[0].second;
  CHECK(at(st0, "momentum_buffer").identity() == at(net, "conv.weight").identity());
  CHECK(w.storages.size() == 4);
  // Memoised: the tensor is written once, so the storage key appears in 2 pids, not 3.
  size_t n = 0;
  for (size_t p = 0; (p = w.bytes.find("_rebuild_tensor_v2", p)) != std::string::npos; ++p) ++n;
  CHECK(n == 5);
}

TEST_CASE("writer refuses what it cannot express") {
  auto s = make_storage(DType::Float32, 4);
  CHECK_THROWS_AS(write(Value::storage(s)), Error);
  Value self = Value::list();
  self.items().push_back(self);
  CHECK_THROWS_WITH(write(self), Catch::Contains("recursive"));
  self.items().clear();  // break the cycle
  auto t = make_tensor(s, {4});
  t->dtype = DType::Int32;  // differs from its storage
  CHECK_THROWS_AS(write(Value::tensor(t)), Error);
  auto nostore = std::make_shared<Tensor>();
  CHECK_THROWS_AS(write(Value::tensor(nostore)), Error);
}

TEST_CASE("memo indices past 255 use LONG_BINPUT/LONG_BINGET") {
  Value root = Value::list();
  std::vector<Value> lists;
  for (int i = 0; i < 300; ++i) lists.push_back(Value::list({Value::integer(i)}));
  for (auto& l : lists) root.items().push_back(l);
  for (auto& l : lists) root.items().push_back(l);
  std::string bytes = write(root).bytes;
  CHECK(bytes.find('r') != std::string::npos);
  Value back = round_trip(root);
  REQUIRE(back.items().size() == 600);
  for (int i = 0; i < 300; ++i) CHECK(back.items()[size_t(i)].identity() == back.items()[size_t(i) + 300].identity());
}

// =======================================================================================
// Opcodes by hand

TEST_CASE("protocol 0/1 text opcodes") {
  auto rd = [](const std::string& s) { return read_torch(s); };
  CHECK(rd("I01\n.").as_bool() == true);
  CHECK(rd("I00\n.").as_bool() == false);
  CHECK(rd("I-17\n.").as_int() == -17);
  CHECK(rd("I9223372036854775807\n.").as_int() == INT64_MAX);
  CHECK(rd("I-9223372036854775808\n.").as_int() == INT64_MIN);
  CHECK(rd("I9223372036854775808\n.").as_string() == "9223372036854775808");
  CHECK(rd("L123L\n.").as_int() == 123);
  CHECK(rd("L-99999999999999999999L\n.").as_string() == "-99999999999999999999");
  CHECK(rd("L0007\n.").as_int() == 7);
  CHECK_THROWS_AS(rd("I12a\n."), FormatError);
  CHECK_THROWS_AS(rd("I\n."), FormatError);
  CHECK(rd("F1.25\n.").as_number() == 1.25);
  CHECK(std::isinf(rd("Finf\n.").as_number()));
  CHECK(std::isnan(rd("Fnan\n.").as_number()));
  CHECK(std::signbit(rd("F-0.0\n.").as_number()));
  CHECK(std::isinf(rd("F1e999\n.").as_number()));
  CHECK_THROWS_AS(rd("F1.2.3\n."), FormatError);
  CHECK(rd("S'it''s'\n.").as_string() == "it''s");
  CHECK(rd("S'a\\nb\\x41\\101\\\\'\n.").as_string() == "a\nbAA\\");
  CHECK(rd("S\"q\"\n.").as_string() == "q");
  CHECK_THROWS_AS(rd("Sabc\n."), FormatError);
  CHECK_THROWS_AS(rd("S'\\x4'\n."), FormatError);
  CHECK(rd("Vabc\n.").as_string() == "abc");
  CHECK(rd("Vh\xe9\\u65e5\\U0001f600\\u005c\n.").as_string() == "h\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\\");
  CHECK_THROWS_AS(rd("V\\u12\n."), FormatError);
  CHECK_THROWS_AS(rd("V\\ud800\n."), FormatError);
  CHECK(rd("(I1\nI2\nl.").items().size() == 2);
  CHECK(rd("(I1\nI2\nt.").kind() == Value::Kind::Tuple);
  CHECK(rd("(Va\nI1\nd.").as_dict().find("a")->as_int() == 1);
  CHECK(rd("(lp0\nI5\na.").items().size() == 1);
  CHECK_THROWS_WITH(rd("(lp0\nI5\nag0\n."), Catch::Contains("STOP with 2 items"));
  CHECK(rd("(dp0\nVk\np1\nI3\ns.").as_dict().find("k")->as_int() == 3);
  CHECK(rd("N.").is_none());
}

TEST_CASE("binary opcodes of protocols 1-5") {
  auto rd = [](const PB& p) { return read_torch(p.s); };
  CHECK(rd(PB().proto().op('J').u32(0xfffffffe).stop()).as_int() == -2);
  CHECK(rd(PB().proto().op('M').u16(0xbeef).stop()).as_int() == 0xbeef);
  CHECK(rd(PB().proto().op(0x8a).op(0).stop()).as_int() == 0);
  CHECK(rd(PB().proto().op(0x8a).op(1).op(0x80).stop()).as_int() == -128);
  CHECK(rd(PB().proto().op(0x8a).op(9).u64(5).op(0).stop()).as_int() == 5);                      // 9 bytes, fits
  CHECK(rd(PB().proto().op(0x8a).op(9).u64(UINT64_MAX).op(0).stop()).as_string() == "18446744073709551615");
  CHECK(rd(PB().proto().op(0x8a).op(9).u64(0).op(0xff).stop()).as_string() == "-18446744073709551616");
  CHECK(rd(PB().proto().op(0x8b).u32(2).op(0x34).op(0x12).stop()).as_int() == 0x1234);
  CHECK_THROWS_WITH(rd(PB().proto().op(0x8b).u32(1u << 20).stop()), Catch::Contains("exceeds the limit"));
  CHECK_THROWS_AS(rd(PB().proto().op(0x8b).u32(0x80000000u).stop()), FormatError);
  CHECK(rd(PB().proto().op('T').u32(3).raw("abc").stop()).as_string() == "abc");
  CHECK(rd(PB().proto().op('U').op(2).raw("hi").stop()).as_string() == "hi");
  CHECK_THROWS_AS(rd(PB().proto().op('U').op(1).raw("\xff").stop()), FormatError);  // not UTF-8
  CHECK(rd(PB().proto(4).op(0x8c).op(2).raw("ok").stop()).as_string() == "ok");
  CHECK(rd(PB().proto(4).op(0x8d).u64(1).raw("z").stop()).as_string() == "z");
  CHECK(rd(PB().proto(3).op('B').u32(2).raw(std::string("\x00\x01", 2)).stop()).kind() == Value::Kind::Bytes);
  CHECK(rd(PB().proto(3).op('C').op(1).raw("\xff").stop()).as_string() == "\xff");
  CHECK(rd(PB().proto(4).op(0x8e).u64(1).raw("q").stop()).as_string() == "q");
  CHECK(rd(PB().proto(5).op(0x96).u64(2).raw("ba").stop()).kind() == Value::Kind::Bytes);
  CHECK(rd(PB().proto(4).op(0x95).u64(3).op(']').op(0x94).op('.')).kind() == Value::Kind::List);
  CHECK_THROWS_WITH(rd(PB().proto(4).op(0x95).u64(1000).op('N').stop()), Catch::Contains("truncated"));
  CHECK(rd(PB().proto().k(1).k(2).k(3).op(0x87).stop()).items().size() == 3);
  CHECK(rd(PB().proto().k(1).op(0x85).stop()).items().size() == 1);
  CHECK(rd(PB().proto().op(']').mark().k(1).k(2).op('e').stop()).items().size() == 2);
  CHECK(rd(PB().proto().op(']').k(1).op('a').stop()).items().size() == 1);
  CHECK(rd(PB().proto().k(1).op('2').op(0x86).stop()).items()[1].as_int() == 1);         // DUP
  CHECK(rd(PB().proto().k(1).k(2).op('0').stop()).as_int() == 1);                        // POP
  CHECK(rd(PB().proto().k(1).mark().k(2).k(3).op('1').stop()).as_int() == 1);            // POP_MARK
  CHECK(rd(PB().proto().k(1).mark().op('0').stop()).as_int() == 1);                      // POP of a mark
  CHECK(rd(PB().proto().op(0x88).stop()).as_bool());
  CHECK_FALSE(rd(PB().proto().op(0x89).stop()).as_bool());
  CHECK(rd(PB().proto().op('G').raw(std::string("\xc0\x04\x00\x00\x00\x00\x00\x00", 8)).stop()).as_number() == -2.5);
  // MEMOIZE numbers entries by memo size; STACK_GLOBAL reads module and name strings.
  Value v = rd(PB().proto(4).op(0x8c).op(11).raw("collections").op(0x94).op(0x8c).op(11).raw("OrderedDict").op(0x94)
                   .op(0x93).op(')').op('R').op(0x94).op('h').op(1).op(0x86).stop());
  REQUIRE(v.items().size() == 2);
  CHECK(v.items()[0].as_dict().ordered);
  CHECK(v.items()[1].as_string() == "OrderedDict");
}

TEST_CASE("large dicts replace equal keys; memo keys may come in any order") {
  PB p;
  p.proto().op('}').mark();
  for (int i = 0; i < 40; ++i) p.str("k" + std::to_string(i)).k(uint8_t(i));
  p.op('u').mark().str("k5").k(100).str("k39").k(101).k(7).k(102).op(0x88).k(103).k(1).k(104).op('u').stop();
  Value d = read_torch(p.s);
  REQUIRE(d.as_dict().items.size() == 42);  // 40 strings, then 7 and True (1 == True)
  CHECK(d.as_dict().find("k5")->as_int() == 100);
  CHECK(d.as_dict().find("k39")->as_int() == 101);
  CHECK(d.as_dict().find("k6")->as_int() == 6);
  CHECK(d.as_dict().items[41].first.as_bool());
  CHECK(d.as_dict().items[41].second.as_int() == 104);
  // BINPUT 3, 1, 0, then MEMOIZE numbers the next entry by memo size (3), LONG_BINPUT far away.
  Value m = read_torch(PB().proto().k(30).put(3).k(10).put(1).k(0).put(0).k(33).op(0x94).k(44).op('r').u32(4000000000u)
                           .op('0').op('0').op('0').op('0').op('0')
                           .mark().get(0).get(1).get(3).op('j').u32(4000000000u).op('t').stop().s);
  REQUIRE(m.items().size() == 4);
  CHECK(m.items()[0].as_int() == 0);
  CHECK(m.items()[1].as_int() == 10);
  CHECK(m.items()[2].as_int() == 33);  // MEMOIZE overwrote key 3 (memo size was 3)
  CHECK(m.items()[3].as_int() == 44);
  CHECK_THROWS_WITH(read_torch(PB().proto().k(1).put(1).get(0).stop().s), Catch::Contains("memo key 0 not set"));
}

TEST_CASE("consumed reports the end of the first pickle") {
  std::string two = PB().proto().k(5).stop().proto().k(6).stop().s;
  auto hooks = no_storage_hooks();
  size_t used = 0;
  Value first = unpickle(view(two), hooks, {}, &used);
  CHECK(first.as_int() == 5);
  REQUIRE(used == 5);
  Value second = unpickle(ByteView(two.data() + used, two.size() - used), hooks, {}, &used);
  CHECK(second.as_int() == 6);
  CHECK(used == 5);
}

TEST_CASE("dict keys follow Python: equal numbers merge, unhashable keys refused") {
  Value d = read_torch(PB().proto().op('}').mark().k(1).str("int").op(0x88).str("bool").op('G')
                           .raw(std::string("\x3f\xf0\x00\x00\x00\x00\x00\x00", 8)).str("float").op('u').stop().s);
  REQUIRE(d.as_dict().items.size() == 1);
  CHECK(d.as_dict().items[0].first.is_int());  // the first key object is kept
  CHECK(d.as_dict().items[0].second.as_string() == "float");
  Value t = read_torch(PB().proto().op('}').mark().k(1).str("a").op(0x86).k(8).k(1).str("a").op(0x86).k(9).op('u').stop().s);
  REQUIRE(t.as_dict().items.size() == 1);
  CHECK(t.as_dict().items[0].second.as_int() == 9);
  Value u = read_torch(PB().proto().op('}').k(1).str("a").op(0x86).k(1).op('s').k(1).str("a").op(0x86).k(2).op('s').stop().s);
  REQUIRE(u.as_dict().items.size() == 1);
  CHECK(u.as_dict().items[0].second.as_int() == 2);
  // Big int and float that are the same number.
  Value b = read_torch(PB().proto().op('}').op(0x8a).op(9).u64(0).op(1).k(1).op('s')
                           .op('G').raw(std::string("\x43\xf0\x00\x00\x00\x00\x00\x00", 8)).k(2).op('s').stop().s);
  REQUIRE(b.as_dict().items.size() == 1);
  CHECK(b.as_dict().items[0].second.as_int() == 2);
  CHECK(read_torch(PB().proto().op('}').str("a").k(1).op('s').str("b").k(1).op('s').stop().s).as_dict().items.size() == 2);
  CHECK_THROWS_WITH(read_torch(PB().proto().op('}').op(']').k(1).op('s').stop().s), Catch::Contains("unhashable"));
  CHECK_THROWS_WITH(read_torch(PB().proto().op('}').op('}').k(1).op('s').stop().s), Catch::Contains("unhashable"));
  CHECK_THROWS_WITH(read_torch(PB().proto().op('}').op(']').op(0x85).k(1).op('s').stop().s), Catch::Contains("unhashable"));
  CHECK_THROWS_AS(read_torch(PB().proto().op('}').mark().k(1).op('u').stop().s), FormatError);  // odd
  CHECK_THROWS_WITH(read_torch(PB().proto().op(']').k(1).k(2).op('s').stop().s), Catch::Contains("non-dict"));
  CHECK_THROWS_WITH(read_torch(PB().proto().op('}').mark().k(1).op('e').stop().s), Catch::Contains("non-list"));
  CHECK_THROWS_WITH(read_torch(PB().proto().op(')').k(1).op('a').stop().s), Catch::Contains("non-list"));
}

// =======================================================================================
// Hostile input

TEST_CASE("refused globals are named, by GLOBAL and by STACK_GLOBAL") {
  const std::pair<const char*, const char*> bad[] = {
      {"os", "system"},         {"builtins", "eval"},         {"subprocess", "Popen"},
      {"posix", "system"},      {"__builtin__", "eval"},      {"torch", "load"},
      {"torch._utils", "_rebuild_tensor_v2x"}, {"collections", "OrderedDictX"}, {"torch", "FloatStorageX"},
      {"torch.nn", "Module"},   {"torch", "float8_e4m3fn"},   {"collections.x", "OrderedDict"},
      {"torch.jit._pickle", "restore_type_tag"}, {"builtins", "getattr"}};
  for (auto [m, n] : bad) {
    std::string name = std::string("'") + m + "." + n + "'";
    INFO(name);
    std::string p1 = PB().proto().global(m, n).op(')').op('R').stop().s;
    CHECK_THROWS_AS(read_torch(p1), UnsafeError);
    CHECK_THROWS_WITH(read_torch(p1), "refused global " + name);
    std::string p2 = PB().proto(4).op(0x8c).op(int(std::strlen(m))).raw(m).op(0x8c).op(int(std::strlen(n))).raw(n)
                         .op(0x93).op(')').op('R').stop().s;
    CHECK_THROWS_AS(read_torch(p2), UnsafeError);
    CHECK_THROWS_WITH(read_torch(p2), "refused global " + name);
  }
  // Control characters in the name are escaped in the message.
  CHECK_THROWS_WITH(read_torch(PB().proto(4).op(0x8c).op(3).raw("a\rb").op(0x8c).op(1).raw("c").op(0x93).stop().s),
                    "refused global 'a\\x0db.c'");
}

TEST_CASE("allowed globals resolve; non-callables refuse REDUCE") {
  for (const char* n : {"float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long", "int32",
                        "int", "int16", "short", "int8", "uint8", "bool", "complex64", "cfloat", "complex128", "cdouble",
                        "FloatStorage", "BFloat16Storage", "BoolStorage", "ComplexDoubleStorage", "UntypedStorage", "Size"}) {
    INFO(n);
    Value g = read_torch(PB().proto().global("torch", n).stop().s);
    CHECK(g.kind() == Value::Kind::Global);
  }
  CHECK_NOTHROW(read_torch(PB().proto().global("torch.storage", "UntypedStorage").stop().s));
  CHECK_THROWS_AS(read_torch(PB().proto().global("torch.storage", "FloatStorage").stop().s), UnsafeError);
  CHECK_THROWS_AS(read_torch(PB().proto().global("torch", "float32").op(')').op('R').stop().s), UnsafeError);
  CHECK_THROWS_AS(read_torch(PB().proto().global("torch", "FloatStorage").k(3).op(0x85).op('R').stop().s), UnsafeError);
  CHECK_THROWS_AS(read_torch(PB().proto().k(1).op(')').op('R').stop().s), UnsafeError);  // an int is not callable
  CHECK_THROWS_AS(read_torch(PB().proto().global("collections", "OrderedDict").k(1).op('R').stop().s), FormatError);
  // NEWOBJ goes through the same allow-list.
  CHECK(read_torch(PB().proto().global("collections", "OrderedDict").op(')').op(0x81).stop().s).as_dict().ordered);
  CHECK_THROWS_AS(read_torch(PB().proto().global("torch", "float32").op(')').op(0x81).stop().s), UnsafeError);
  CHECK(read_torch(PB().proto(4).global("collections", "OrderedDict").op(')').op('}').op(0x92).stop().s).is_dict());
  CHECK_THROWS_AS(read_torch(PB().proto(4).global("collections", "OrderedDict").op(')').op('}').str("k").k(1).op('s')
                                 .op(0x92).stop().s),
                  FormatError);
}

TEST_CASE("torch rebuild functions check their arguments") {
  auto pid = [](PB& p, const char* cls = "FloatStorage", int numel = 6) {
    p.mark().str("storage").global("torch", cls).str("0").str("cpu").k(uint8_t(numel)).op('t').op('Q');
  };
  auto od = [](PB& p) { p.global("collections", "OrderedDict").op(')').op('R'); };
  // A well-formed call, with overrides for one argument at a time.
  auto tensor = [&](int variant) {
    PB p;
    p.proto().global("torch._utils", "_rebuild_tensor_v2").mark();
    if (variant == 1) p.k(0); else pid(p);                                  // storage
    if (variant == 2) p.op('J').u32(0xffffffff); else p.k(0);               // offset
    if (variant == 3) p.k(2).op('M').u16(0xffff).op('J').u32(0xffffffff).op(0x87);  // size with -1
    else if (variant == 4) p.op(']').k(2).op('a');                          // size as list
    else p.k(2).k(3).op(0x86);
    if (variant == 5) p.k(1).op(0x85); else p.k(3).k(1).op(0x86);           // stride length
    if (variant == 6) p.k(0); else p.op(0x89);                              // requires_grad
    if (variant == 7) p.op('N');
    else if (variant == 8) p.op('}').str("h").k(1).op('s');
    else od(p);                                                             // hooks
    if (variant == 9) p.k(1);                                               // metadata not a dict
    if (variant == 10) p.op('}');                                           // metadata ok
    if (variant == 11) p.op('}').op('N');                                   // 8 args
    p.op('t').op('R').stop();
    return p.s;
  };
  Value ok = read_torch(tensor(0));
  REQUIRE(ok.is_tensor());
  CHECK(ok.as_tensor()->dtype == DType::Float32);
  CHECK(ok.as_tensor()->shape == std::vector<int64_t>{2, 3});
  CHECK(read_torch(tensor(10)).is_tensor());
  for (int v = 1; v <= 11; ++v) {
    if (v == 10) continue;
    INFO("variant " << v);
    CHECK_THROWS_AS(read_torch(tensor(v)), FormatError);
  }
  // More than 64 dims.
  {
    PB p;
    p.proto().global("torch._utils", "_rebuild_tensor_v2").mark();
    pid(p);
    p.k(0).mark();
    for (int i = 0; i < 65; ++i) p.k(1);
    p.op('t').mark();
    for (int i = 0; i < 65; ++i) p.k(1);
    p.op('t').op(0x89);
    od(p);
    p.op('t').op('R').stop();
    CHECK_THROWS_WITH(read_torch(p.s), Catch::Contains("dimensions"));
  }
  // Overflowing sizes.
  {
    PB p;
    p.proto().global("torch._utils", "_rebuild_tensor_v2").mark();
    pid(p);
    p.k(0).op(0x8a).op(8).u64(uint64_t(1) << 62).op(0x8a).op(8).u64(uint64_t(1) << 62).op(0x86).k(1).k(1).op(0x86).op(0x89);
    od(p);
    p.op('t').op('R').stop();
    CHECK_THROWS_WITH(read_torch(p.s), Catch::Contains("overflows"));
  }
  // v3 takes its dtype from the last argument.
  {
    PB p;
    p.proto().global("torch._utils", "_rebuild_tensor_v3").mark();
    pid(p, "UntypedStorage", 24);
    p.k(0).k(6).op(0x85).k(1).op(0x85).op(0x89);
    od(p);
    p.global("torch", "float32").op('t').op('R').stop();
    TorchPickleHooks hooks([&](const Value& v) {
      Value s = Value::storage(std::make_shared<Storage>());
      s.as_storage()->dtype = DType::UInt8;
      s.as_storage()->numel = v.items()[4].as_int();
      return s;
    });
    Value t = unpickle(view(p.s), hooks);
    REQUIRE(t.is_tensor());
    CHECK(t.as_tensor()->dtype == DType::Float32);
    CHECK(t.as_tensor()->shape == std::vector<int64_t>{6});
    std::string bad = p.s;
    bad.replace(bad.find("float32"), 7, "floatXX");
    CHECK_THROWS_AS(unpickle(view(bad), hooks), UnsafeError);
  }
  // Parameters.
  auto param = [&](const char* fn, int extra) {
    PB p;
    p.proto().global("torch._utils", fn).mark();
    p.s += tensor(0).substr(2, tensor(0).size() - 3);  // the tensor, without PROTO and STOP
    p.op(0x88);
    od(p);
    if (extra == 1) p.op('N');
    if (extra == 2) p.op('}').op(')').op(0x86);  // ({}, ()) : slots not a dict
    if (extra == 3) p.op('}').str("x").k(1).op('s');
    if (extra == 4) p.op('}').op('N').op(0x86);
    p.op('t').op('R').stop();
    return p.s;
  };
  Value prm = read_torch(param("_rebuild_parameter", 0));
  REQUIRE(prm.is_tensor());
  CHECK(prm.as_tensor()->is_parameter);
  CHECK(prm.as_tensor()->requires_grad);
  CHECK(read_torch(param("_rebuild_parameter_with_state", 1)).as_tensor()->is_parameter);
  CHECK(read_torch(param("_rebuild_parameter_with_state", 4)).as_tensor()->is_parameter);
  CHECK_THROWS_AS(read_torch(param("_rebuild_parameter_with_state", 2)), FormatError);
  CHECK_THROWS_AS(read_torch(param("_rebuild_parameter_with_state", 3)), FormatError);
  CHECK_THROWS_AS(read_torch(param("_rebuild_parameter", 1)), FormatError);  // arity
  // torch.Size, _codecs.encode, bytes(), OrderedDict from pairs.
  Value size = read_torch(PB().proto().global("torch", "Size").k(2).k(3).op(0x86).op(0x85).op('R').stop().s);
  CHECK(size.kind() == Value::Kind::Tuple);
  CHECK(size.items().size() == 2);
  CHECK_THROWS_AS(read_torch(PB().proto().global("torch", "Size").str("x").op(0x85).op(0x85).op('R').stop().s), FormatError);
  CHECK(read_torch(PB().proto().global("_codecs", "encode").str("\xc3\xbf" "a").str("latin-1").op(0x86).op('R').stop().s)
            .as_string() == "\xff" "a");
  CHECK_THROWS_AS(read_torch(PB().proto().global("_codecs", "encode").str("\xc4\x80").str("latin1").op(0x86).op('R').stop().s),
                  FormatError);
  CHECK_THROWS_AS(read_torch(PB().proto().global("_codecs", "encode").str("a").str("utf-8").op(0x86).op('R').stop().s),
                  FormatError);
  CHECK(read_torch(PB().proto().global("__builtin__", "bytes").op(')').op('R').stop().s).kind() == Value::Kind::Bytes);
  CHECK_THROWS_AS(read_torch(PB().proto().global("builtins", "bytes").k(3).op(0x85).op('R').stop().s), FormatError);
  Value pairs = read_torch(PB().proto().global("collections", "OrderedDict").op(']').mark()
                               .str("b").k(1).op(0x86).str("a").k(2).op(0x86).str("b").k(3).op(0x86).op('e').op(0x85).op('R').stop().s);
  REQUIRE(pairs.as_dict().items.size() == 2);
  CHECK(pairs.as_dict().items[0].first.as_string() == "b");
  CHECK(pairs.as_dict().items[0].second.as_int() == 3);
}

TEST_CASE("BUILD: only OrderedDict _metadata (and empty tensor state)") {
  auto od = [](PB& p) { p.global("collections", "OrderedDict").op(')').op('R'); };
  {
    PB p;
    p.proto();
    od(p);
    p.op('}').str("_metadata").k(4).op('s').op('b').stop();
    Value v = read_torch(p.s);
    REQUIRE(v.as_dict().metadata);
    CHECK(v.as_dict().metadata->as_int() == 4);
  }
  {
    PB p;  // a (state, slots) pair with no slots
    p.proto();
    od(p);
    p.op('}').str("_metadata").k(4).op('s').op('N').op(0x86).op('b').stop();
    CHECK(read_torch(p.s).as_dict().metadata->as_int() == 4);
  }
  {
    PB p;
    p.proto();
    od(p);
    p.op('}').str("_other").k(4).op('s').op('b').stop();
    CHECK_THROWS_WITH(read_torch(p.s), Catch::Contains("_metadata"));
  }
  CHECK_THROWS_WITH(read_torch(PB().proto().op('}').op('}').str("_metadata").k(1).op('s').op('b').stop().s),
                    Catch::Contains("BUILD on dict is not allowed"));
  CHECK_THROWS_WITH(read_torch(PB().proto().op(']').op('}').op('b').stop().s), Catch::Contains("BUILD on list is not allowed"));
  CHECK_THROWS_WITH(read_torch(PB().proto().global("torch", "float32").op('}').op('b').stop().s),
                    Catch::Contains("BUILD on global is not allowed"));
  CHECK_THROWS_WITH(read_torch(PB().proto().k(1).op('}').op('b').stop().s), Catch::Contains("BUILD on int"));
}

TEST_CASE("unsupported opcodes are named with their offset") {
  for (int op : {int('i'), int('o'), 0x82, 0x83, 0x84, 0x97, 0x98, 0xff, 0x00, int('z')}) {
    std::string p = PB().proto().op(op).stop().s;
    char buf[64];
    std::snprintf(buf, sizeof buf, "unsupported pickle opcode 0x%02x at offset 2", op);
    CHECK_THROWS_WITH(read_torch(p), buf);
  }
  for (int op : {0x8f, 0x90, 0x91}) CHECK_THROWS_WITH(read_torch(PB().proto(4).op(op).stop().s), Catch::Contains("sets"));
  CHECK_THROWS_WITH(read_torch(PB().proto(6).stop().s), Catch::Contains("protocol 6"));
}

TEST_CASE("stack, mark and memo misuse") {
  CHECK_THROWS_WITH(read_torch(PB().proto().op('a').stop().s), "pickle stack underflow at offset 2");
  CHECK_THROWS_WITH(read_torch(PB().proto().op(0x86).stop().s), Catch::Contains("underflow"));
  CHECK_THROWS_WITH(read_torch(PB().proto().op('0').stop().s), Catch::Contains("underflow"));
  CHECK_THROWS_WITH(read_torch(PB().proto().stop().s), Catch::Contains("STOP with 0 items"));
  CHECK_THROWS_WITH(read_torch(PB().proto().k(1).k(2).stop().s), Catch::Contains("STOP with 2 items"));
  CHECK_THROWS_WITH(read_torch(PB().proto().k(1).mark().stop().s), Catch::Contains("MARK"));
  // Items below a MARK are out of reach until the mark is consumed.
  CHECK_THROWS_WITH(read_torch(PB().proto().op(']').mark().op('a').stop().s), Catch::Contains("underflow"));
  CHECK_THROWS_WITH(read_torch(PB().proto().op(']').k(1).op('e').stop().s), Catch::Contains("MARK missing"));
  CHECK_THROWS_WITH(read_torch(PB().proto().op('t').stop().s), Catch::Contains("MARK missing"));
  CHECK_THROWS_WITH(read_torch(PB().proto().get(7).stop().s), "memo key 7 not set at offset 2");
  CHECK_THROWS_WITH(read_torch(PB().proto().op('j').u32(123456).stop().s), Catch::Contains("memo key 123456 not set"));
  CHECK_THROWS_WITH(read_torch(PB().raw("g5\n.").s), Catch::Contains("memo key 5 not set"));
  CHECK_THROWS_AS(read_torch(PB().raw("I1\np-1\n.").s), FormatError);
  CHECK_THROWS_WITH(read_torch(PB().proto().put(0).stop().s), Catch::Contains("underflow"));
  CHECK_THROWS_WITH(read_torch(PB().proto().k(1).op(0x51).stop().s), Catch::Contains("bad pid"));
  CHECK_THROWS_WITH(read_torch(std::string()), Catch::Contains("truncated pickle at offset 0"));
  CHECK_THROWS_WITH(read_torch(PB().proto().k(1).s), Catch::Contains("truncated pickle at offset 4"));
}

TEST_CASE("limits: string length, depth, pickle size") {
  CHECK_THROWS_WITH(read_torch(PB().proto().op('X').u32(0xffffffff).stop().s), Catch::Contains("exceeds the limit"));
  CHECK_THROWS_WITH(read_torch(PB().proto().op('X').u32(1000).raw("abc").stop().s), Catch::Contains("truncated"));
  CHECK_THROWS_WITH(read_torch(PB().proto(4).op(0x8d).u64(UINT64_MAX).stop().s), Catch::Contains("exceeds the limit"));
  CHECK_THROWS_WITH(read_torch(PB().proto(4).op(0x8e).u64(UINT64_MAX - 3).stop().s), Catch::Contains("exceeds the limit"));
  PickleLimits small;
  small.max_string_bytes = 4;
  small.max_depth = 3;
  small.max_pickle_bytes = 64;
  CHECK_NOTHROW(read_torch(PB().proto().str("abcd").stop().s, small));
  CHECK_THROWS_WITH(read_torch(PB().proto().str("abcde").stop().s, small), Catch::Contains("exceeds the limit of 4"));
  CHECK_THROWS_WITH(read_torch(PB().raw("Vabcde\n.").s, small), Catch::Contains("exceeds the limit of 4"));
  CHECK_NOTHROW(read_torch(PB().proto().op(']').op(']').op(']').op('a').op('a').stop().s, small));
  CHECK_THROWS_WITH(read_torch(PB().proto().op(']').op(']').op(']').op(']').op('a').op('a').op('a').stop().s, small),
                    Catch::Contains("deeper than 3"));
  CHECK_THROWS_WITH(read_torch(PB().proto().mark().mark().mark().mark().stop().s, small), Catch::Contains("MARK nesting"));
  CHECK_THROWS_WITH(read_torch(std::string(65, 'N'), small), Catch::Contains("exceeds the limit of 64"));
  // "Unlimited" settings do not overflow into tiny limits.
  PickleLimits open;
  open.max_pickle_bytes = open.max_string_bytes = UINT64_MAX;
  open.memory_per_byte = open.memory_floor = open.nodes_per_byte = open.nodes_floor = UINT64_MAX;
  open.probes_per_byte = open.probes_floor = UINT64_MAX;
  open.max_depth = UINT32_MAX;
  CHECK(read_torch(write(sample_checkpoint()).bytes, open).is_dict());
}

TEST_CASE("deep nesting is refused by limits, without crashing") {
  const int n = 100000;
  PB lists;
  lists.proto();
  for (int i = 0; i < n; ++i) lists.op(']');
  for (int i = 0; i < n - 1; ++i) lists.op('a');
  lists.stop();
  CHECK_THROWS_WITH(read_torch(lists.s), Catch::Contains("nesting deeper than 500"));
  PB lists2;  // the same with memo copies kept alive and never finished
  lists2.proto();
  for (int i = 0; i < n; ++i) lists2.op(']').op(0x94);
  for (int i = 0; i < n - 1; ++i) lists2.op('a');
  CHECK_THROWS_WITH(read_torch(lists2.s), Catch::Contains("truncated"));
  PB marks;
  marks.proto();
  for (int i = 0; i < n; ++i) marks.mark();
  marks.stop();
  CHECK_THROWS_WITH(read_torch(marks.s), Catch::Contains("MARK nesting deeper than 500"));
  PB tuples;  // ((((...)))) via TUPLE1
  tuples.proto().op(')');
  for (int i = 0; i < n; ++i) tuples.op(0x85);
  tuples.stop();
  CHECK_THROWS_WITH(read_torch(tuples.s), Catch::Contains("nesting deeper"));
  // Within the limit is fine.
  PB ok;
  ok.proto();
  for (int i = 0; i < 400; ++i) ok.op(']');
  for (int i = 0; i < 399; ++i) ok.op('a');
  ok.stop();
  CHECK(read_torch(ok.s).is_container());
}

TEST_CASE("self-containing structures are refused") {
  // l = []; l.append(l)
  CHECK_THROWS_WITH(read_torch(PB().proto().op(']').put(0).get(0).op('a').stop().s), Catch::Contains("recursive structure"));
  // a = []; b = [a]; a.append(b)
  CHECK_THROWS_WITH(read_torch(PB().proto().op(']').put(0).op(']').get(0).op('a').op('a').stop().s),
                    Catch::Contains("recursive structure"));
  // d = {}; d['x'] = [d]
  CHECK_THROWS_WITH(read_torch(PB().proto().op('}').put(0).str("x").op(']').get(0).op('a').op('s').stop().s),
                    Catch::Contains("recursive structure"));
  // t = ([],); t[0].append(t)
  CHECK_THROWS_WITH(read_torch(PB().proto().op(']').put(0).op(0x85).put(1).get(0).get(1).op('a').op('0').stop().s),
                    Catch::Contains("recursive structure"));
  // OrderedDict whose _metadata holds the dict itself.
  {
    PB p;
    p.proto().global("collections", "OrderedDict").op(')').op('R').put(0).op('}').str("_metadata").get(0).op('s').op('b').stop();
    CHECK_THROWS_WITH(read_torch(p.s), Catch::Contains("recursive structure"));
  }
  // A cycle that is not part of the result is dropped (and must not leak: see ASan/LSan).
  CHECK(read_torch(PB().proto().op(']').put(0).get(0).op('a').op('0').k(3).stop().s).as_int() == 3);
}

TEST_CASE("shared sub-trees that would expand exponentially are refused") {
  // x0 = []; x_{i+1} = [x_i, x_i]
  PB p;
  p.proto().op(']').op('r').u32(0).op('0');
  for (uint32_t i = 0; i < 200; ++i) p.op(']').mark().op('j').u32(i).op('j').u32(i).op('e').op('r').u32(i + 1).op('0');
  p.op('j').u32(200).stop();
  CHECK_THROWS_WITH(read_torch(p.s), Catch::Contains("nodes"));
  // A modest DAG is fine and stays shared.
  PickleLimits lim;
  lim.nodes_per_byte = 0;
  lim.nodes_floor = 1000;
  PB q;
  q.proto().op(']').op('r').u32(0).op('0');
  for (uint32_t i = 0; i < 5; ++i) q.op(']').mark().op('j').u32(i).op('j').u32(i).op('e').op('r').u32(i + 1).op('0');
  q.op('j').u32(5).stop();
  Value v = read_torch(q.s, lim);
  CHECK(v.items()[0].identity() == v.items()[1].identity());
  lim.nodes_floor = 62;  // 2^6 - 1 = 63 nodes in a tree walk
  CHECK_THROWS_WITH(read_torch(q.s, lim), Catch::Contains("nodes"));
  lim.nodes_floor = 63;
  CHECK_NOTHROW(read_torch(q.s, lim));
}

TEST_CASE("every truncation of a valid pickle throws, never crashes") {
  Written w = write(sample_checkpoint());
  REQUIRE_NOTHROW(read_back(w));
  for (size_t n = 0; n < w.bytes.size(); ++n) {
    INFO("prefix " << n);
    CHECK_THROWS_AS(read_torch(w.bytes.substr(0, n)), Error);
  }
}

TEST_CASE("random mutations of a valid pickle succeed or throw pth::Error") {
  const std::string base = write(sample_checkpoint()).bytes;
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto rnd = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int ok = 0, refused = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string s = base;
    int edits = 1 + int(rnd() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = size_t(rnd() % s.size());
      switch (rnd() % 5) {
        case 0: s[pos] = char(rnd()); break;
        case 1: s[pos] = char(uint8_t(s[pos]) ^ (1u << (rnd() % 8))); break;
        case 2: s.insert(pos, 1, char(rnd())); break;
        case 3: if (s.size() > 1) s.erase(pos, 1); break;
        case 4: {  // an interesting byte: a length field or an opcode
          static const uint8_t picks[] = {0xff, 0x7f, 0x80, 0x00, '(', 'e', 'u', 'a', 's', 'h', 'q', 'R', 'b', '0', '1', '2'};
          s[pos] = char(picks[rnd() % sizeof picks]);
          break;
        }
      }
    }
    try {
      read_torch(s);
      ++ok;
    } catch (const Error&) {
      ++refused;
    }
  }
  CHECK(ok > 0);          // some edits keep the pickle valid (a digit, a flag)
  CHECK(refused > 1000);  // most are caught
}

// =======================================================================================
// Real Python pickles

namespace {

// A minimal hooks object: OrderedDict, _codecs.encode and bytes() only.
class StubHooks : public PickleHooks {
 public:
  int globals = 0;
  Value find_global(const std::string& module, const std::string& name) override {
    ++globals;
    if ((module == "collections" && name == "OrderedDict") || (module == "_codecs" && name == "encode") ||
        ((module == "__builtin__" || module == "builtins") && name == "bytes"))
      return Value::global(module, name);
    throw UnsafeError("refused global '" + module + "." + name + "'");
  }
  Value reduce(const Value& callable, const Value& args) override {
    const std::string& n = callable.as_global().name;
    if (n == "OrderedDict" && args.items().empty()) return Value::dict(true);
    if (n == "bytes" && args.items().empty()) return Value::bytes("");
    if (n == "encode") {
      // latin-1 text back to bytes
      const std::string& s = args.items()[0].as_string();
      std::string out;
      for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = uint8_t(s[i]);
        if (c < 0x80) {
          out += char(c);
        } else {
          out += char(((c & 0x1f) << 6) | (uint8_t(s[i + 1]) & 0x3f));
          ++i;
        }
      }
      return Value::bytes(out);
    }
    throw UnsafeError("refused call");
  }
  void build(Value&, const Value&) override { throw FormatError("no BUILD"); }
  Value persistent_load(const Value&) override { throw FormatError("no persistent ids"); }
};

const char* kPythonObjects = R"PY(
import pickle, collections, sys
d = sys.argv[1]
L = [7]
for P in range(6):
    obj = {
        'int': 1, 'neg': -5, 'i16': 40000, 'i32': -70000, 'i64max': 2**63 - 1, 'i64min': -2**63,
        'big': 2**70, 'nbig': -2**64 - 1,
        'f': 1.5, 'nan': float('nan'), 'inf': float('inf'), 'ninf': float('-inf'), 'nz': -0.0,
        's': 'h\xe9llo \\ \n \r \x1a \u65e5\u672c \U0001f600', 'e': '',
        'b': bytes(range(256)), 'eb': b'',
        'l': [1, [2, 3], ()], 't': (1, 'a', None, True, False),
        'd': {1: 'x', (1, 2): 'y', None: 'z'},
        'od': collections.OrderedDict([('a', 1), ('b', 2)]),
        'shared': [L, L],
        'long_list': list(range(2500)),
        'big_dict': {str(i): i for i in range(1500)},
    }
    if P == 5:
        obj['ba'] = bytearray(b'xyz')
    with open(d + '/p%d.pkl' % P, 'wb') as f:
        f.write(pickle.dumps(obj, protocol=P))
)PY";

void check_python_object(const Value& o, int protocol) {
  INFO("protocol " << protocol);
  REQUIRE(o.is_dict());
  CHECK(at(o, "int").as_int() == 1);
  CHECK(at(o, "neg").as_int() == -5);
  CHECK(at(o, "i16").as_int() == 40000);
  CHECK(at(o, "i32").as_int() == -70000);
  CHECK(at(o, "i64max").as_int() == INT64_MAX);
  CHECK(at(o, "i64min").as_int() == INT64_MIN);
  CHECK(at(o, "big").as_string() == "1180591620717411303424");
  CHECK(at(o, "nbig").as_string() == "-18446744073709551617");
  CHECK(at(o, "f").as_number() == 1.5);
  CHECK(std::isnan(at(o, "nan").as_number()));
  CHECK(at(o, "inf").as_number() == std::numeric_limits<double>::infinity());
  CHECK(at(o, "ninf").as_number() == -std::numeric_limits<double>::infinity());
  CHECK(std::signbit(at(o, "nz").as_number()));
  CHECK(at(o, "s").as_string() == "h\xc3\xa9llo \\ \n \r \x1a \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
  CHECK(at(o, "e").as_string().empty());
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  CHECK(at(o, "b").kind() == Value::Kind::Bytes);
  CHECK(at(o, "b").as_string() == all);
  CHECK(at(o, "eb").as_string().empty());
  const Value& l = at(o, "l");
  REQUIRE(l.kind() == Value::Kind::List);
  CHECK(l.items()[1].items()[1].as_int() == 3);
  CHECK(l.items()[2].kind() == Value::Kind::Tuple);
  const Value& t = at(o, "t");
  REQUIRE(t.kind() == Value::Kind::Tuple);
  CHECK(t.items()[1].as_string() == "a");
  CHECK(t.items()[2].is_none());
  CHECK(t.items()[3].as_bool());
  CHECK_FALSE(t.items()[4].as_bool());
  const Dict& d = at(o, "d").as_dict();
  REQUIRE(d.items.size() == 3);
  CHECK(d.items[0].first.as_int() == 1);
  CHECK(d.items[1].first.kind() == Value::Kind::Tuple);
  CHECK(d.items[2].first.is_none());
  const Dict& od = at(o, "od").as_dict();
  CHECK(od.ordered);
  REQUIRE(od.items.size() == 2);
  CHECK(od.items[1].second.as_int() == 2);
  const Value& sh = at(o, "shared");
  CHECK(sh.items()[0].identity() == sh.items()[1].identity());
  CHECK(at(o, "long_list").items().size() == 2500);
  CHECK(at(o, "long_list").items()[2499].as_int() == 2499);
  CHECK(at(o, "big_dict").as_dict().items.size() == 1500);
  if (protocol == 5) CHECK(at(o, "ba").as_string() == "xyz");
}

}  // namespace

TEST_CASE("pickles written by Python, protocols 0 to 5") {
  if (!python3_or_skip()) return;
  TempDir dir;
  write_file(dir.file("gen.py"), kPythonObjects);
  std::string out;
  REQUIRE(run_python(dir.file("gen.py"), dir.path().string(), out) == 0);
  for (int p = 0; p <= 5; ++p) {
    std::string bytes = file_contents(dir.file("p" + std::to_string(p) + ".pkl"));
    REQUIRE(!bytes.empty());
    auto hooks = no_storage_hooks();
    check_python_object(unpickle(view(bytes), hooks), p);
    StubHooks stub;
    check_python_object(unpickle(view(bytes), stub), p);
    CHECK(stub.globals > 0);
    // Truncations are refused (about 50 cut points per file; every cut is tested above).
    for (size_t n = 0; n < bytes.size(); n += bytes.size() / 50 + 1) CHECK_THROWS_AS(unpickle(view(bytes.substr(0, n)), hooks), Error);
  }
}

namespace {

const char* kTorchCheck = R"PY(
import io, os, sys, zipfile, pickle, collections, math
import torch
d = sys.argv[1]

def zipped(pkl_name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr('archive/data.pkl', open(os.path.join(d, pkl_name), 'rb').read())
        z.writestr('archive/version', '3\n')
        for key in os.listdir(os.path.join(d, 'data')):
            z.writestr('archive/data/' + key, open(os.path.join(d, 'data', key), 'rb').read())
    buf.seek(0)
    return buf

# 1) our full sample, with torch.load
o = torch.load(zipped('ours.pkl'), map_location='cpu')
net = o['net']
assert type(net) is collections.OrderedDict, type(net)
w = net['conv.weight']
assert isinstance(w, torch.nn.Parameter) and w.requires_grad and w.shape == (2, 3) and w.dtype == torch.float32
assert torch.equal(w.detach().flatten().view(torch.int32), torch.frombuffer(bytearray(range(24)), dtype=torch.int32))
v = net['conv.view']
assert v.shape == (2,) and v.storage_offset() == 4 and v.data_ptr() == w.data_ptr() + 16
assert net['half'].dtype == torch.bfloat16 and net['idx'].dtype == torch.int64 and net['scalar'].shape == ()
assert net._metadata == {'': {'version': 1}, 'conv': {'version': 1}}, net._metadata
assert o['optimizer_state_dict']['state'][0]['momentum_buffer'] is w
assert o['optimizer_state_dict']['param_groups'] == [{'lr': 0.1, 'params': [0]}]
assert o['epoch'] == 7 and o['acc'] == 0.8125 and o['seed'] == 2**64 - 1
assert o['blob'] == b'\x00\xff\x80z' and o['shape'] == (2, 3) and o['none'] is None and o['dtype'] is torch.float32
# 2) a float-free, bytes-free object under weights_only=True
o2 = torch.load(zipped('ours_wo.pkl'), map_location='cpu', weights_only=True)
assert o2['big'] == -2**70 and o2['i'] == [0, 255, 256, 65536, -1, 2**31, -2**63] and o2['t'][1] is o2['t'][0]
assert isinstance(o2['p'], torch.nn.Parameter) and o2['p'].shape == (2, 3) and o2['s'] == 'h\xe9llo'
assert o2['sd']._metadata == {'': {'version': 2}}
# 3) a real torch.save pickle for the reader
m = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
ck = {'model': m.state_dict(), 'p': torch.nn.Parameter(torch.ones(2, 2)), 'epoch': 3,
      'view': torch.arange(10.)[2:8:2], 'b': b'', 'b2': b'\x00\xfe', 'dt': torch.float16}
buf = io.BytesIO()
torch.save(ck, buf)
z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
name = [n for n in z.namelist() if n.endswith('/data.pkl')][0]
open(os.path.join(d, 'torch.pkl'), 'wb').write(z.read(name))
print('PY_OK')
)PY";

}  // namespace

TEST_CASE("Python torch loads our pickles, and we read torch.save's") {
  if (!python3_or_skip()) return;
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "data");
  // One key space shared by both files: every storage's bytes go to data/<key>.
  std::map<const Storage*, std::string> keys;
  auto key_of = [&](const Storage& s) {
    auto it = keys.find(&s);
    if (it != keys.end()) return it->second;
    std::string key = std::to_string(keys.size());
    keys[&s] = key;
    ByteView b = s.data->bytes();
    write_file((dir.path() / "data" / key).string(), std::string(reinterpret_cast<const char*>(b.data), b.size));
    return key;
  };
  write_file(dir.file("ours.pkl"), pickle_value(sample_checkpoint(), key_of));

  Value wo = Value::dict();
  auto p = make_tensor(make_storage(DType::Float32, 6), {2, 3});
  p->is_parameter = true;
  wo.as_dict().set("p", Value::tensor(p));
  wo.as_dict().set("big", Value::big_integer("-1180591620717411303424"));
  List ints;
  for (int64_t i : {int64_t(0), int64_t(255), int64_t(256), int64_t(65536), int64_t(-1), int64_t(1) << 31, INT64_MIN})
    ints.push_back(Value::integer(i));
  wo.as_dict().set("i", Value::list(ints));
  Value shared = Value::list();
  wo.as_dict().set("t", Value::tuple({shared, shared}));
  wo.as_dict().set("s", Value::string("h\xc3\xa9llo"));
  Value sd = Value::dict(true);
  Value meta = Value::dict(true);
  Value ver = Value::dict();
  ver.as_dict().set("version", Value::integer(2));
  meta.as_dict().set("", ver);
  sd.as_dict().metadata = std::make_shared<Value>(meta);
  wo.as_dict().set("sd", sd);
  write_file(dir.file("ours_wo.pkl"), pickle_value(wo, key_of));

  write_file(dir.file("check.py"), kTorchCheck);
  std::string out;
  int rc = run_python(dir.file("check.py"), dir.path().string(), out);
  INFO(out);
  if (out.find("No module named 'torch'") != std::string::npos) {
    WARN("torch not importable by /usr/bin/python3: skipped");
    return;
  }
  REQUIRE(rc == 0);
  REQUIRE(out.find("PY_OK") != std::string::npos);

  // Read torch.save's own pickle.
  std::string bytes = file_contents(dir.file("torch.pkl"));
  StubStorages st;
  auto hooks = torch_hooks(st);
  Value ck = unpickle(view(bytes), hooks);
  const Value& model = at(ck, "model");
  CHECK(model.as_dict().ordered);
  REQUIRE(model.as_dict().metadata);
  CHECK(at(model, "0.weight").as_tensor()->shape == std::vector<int64_t>{2, 3});
  CHECK(at(model, "1.num_batches_tracked").as_tensor()->dtype == DType::Int64);
  CHECK(at(model, "1.num_batches_tracked").as_tensor()->shape.empty());
  CHECK(at(ck, "p").as_tensor()->is_parameter);
  CHECK(at(ck, "p").as_tensor()->requires_grad);
  CHECK(at(ck, "epoch").as_int() == 3);
  const auto& v = at(ck, "view").as_tensor();
  CHECK(v->storage_offset == 2);
  CHECK(v->stride == std::vector<int64_t>{2});
  CHECK(v->storage->numel == 10);
  CHECK(at(ck, "b").as_string().empty());
  CHECK(at(ck, "b2").as_string() == std::string("\x00\xfe", 2));
  CHECK(at(ck, "dt").as_global().name == "float16");
  // What we read writes and reads back the same.
  CHECK(same(read_back(write(ck)), ck));
}
