// Python's dict-key semantics: 1 == 1.0 == True, ints of any size equal to a float only
// when it is exactly that integer, tuples compared item by item.
#include <cmath>
#include <cstring>
#include <functional>
#include <string_view>

#include "internal/decimal.hpp"
#include "pth/error.hpp"
#include "pth/value.hpp"

namespace pth {
namespace {

using K = Value::Kind;

bool is_number_kind(K k) { return k == K::Bool || k == K::Int || k == K::BigInt || k == K::Float; }
bool is_hashable_scalar_kind(K k) { return k == K::None || k == K::String || is_number_kind(k); }

size_t mix(size_t h, size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)); }
// std::hash of an int is the int itself: ints that differ only in high bits (multiples of
// 2^20, say) would share their low bits and so their slots. Spread every bit over all bits.
size_t spread(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}
size_t hash_int(int64_t i) { return mix(0x1234, spread(uint64_t(i))); }
size_t hash_text(size_t tag, std::string_view s) { return mix(tag, std::hash<std::string_view>{}(s)); }

[[noreturn]] void unhashable(const std::string& what) { throw FormatError("unhashable dict key" + what); }

// Equal numbers hash alike: an integral float hashes as the int (or big int) it equals.
size_t scalar_key_hash(const Value& v) {
  switch (v.kind()) {
    case K::None: return 0x5eed;
    case K::Bool: return hash_int(v.as_bool() ? 1 : 0);
    case K::Int: return hash_int(v.as_int());
    case K::BigInt: return hash_text(0xb16, v.as_string());
    case K::Float: {
      double f = v.as_number();
      if (std::isfinite(f) && f == std::floor(f)) {
        if (f >= -9223372036854775808.0 && f < 9223372036854775808.0) return hash_int(int64_t(f));
        return hash_text(0xb16, detail::integral_double_to_decimal(f));
      }
      uint64_t bits;
      std::memcpy(&bits, &f, sizeof bits);
      return mix(0xf10a7, std::hash<uint64_t>{}(bits));
    }
    case K::String: return hash_text(0x57e, v.as_string());
    default: break;
  }
  unhashable(" of type " + std::string(Value::kind_name(v.kind())));
}

// Python numeric equality between two number-like keys (Bool/Int/BigInt/Float).
bool numbers_equal(const Value& a, const Value& b) {
  auto as_i = [](const Value& v) -> int64_t { return v.kind() == K::Bool ? (v.as_bool() ? 1 : 0) : v.as_int(); };
  auto int_like = [](const Value& v) { return v.kind() == K::Bool || v.kind() == K::Int; };
  if (int_like(a) && int_like(b)) return as_i(a) == as_i(b);
  if (a.kind() == K::BigInt && b.kind() == K::BigInt) return a.as_string() == b.as_string();
  if (a.kind() == K::Float && b.kind() == K::Float) return a.as_number() == b.as_number();
  // One float against an int or big int: equal only when the float is exactly that integer.
  const Value& f = a.kind() == K::Float ? a : b;
  const Value& o = a.kind() == K::Float ? b : a;
  if (f.kind() != K::Float) return false;  // Int/Bool vs BigInt: never equal
  double d = f.as_number();
  if (!std::isfinite(d) || d != std::floor(d)) return false;
  if (int_like(o)) {
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return false;
    return int64_t(d) == as_i(o);
  }
  return detail::integral_double_to_decimal(d) == o.as_string();
}

}  // namespace

size_t key_hash(const Value& key) {
  if (key.kind() != K::Tuple) return scalar_key_hash(key);
  size_t h = 0x7c9e;
  for (const Value& item : key.items()) {
    if (!is_hashable_scalar_kind(item.kind()))
      unhashable(": tuple holding a " + std::string(Value::kind_name(item.kind())));
    h = mix(h, scalar_key_hash(item));
  }
  return h;
}

bool keys_equal(const Value& a, const Value& b) {
  if (is_number_kind(a.kind()) && is_number_kind(b.kind())) return numbers_equal(a, b);
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::None: return true;
    case K::String:
    case K::Bytes: return a.as_string() == b.as_string();
    case K::Tuple: {
      const List& x = a.items();
      const List& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!keys_equal(x[i], y[i])) return false;
      return true;
    }
    case K::Global: return a.as_global().module == b.as_global().module && a.as_global().name == b.as_global().name;
    default: return a.identity() == b.identity();
  }
}

std::string key_to_string(const Value& key) {
  switch (key.kind()) {
    case K::String:
    case K::BigInt: return key.as_string();
    case K::Int: return std::to_string(key.as_int());
    case K::Bool: return key.as_bool() ? "True" : "False";
    case K::None: return "None";
    case K::Float: return std::to_string(key.as_number());
    case K::Tuple: {
      std::string s = "(";
      const List& items = key.items();
      for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + key_to_string(items[i]);
      return s + (items.size() == 1 ? ",)" : ")");
    }
    case K::Bytes: return key.as_string();
    default: return "<" + std::string(Value::kind_name(key.kind())) + ">";
  }
}

}  // namespace pth
