#include <catch2/catch.hpp>

#include <cstdlib>

#include "pth/dtype.hpp"
#include "pth/error.hpp"
#include "pth/float_text.hpp"
#include "pth/tensor_walk.hpp"
#include "pth/value.hpp"

using namespace pth;

TEST_CASE("dtype names, sizes and storage classes agree with PyTorch") {
  CHECK(dtype_name(DType::BFloat16) == "bfloat16");
  CHECK(dtype_size(DType::Complex128) == 16);
  CHECK(dtype_size(DType::Bool) == 1);
  CHECK(storage_class_name(DType::Int8) == "CharStorage");
  CHECK(dtype_from_storage_class("ByteStorage") == DType::UInt8);
  CHECK(dtype_from_name("half") == DType::Float16);
  CHECK(dtype_from_name("long") == DType::Int64);
  CHECK_FALSE(dtype_from_name("float8").has_value());
  CHECK_FALSE(dtype_from_storage_class("EvilStorage").has_value());
  CHECK(dtype_is_floating(DType::BFloat16));
  CHECK_FALSE(dtype_is_floating(DType::Int32));
}

TEST_CASE("containers are shared objects, deep_copy keeps sharing inside the copy") {
  Value inner = Value::list({Value::integer(1)});
  Value outer = Value::list({inner, inner});
  inner.items().push_back(Value::integer(2));
  REQUIRE(outer.items()[0].items().size() == 2);

  Value copy = outer.deep_copy();
  copy.items()[0].items().push_back(Value::integer(3));
  CHECK(outer.items()[0].items().size() == 2);
  CHECK(copy.items()[1].items().size() == 3);
  CHECK(copy.items()[0].identity() == copy.items()[1].identity());
}

TEST_CASE("dict keeps insertion order, set replaces equal keys, Python key equality") {
  Value d = Value::dict(true);
  d.as_dict().set(Value::string("b"), Value::integer(1));
  d.as_dict().set(Value::string("a"), Value::integer(2));
  d.as_dict().set(Value::string("b"), Value::integer(3));
  REQUIRE(d.as_dict().items.size() == 2);
  CHECK(d.as_dict().items[0].first.as_string() == "b");
  CHECK(d.as_dict().find("b")->as_int() == 3);
  CHECK(d.as_dict().find("zzz") == nullptr);
  CHECK(keys_equal(Value::integer(1), Value::boolean(true)));
  CHECK(keys_equal(Value::integer(2), Value::floating(2.0)));
  CHECK_FALSE(keys_equal(Value::integer(1), Value::string("1")));
  CHECK(key_to_string(Value::integer(-7)) == "-7");
}

TEST_CASE("key_hash agrees with keys_equal; big ints meet floats exactly; unhashable keys refused") {
  const Value two_pow_64 = Value::big_integer("18446744073709551616");
  const Value big_float = Value::floating(18446744073709551616.0);
  CHECK(keys_equal(two_pow_64, big_float));
  CHECK(key_hash(two_pow_64) == key_hash(big_float));
  CHECK(key_hash(Value::integer(1)) == key_hash(Value::floating(1.0)));
  CHECK(key_hash(Value::integer(1)) == key_hash(Value::boolean(true)));
  CHECK_FALSE(keys_equal(Value::integer(9007199254740993), Value::floating(9007199254740992.0)));
  CHECK_FALSE(keys_equal(Value::integer(1), two_pow_64));
  CHECK_FALSE(keys_equal(Value::floating(0.5), Value::integer(0)));
  const Value t1 = Value::tuple({Value::integer(1), Value::string("a")});
  const Value t2 = Value::tuple({Value::floating(1.0), Value::string("a")});
  CHECK(keys_equal(t1, t2));
  CHECK(key_hash(t1) == key_hash(t2));
  CHECK_FALSE(keys_equal(t1, Value::tuple({Value::integer(1)})));
  CHECK_THROWS_WITH(key_hash(Value::list()), Catch::Contains("unhashable dict key of type list"));
  CHECK_THROWS_WITH(key_hash(Value::tuple({Value::bytes("x")})), Catch::Contains("tuple holding a bytes"));

  Value d = Value::dict();
  d.as_dict().set(Value::integer(1), Value::string("int"));
  d.as_dict().set(Value::floating(1.0), Value::string("float"));
  d.as_dict().set(Value::bytes("k"), Value::none());
  d.as_dict().set(Value::bytes("k"), Value::none());
  REQUIRE(d.as_dict().items.size() == 2);
  CHECK(d.as_dict().items[0].first.is_int());  // Python keeps the first key object
  CHECK(d.as_dict().items[0].second.as_string() == "float");
}

TEST_CASE("accessors refuse the wrong kind with a FormatError") {
  CHECK_THROWS_AS(Value::string("x").as_int(), FormatError);
  CHECK_THROWS_WITH(Value::none().as_dict(), Catch::Contains("expected dict, found None"));
}

TEST_CASE("tensor numel, contiguity and strides") {
  Tensor t;
  t.shape = {2, 3, 4};
  t.stride = Tensor::contiguous_strides(t.shape);
  CHECK(t.stride == std::vector<int64_t>{12, 4, 1});
  CHECK(t.numel() == 24);
  CHECK(t.is_contiguous());
  t.stride = {1, 2, 6};
  CHECK_FALSE(t.is_contiguous());
  t.shape = {};
  t.stride = {};
  CHECK(t.numel() == 1);
}

TEST_CASE("tensor paths join keys with / and list items by index") {
  auto t = std::make_shared<Tensor>();
  Value state = Value::dict();
  state.as_dict().set(Value::integer(0), Value::dict());
  state.as_dict().items[0].second.as_dict().set("momentum_buffer", Value::tensor(t));
  Value root = Value::dict(true);
  root.as_dict().set("optimizer_state_dict", Value::dict());
  root.as_dict().find("optimizer_state_dict")->as_dict().set("state", state);
  root.as_dict().set("list", Value::list({Value::none(), Value::tensor(t)}));
  auto tensors = collect_tensors(root);
  REQUIRE(tensors.size() == 2);
  CHECK(tensors[0].path == "optimizer_state_dict/state/0/momentum_buffer");
  CHECK(tensors[1].path == "list/1");
  CHECK(tensors[0].tensor == tensors[1].tensor);
}

TEST_CASE("Dict::set with a plain string key replaces a str key, not a bytes one") {
  Value v = Value::dict();
  Dict& d = v.as_dict();
  d.set(Value::bytes("k"), Value::integer(1));
  d.set("k", Value::integer(2));
  d.set(std::string("k"), Value::integer(3));
  REQUIRE(d.items.size() == 2);
  CHECK(d.items[0].second.as_int() == 1);
  CHECK(d.items[1].first.is_string());
  CHECK(d.items[1].second.as_int() == 3);
}

TEST_CASE("shortest_float_text reads back to the same double, as Python's repr") {
  CHECK(pth::shortest_float_text(0.1) == "0.1");
  CHECK(pth::shortest_float_text(3.0) == "3");
  CHECK(pth::shortest_float_text(1e-05) == "1e-05");
  CHECK(pth::shortest_float_text(1e16) == "1e+16");
  CHECK(pth::shortest_float_text(0.1 + 0.2) == "0.30000000000000004");
  for (double v : {1.0 / 3.0, 2.5e-300, -123456.789, 5e-324}) CHECK(std::strtod(pth::shortest_float_text(v).c_str(), nullptr) == v);
}
