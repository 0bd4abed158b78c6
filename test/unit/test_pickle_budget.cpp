// The pickle VM's budgets (internal/pickle_budget.hpp): what is charged, when reading
// stops, and that ordinary pickles stay far inside.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "internal/pickle_budget.hpp"
#include "pickle_builder.hpp"
#include "pth/error.hpp"
#include "pth/torch_unpickler.hpp"

using namespace pth;
using Catch::Contains;

namespace {

Value read(const std::string& bytes, const PickleLimits& limits = {}) {
  TorchPickleHooks hooks([](const Value&) -> Value { throw FormatError("no storages here"); });
  return unpickle(view(bytes), hooks, limits);
}

// Limits whose memory budget is `bytes` whatever the pickle's size.
PickleLimits memory_of(uint64_t bytes) {
  PickleLimits l;
  l.memory_per_byte = 0;
  l.memory_floor = bytes;
  return l;
}

// The refusal's "at offset N".
size_t refusal_offset(const std::string& bytes, const PickleLimits& limits) {
  try {
    read(bytes, limits);
  } catch (const FormatError& e) {
    const std::string what = e.what();
    const size_t at = what.rfind("at offset ");
    REQUIRE(at != std::string::npos);
    return std::stoul(what.substr(at + 10));
  }
  FAIL("not refused");
  return 0;
}

// [None] * n, as Python writes it (APPENDS of 1000).
std::string list_of_nones(size_t n) {
  PB p;
  p.proto().op(']');
  for (size_t i = 0; i < n; i += 1000) {
    p.mark();
    for (size_t k = i; k < n && k < i + 1000; ++k) p.op('N');
    p.op('e');
  }
  return p.stop().s;
}

}  // namespace

TEST_CASE("budgets: per byte of pickle plus a floor, saturating; a refused charge is not counted") {
  const PickleLimits defaults;
  const detail::PickleBudget b(defaults, 1000);
  CHECK(b.memory_limit() == 48 * 1000 + (uint64_t(64) << 20));
  CHECK(b.node_limit() == 1000 + (uint64_t(1) << 20));
  PickleLimits open;
  open.memory_per_byte = UINT64_MAX;
  CHECK(detail::PickleBudget(open, 2).memory_limit() == UINT64_MAX);
  CHECK(detail::PickleBudget(open, 0).memory_limit() == open.memory_floor);

  const PickleLimits hundred = memory_of(100);
  detail::PickleBudget s(hundred, 1 << 20);
  CHECK(s.charge_memory(60));
  CHECK_FALSE(s.charge_memory(41));
  CHECK(s.memory_used() == 60);
  CHECK(s.charge_memory(40));
  CHECK_FALSE(s.charge_memory(1));
  CHECK_THAT(s.memory_exceeded(), Contains("more than 100 bytes of memory"));
  CHECK(s.memory_exceeded().find('\n') == std::string::npos);
}

TEST_CASE("memory charged is what the values hold: an item is 16 bytes, a memo'd string is held once") {
  static_assert(sizeof(Value) == 16);
  const size_t n = 100000;
  const std::string nones = list_of_nones(n);
  CHECK(read(nones, memory_of(n * sizeof(Value) * 3)).items().size() == n);   // items with room to grow, the stack
  CHECK_THROWS_WITH(read(nones, memory_of(n * sizeof(Value) / 2)), Contains("bytes of memory"));

  PB p;   // one 1 MiB string in a list 1000 times
  p.proto().str(std::string(1 << 20, 'x')).put(0).op('0').op(']').mark();
  for (int i = 0; i < 1000; ++i) p.get(0);
  p.op('e').stop();
  const Value shared = read(p.s, memory_of((1 << 20) + 200000));
  CHECK(&shared.items()[0].as_string() == &shared.items()[999].as_string());
}

TEST_CASE("a flood of empty dicts is refused early, at a fraction of the pickle") {
  const size_t n = 1000000;
  PB p;
  p.proto();
  for (size_t i = 0; i < n; ++i) p.op('}');
  p.stop();
  PickleLimits no_floor;
  no_floor.memory_floor = 0;   // 48 bytes per pickle byte; each '}' costs more than that
  CHECK(refusal_offset(p.s, no_floor) < n * 2 / 3);
  CHECK_THROWS_WITH(read(p.s), Contains("STOP with 1000000 items"));   // the floor lets a million through
}

TEST_CASE("values the hooks make are charged: OrderedDict(pairs) and _codecs.encode copies") {
  PB pairs;   // l = [(0, None), ..., (999, None)]; [OrderedDict(l) for _ in range(100)]
  pairs.proto().op(']').mark();
  for (uint16_t i = 0; i < 1000; ++i) pairs.op('M').u16(i).op('N').op(0x86);
  pairs.op('e').put(0).op('0').op(']').mark();
  for (int i = 0; i < 100; ++i) pairs.global("collections", "OrderedDict").get(0).op(0x85).op('R');
  pairs.op('e').stop();
  CHECK(read(pairs.s, memory_of(uint64_t(8) << 20)).items().size() == 100);
  CHECK_THROWS_WITH(read(pairs.s, memory_of(uint64_t(2) << 20)), Contains("bytes of memory"));

  PB encode;   // s = 'x' * 100000; [_codecs.encode(s, 'latin1') for _ in range(100)]
  encode.proto().str(std::string(100000, 'x')).put(0).op('0').str("latin1").put(1).op('0').op(']').mark();
  for (int i = 0; i < 100; ++i) encode.global("_codecs", "encode").get(0).get(1).op(0x86).op('R');
  encode.op('e').stop();
  CHECK(read(encode.s, memory_of(uint64_t(32) << 20)).items().size() == 100);
  CHECK_THROWS_WITH(read(encode.s, memory_of(uint64_t(4) << 20)), Contains("bytes of memory"));
}

TEST_CASE("dict keys chosen to collide are refused by the probe budget; ordinary keys are not") {
  // 2000 int keys whose hashes agree in their low 13 bits share one run of slots in a
  // table of 8192: each new key probes past all the earlier ones.
  std::vector<int32_t> colliding;
  for (int32_t i = 0; colliding.size() < 2000; ++i)
    if ((key_hash(Value::integer(i)) & 0x1fff) == 0) colliding.push_back(i);
  auto dict_of = [](const std::vector<int32_t>& keys) {
    PB p;
    p.proto().op('}').mark();
    for (int32_t k : keys) p.op('J').u32(uint32_t(k)).op('N');
    return p.op('u').stop().s;
  };
  CHECK_THROWS_WITH(read(dict_of(colliding)), Contains("keys collide"));
  std::vector<int32_t> ordinary(2000);
  for (int32_t i = 0; i < 2000; ++i) ordinary[size_t(i)] = i * 1048576;   // multiples of 2^20 spread too
  CHECK(read(dict_of(ordinary)).as_dict().items.size() == 2000);
}

TEST_CASE("shared sub-trees: one node per pickle byte plus a floor") {
  // [inner] * k with inner = list(range(100)): 1 + k * 101 nodes from about 2k + 200 bytes
  auto shared = [](int k) {
    PB p;
    p.proto().op(']').mark();
    for (int i = 0; i < 100; ++i) p.k(uint8_t(i));
    p.op('e').put(0).op('0').op(']').mark();
    for (int i = 0; i < k; ++i) p.get(0);
    return p.op('e').stop().s;
  };
  PickleLimits no_floor;
  no_floor.nodes_floor = 0;
  CHECK_NOTHROW(read(shared(1), no_floor));
  CHECK_THROWS_WITH(read(shared(10), no_floor), Contains("expands to more than"));
  CHECK(read(shared(10)).items().size() == 10);   // the floor allows modest sharing
}

TEST_CASE("a deflated pickle may inflate 50 times its size, plus 1 MiB") {
  const PickleLimits l;
  const uint64_t most = 50 * 1000 + (uint64_t(1) << 20);
  CHECK_NOTHROW(detail::check_pickle_inflation(1000, most, l));
  CHECK_THROWS_WITH(detail::check_pickle_inflation(1000, most + 1, l), Contains("zip bomb: data.pkl inflates"));
  CHECK_NOTHROW(detail::check_pickle_inflation(uint64_t(1) << 30, uint64_t(1) << 30, l));   // stored
  CHECK_THROWS_WITH(detail::check_pickle_inflation(0, uint64_t(2) << 20, l), Contains("zip bomb"));
}
