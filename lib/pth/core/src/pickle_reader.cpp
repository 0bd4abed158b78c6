// The pickle virtual machine: runs the opcodes that describe data, and nothing else.
//
// Safety model (this is the attack surface of every reader):
//  - every read is checked against the bytes that remain;
//  - every pop is checked against the current MARK frame (as in Python, items below the
//    last MARK are not reachable until POP_MARK/TUPLE/... consumes the mark);
//  - globals, calls, BUILD and persistent ids go through PickleHooks, which decide;
//  - what the program builds is charged to a budget in proportion to its size
//    (PickleLimits, internal/pickle_budget.hpp) as it runs: memory, dict-key probes; the
//    result is checked after STOP for cycles, nesting depth and the node count a tree
//    walk would visit;
//  - every container the VM creates is kept in a registry; whatever the outcome, the
//    containers that are not part of the returned value are emptied, so reference cycles
//    built by a hostile pickle never leak and deep chains are never destroyed recursively.
#include "pth/pickle_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "internal/decimal.hpp"
#include "internal/dict_key_index.hpp"
#include "internal/pickle_budget.hpp"
#include "internal/utf8.hpp"
#include "pth/utf8.hpp"
#include "pth/error.hpp"

namespace pth {
namespace {

using detail::append_utf8;
using detail::magnitude_to_decimal;

// ---------------------------------------------------------------------------------------
// Opcodes (values as in CPython's pickle module).
enum Op : uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', FLOAT = 'F', INT = 'I',
  BININT = 'J', BININT1 = 'K', LONG = 'L', BININT2 = 'M', NONE = 'N', PERSID = 'P',
  BINPERSID = 'Q', REDUCE = 'R', STRING = 'S', BINSTRING = 'T', SHORT_BINSTRING = 'U',
  UNICODE = 'V', BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c', DICT = 'd',
  EMPTY_DICT = '}', APPENDS = 'e', GET = 'g', BINGET = 'h', INST = 'i', LONG_BINGET = 'j',
  LIST = 'l', EMPTY_LIST = ']', OBJ = 'o', PUT = 'p', BINPUT = 'q', LONG_BINPUT = 'r',
  SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
  // protocol 2
  PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85,
  TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b,
  // protocol 3
  BINBYTES = 'B', SHORT_BINBYTES = 'C',
  // protocol 4
  SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f,
  ADDITEMS = 0x90, FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94,
  FRAME = 0x95,
  // protocol 5
  BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97, READONLY_BUFFER = 0x98,
};

// Binary ints (LONG1/LONG4) longer than this are refused: converting them to decimal is
// quadratic, and no checkpoint holds such numbers (Python itself refuses to print ints
// of more than 4300 digits). 4096 bytes is about 9864 decimal digits.
constexpr size_t kMaxLongBytes = 4096;
constexpr size_t kMaxLongDigits = 10000;  // text INT/LONG

std::string hex_byte(uint8_t b) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  s += digits[b >> 4];
  s += digits[b & 15];
  return s;
}

// ---------------------------------------------------------------------------------------
// Text helpers.

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ---------------------------------------------------------------------------------------
// Big integers: little-endian two's complement bytes <-> decimal digits.

// Two's complement little-endian bytes -> Value (Int when it fits int64, else BigInt).
Value value_from_twos_complement(const uint8_t* p, size_t n) {
  if (n == 0) return Value::integer(0);
  bool negative = (p[n - 1] & 0x80) != 0;
  // Fits in int64 when every byte past the eighth is a sign extension of byte 7.
  bool fits = true;
  if (n > 8) {
    uint8_t ext = (p[7] & 0x80) ? 0xff : 0x00;
    for (size_t i = 8; i < n; ++i) {
      if (p[i] != ext) {
        fits = false;
        break;
      }
    }
  }
  if (fits) {
    size_t m = std::min<size_t>(n, 8);
    uint64_t u = 0;
    for (size_t i = 0; i < m; ++i) u |= uint64_t(p[i]) << (8 * i);
    if (m < 8 && (p[m - 1] & 0x80)) u |= ~uint64_t(0) << (8 * m);  // sign-extend
    int64_t v;
    std::memcpy(&v, &u, sizeof v);
    return Value::integer(v);
  }
  std::vector<uint8_t> mag(p, p + n);
  if (negative) {
    unsigned carry = 1;
    for (auto& b : mag) {
      unsigned x = unsigned(uint8_t(~b)) + carry;
      b = uint8_t(x);
      carry = x >> 8;
    }
  }
  std::string digits = magnitude_to_decimal(mag);
  return Value::big_integer(negative ? "-" + digits : digits);
}

// Decimal text (optional sign, digits, nothing else) -> Value. Throws on bad text.
Value value_from_decimal(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > kMaxLongDigits) throw FormatError("invalid integer literal in pickle");
  for (char c : text)
    if (c < '0' || c > '9') throw FormatError("invalid integer literal in pickle");
  while (text.size() > 1 && text[0] == '0') text.remove_prefix(1);
  // Fits int64? Compare magnitudes as digit strings.
  static const std::string_view kMaxPos = "9223372036854775807";
  static const std::string_view kMaxNeg = "9223372036854775808";
  std::string_view lim = negative ? kMaxNeg : kMaxPos;
  bool fits = text.size() < lim.size() || (text.size() == lim.size() && text <= lim);
  if (fits) {
    uint64_t u = 0;
    for (char c : text) u = u * 10 + uint64_t(c - '0');
    int64_t v;
    if (negative) {
      u = ~u + 1;  // two's complement negate; INT64_MIN maps to itself
    }
    std::memcpy(&v, &u, sizeof v);
    return Value::integer(v);
  }
  return Value::big_integer(negative ? "-" + std::string(text) : std::string(text));
}

// ---------------------------------------------------------------------------------------
// The machine.

uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? std::numeric_limits<uint64_t>::max() : a + b; }

class Machine {
 public:
  Machine(ByteView data, PickleHooks& hooks, const PickleLimits& limits)
      : data_(data), hooks_(hooks), limits_(limits), budget_(limits, data.size) {}

  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  ~Machine() { release_containers(); }

  Value run(size_t* consumed);

 private:
  // --- errors
  [[noreturn]] void fail(const std::string& what) const { throw FormatError(what); }
  [[noreturn]] void fail_at(const std::string& what) const {
    throw FormatError(what + " at offset " + std::to_string(op_pos_));
  }
  [[noreturn]] void truncated() const {
    throw FormatError("truncated pickle at offset " + std::to_string(pos_));
  }

  // --- input
  const uint8_t* take(size_t n) {
    if (n > data_.size - pos_) truncated();
    const uint8_t* p = data_.data + pos_;
    pos_ += n;
    return p;
  }
  uint8_t take_u8() { return *take(1); }
  uint32_t take_le32() { return load_le32(take(4)); }
  uint64_t take_le64() { return load_le64(take(8)); }
  std::string_view take_line() {
    const void* nl = std::memchr(data_.data + pos_, '\n', data_.size - pos_);
    if (!nl) truncated();
    size_t end = size_t(static_cast<const uint8_t*>(nl) - data_.data);
    std::string_view line(reinterpret_cast<const char*>(data_.data + pos_), end - pos_);
    pos_ = end + 1;
    return line;
  }
  std::string_view take_string(uint64_t n) {
    check_string_size(n);
    if (n > data_.size - pos_) truncated();
    return {reinterpret_cast<const char*>(take(size_t(n))), size_t(n)};
  }
  void check_string_size(uint64_t n) const {
    if (n > limits_.max_string_bytes)
      fail_at("string of " + std::to_string(n) + " bytes exceeds the limit of " +
              std::to_string(limits_.max_string_bytes));
  }

  // --- the budget: every allocation is charged before or as it is made
  void charge(uint64_t bytes) {
    if (!budget_.charge_memory(bytes)) fail_at(budget_.memory_exceeded());
  }
  // Runs `grow` on `v` and charges what its capacity grew by.
  template <class Vector, class Grow>
  void growing(Vector& v, Grow&& grow) {
    const size_t before = v.capacity();
    grow();
    if (v.capacity() > before) charge((v.capacity() - before) * sizeof(v[0]));
  }

  // --- stack
  size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
  [[noreturn]] void underflow() const { fail_at("pickle stack underflow"); }
  void push(Value v) {
    growing(stack_, [&] { stack_.push_back(std::move(v)); });
  }
  // A value made here (not taken from the stack or memo): charged for what it holds.
  void push_new(Value v) {
    charge(detail::shallow_bytes(v));
    push(std::move(v));
  }
  Value pop() {
    if (stack_.size() <= base()) underflow();
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.size() <= base()) underflow();
    return stack_.back();
  }
  // Ends the innermost MARK frame; its items are stack_[returned index, end).
  size_t close_mark() {
    if (marks_.empty()) fail_at("MARK missing");
    const size_t m = marks_.back();
    marks_.pop_back();
    return m;
  }
  List pop_mark() {
    const size_t m = close_mark();
    List items(std::make_move_iterator(stack_.begin() + std::ptrdiff_t(m)), std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  // The item after `m` on the stack, where a closed MARK frame's items start: its target.
  Value& below(size_t m) {
    if (m <= base()) underflow();
    return stack_[m - 1];
  }

  void track(const Value& v) {
    if (v.is_container()) growing(registry_, [&] { registry_.push_back(v); });
  }

  // --- containers
  Value new_sequence(Value (*make)(List), List items) {
    Value v = make(std::move(items));
    charge(detail::shallow_bytes(v));
    track(v);
    return v;
  }
  Value new_list(List items) { return new_sequence(Value::list, std::move(items)); }
  // One empty tuple for the whole pickle, as Python's (): a list of them costs its items only.
  const Value& empty_tuple() {
    if (empty_tuple_.is_none()) empty_tuple_ = new_sequence(Value::tuple, {});
    return empty_tuple_;
  }
  Value new_tuple(List items) { return items.empty() ? empty_tuple() : new_sequence(Value::tuple, std::move(items)); }
  Value new_dict() {
    Value v = Value::dict(false);
    charge(detail::shallow_bytes(v));
    track(v);
    return v;
  }
  List& list_target(Value& v, const char* op) {
    if (v.kind() != Value::Kind::List) fail_at(std::string(op) + " on a non-list");
    return v.items();
  }
  void append(List& l, Value v) {
    growing(l, [&] { l.push_back(std::move(v)); });
  }
  void dict_set(Value& dict_value, Value key, Value value);
  // The stack items [m, end) as key, value pairs set on `dict_value`; they leave the stack.
  void set_items(Value& dict_value, size_t m, const char* op);

  // A value a hook made: charged for what it holds, and tracked if it is a container.
  void adopt(const Value& v) {
    charge(detail::shallow_bytes(v));
    track(v);
  }

  // The memo: keys 0..n-1 (what Python writes) live in a vector, any other key in a map.
  size_t memo_size() const { return memo_dense_.size() + memo_sparse_.size(); }
  Value* memo_find(uint64_t key) {
    if (key < memo_dense_.size()) return &memo_dense_[size_t(key)];
    auto it = memo_sparse_.find(key);
    return it == memo_sparse_.end() ? nullptr : &it->second;
  }
  void do_memo_put(uint64_t key) {
    Value& v = top();
    if (Value* slot = memo_find(key)) {
      *slot = v;
      return;
    }
    if (key != memo_dense_.size()) {
      charge(kMapEntryBytes);
      memo_sparse_.emplace(key, v);
      return;
    }
    growing(memo_dense_, [&] { memo_dense_.push_back(v); });
    // Keys stored out of order join the dense run once it reaches them.
    for (auto it = memo_sparse_.find(memo_dense_.size()); it != memo_sparse_.end();
         it = memo_sparse_.find(memo_dense_.size())) {
      growing(memo_dense_, [&] { memo_dense_.push_back(std::move(it->second)); });
      memo_sparse_.erase(it);
    }
  }
  void do_memo_get(uint64_t key) {
    Value* v = memo_find(key);
    if (!v) fail("memo key " + std::to_string(key) + " not set at offset " + std::to_string(op_pos_));
    push(*v);
  }
  uint64_t parse_text_index(std::string_view line) {
    if (line.empty() || line.size() > 19) fail_at("invalid memo index");
    uint64_t v = 0;
    for (char c : line) {
      if (c < '0' || c > '9') fail_at("invalid memo index");
      v = v * 10 + uint64_t(c - '0');
    }
    return v;
  }

  Value make_string(std::string s) {
    if (!is_valid_utf8(s)) fail_at("string is not valid UTF-8");
    return Value::string(std::move(s));
  }

  // A Python 2 str: UTF-8 text, or latin-1 where the hooks read it so.
  Value make_py2_string(std::string s) {
    if (!hooks_.py2_strings_are_latin1()) return make_string(std::move(s));
    std::string text = utf8_from_latin1(s);
    check_string_size(text.size());
    return Value::string(std::move(text));
  }

  // --- opcodes with some logic
  void op_int_text();
  void op_long_text();
  void push_decimal(std::string_view text);
  void op_float_text();
  void op_string_text();
  void op_unicode_text();
  void op_binstring(uint64_t n);
  void op_long_bin(uint64_t n);
  void op_global(std::string module, std::string name);
  void op_call(const char* op, const Value& args);

  // --- after STOP
  void check_result(const Value& root);
  void release_containers();

  // One entry of a hash map here (memo_sparse_, dict_index_, walked_): its node and bucket.
  static constexpr uint64_t kMapEntryBytes = detail::kObjectBytes + 32;
  // Dicts up to this size are searched linearly, without an index.
  static constexpr size_t kLinearDict = 8;

  ByteView data_;
  PickleHooks& hooks_;
  const PickleLimits& limits_;
  detail::PickleBudget budget_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::vector<Value> memo_dense_;
  std::unordered_map<uint64_t, Value> memo_sparse_;
  std::vector<Value> registry_;  // every container built
  // Containers of the result -> their tree-walk size (kInProgress while being walked).
  std::unordered_map<const void*, uint64_t> walked_;
  bool keep_result_ = false;
  Value empty_tuple_;
  std::unordered_map<const Dict*, detail::DictKeyIndex> dict_index_;  // dicts past kLinearDict items
};

void Machine::dict_set(Value& dict_value, Value key, Value value) {
  if (dict_value.kind() != Value::Kind::Dict) fail_at("SETITEM on a non-dict");
  Dict& d = dict_value.as_dict();
  size_t h;
  try {
    h = key_hash(key);
  } catch (const FormatError& e) {
    fail_at(e.what());
  }
  auto found = dict_index_.find(&d);
  if (found == dict_index_.end() && d.items.size() < kLinearDict) {
    for (auto& kv : d.items) {
      if (keys_equal(kv.first, key)) {
        kv.second = std::move(value);  // Python keeps the first key object
        return;
      }
    }
    growing(d.items, [&] { d.items.emplace_back(std::move(key), std::move(value)); });
    return;
  }
  if (found == dict_index_.end()) {
    // Index what the dict holds (it may also come from a hook, e.g. OrderedDict(pairs)).
    charge(kMapEntryBytes);
    found = dict_index_.emplace(&d, detail::DictKeyIndex(d)).first;
    charge(found->second.memory_bytes());
  }
  detail::DictKeyIndex& idx = found->second;
  uint64_t probes = 0;
  const size_t at = idx.find(d, key, h, &probes);
  if (!budget_.charge_probes(probes)) fail_at(budget_.probes_exceeded());
  if (at != detail::DictKeyIndex::npos) {
    d.items[at].second = std::move(value);
    return;
  }
  const size_t index_before = idx.memory_bytes();
  try {
    growing(d.items, [&] { idx.add(d, std::move(key), std::move(value), h); });
  } catch (const FormatError& e) {
    fail_at(e.what());
  }
  if (idx.memory_bytes() > index_before) charge(idx.memory_bytes() - index_before);
}

void Machine::set_items(Value& dict_value, size_t m, const char* op) {
  if ((stack_.size() - m) % 2) fail_at(std::string("odd number of items for ") + op);
  for (size_t i = m; i < stack_.size(); i += 2) dict_set(dict_value, std::move(stack_[i]), std::move(stack_[i + 1]));
  stack_.resize(m);
}

void Machine::op_int_text() {
  std::string_view line = take_line();
  if (line == "01") return push(Value::boolean(true));
  if (line == "00") return push(Value::boolean(false));
  push_decimal(line);
}

void Machine::op_long_text() {
  std::string_view line = take_line();
  if (!line.empty() && line.back() == 'L') line.remove_suffix(1);
  push_decimal(line);
}

void Machine::push_decimal(std::string_view text) {
  try {
    push_new(value_from_decimal(text));
  } catch (const FormatError& e) {
    fail_at(e.what());
  }
}

void Machine::op_float_text() {
  std::string_view line = take_line();
  std::string_view t = line;
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  if (t.empty() || t.size() > 400) fail_at("invalid float literal in pickle");
  double d = 0;
  auto res = std::from_chars(t.data(), t.data() + t.size(), d);
  if (res.ptr != t.data() + t.size()) fail_at("invalid float literal in pickle");
  if (res.ec == std::errc::result_out_of_range) {
    std::string copy(t);
    d = std::strtod(copy.c_str(), nullptr);  // overflow -> +-inf, underflow -> 0, as Python does
  } else if (res.ec != std::errc()) {
    fail_at("invalid float literal in pickle");
  }
  push(Value::floating(d));
}

// Python 2 `str` repr with quotes; bytes decoded as codecs.escape_decode does.
void Machine::op_string_text() {
  std::string_view line = take_line();
  if (line.size() < 2 || line.front() != line.back() || (line.front() != '\'' && line.front() != '"'))
    fail_at("the STRING opcode argument must be quoted");
  std::string_view s = line.substr(1, line.size() - 2);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= s.size()) fail_at("trailing backslash in STRING");
    c = s[i];
    switch (c) {
      case '\n': break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'v': out += '\v'; break;
      case 'a': out += '\a'; break;
      case 'x': {
        if (s.size() - i < 3) fail_at("invalid \\x escape in STRING");
        int h1 = hex_value(s[i + 1]), h2 = hex_value(s[i + 2]);
        if (h1 < 0 || h2 < 0) fail_at("invalid \\x escape in STRING");
        out += char(h1 * 16 + h2);
        i += 2;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          unsigned v = unsigned(c - '0');
          for (int k = 0; k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k) v = v * 8 + unsigned(s[++i] - '0');
          out += char(v & 0xff);
        } else {
          out += '\\';
          out += c;
        }
    }
  }
  check_string_size(out.size());
  push_new(make_py2_string(std::move(out)));
}

// raw-unicode-escape: bytes are latin-1 code points, except \uXXXX and \UXXXXXXXX.
void Machine::op_unicode_text() {
  std::string_view s = take_line();
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
      size_t count = s[i + 1] == 'u' ? 4 : 8;
      if (s.size() - (i + 2) < count) fail_at("truncated \\uXXXX escape in UNICODE");
      uint32_t cp = 0;
      for (size_t k = 0; k < count; ++k) {
        int h = hex_value(s[i + 2 + k]);
        if (h < 0) fail_at("invalid \\uXXXX escape in UNICODE");
        cp = cp * 16 + uint32_t(h);
      }
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail_at("invalid code point in UNICODE");
      append_utf8(out, cp);
      i += 1 + count;
    } else if (c == '\\' && i + 1 < s.size()) {
      out += '\\';
      append_utf8(out, static_cast<unsigned char>(s[i + 1]));
      ++i;
    } else {
      append_utf8(out, c);
    }
  }
  check_string_size(out.size());
  push_new(Value::string(std::move(out)));
}

void Machine::op_binstring(uint64_t n) {
  push_new(make_py2_string(std::string(take_string(n))));
}

void Machine::op_long_bin(uint64_t n) {
  if (n > kMaxLongBytes)
    fail_at("integer of " + std::to_string(n) + " bytes exceeds the limit of " + std::to_string(kMaxLongBytes));
  const uint8_t* p = take(size_t(n));
  push_new(value_from_twos_complement(p, size_t(n)));
}

void Machine::op_global(std::string module, std::string name) {
  if (!is_valid_utf8(module) || !is_valid_utf8(name)) fail_at("global name is not valid UTF-8");
  Value v = hooks_.find_global(module, name);
  adopt(v);
  push(std::move(v));
}

// REDUCE, NEWOBJ, NEWOBJ_EX: the callable on top of the stack is replaced by its result.
void Machine::op_call(const char* op, const Value& args) {
  if (args.kind() != Value::Kind::Tuple) fail_at(std::string(op) + " arguments are not a tuple");
  Value callable = top();
  Value result = hooks_.reduce(callable, args);
  adopt(result);
  top() = std::move(result);
}

Value Machine::run(size_t* consumed) {
  if (data_.size > limits_.max_pickle_bytes)
    fail("pickle of " + std::to_string(data_.size) + " bytes exceeds the limit of " +
         std::to_string(limits_.max_pickle_bytes));
  for (;;) {
    op_pos_ = pos_;
    if (pos_ >= data_.size) truncated();
    uint8_t op = data_.data[pos_++];
    switch (op) {
      case PROTO: {
        uint8_t proto = take_u8();
        if (proto > 5) fail_at("unsupported pickle protocol " + std::to_string(proto));
        break;
      }
      case FRAME: {
        uint64_t n = take_le64();
        if (n > data_.size - pos_) truncated();
        break;
      }
      case STOP: {
        if (!marks_.empty()) fail_at("STOP inside an open MARK");
        if (stack_.size() != 1)
          fail_at("STOP with " + std::to_string(stack_.size()) + " items on the stack (expected 1)");
        Value result = std::move(stack_.back());
        stack_.clear();
        memo_dense_.clear();
        memo_sparse_.clear();
        dict_index_.clear();
        check_result(result);
        if (consumed) *consumed = pos_;
        return result;
      }
      case MARK:
        if (marks_.size() >= limits_.max_depth)
          fail_at("MARK nesting deeper than " + std::to_string(limits_.max_depth));
        marks_.push_back(stack_.size());
        break;
      case POP:
        if (stack_.size() > base()) {
          stack_.pop_back();
        } else if (!marks_.empty()) {
          marks_.pop_back();  // Python: POP on an empty frame discards the mark
        } else {
          underflow();
        }
        break;
      case POP_MARK:
        pop_mark();
        break;
      case DUP: {
        Value v = top();
        push(std::move(v));
        break;
      }
      case NONE: push(Value::none()); break;
      case NEWTRUE: push(Value::boolean(true)); break;
      case NEWFALSE: push(Value::boolean(false)); break;
      case INT: op_int_text(); break;
      case LONG: op_long_text(); break;
      case BININT: {
        uint32_t u = take_le32();
        int32_t v;
        std::memcpy(&v, &u, sizeof v);
        push(Value::integer(v));
        break;
      }
      case BININT1: push(Value::integer(take_u8())); break;
      case BININT2: push(Value::integer(load_le16(take(2)))); break;
      case LONG1: op_long_bin(take_u8()); break;
      case LONG4: {
        uint32_t u = take_le32();
        if (u & 0x80000000u) fail_at("negative LONG4 length");
        op_long_bin(u);
        break;
      }
      case FLOAT: op_float_text(); break;
      case BINFLOAT: {
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        double d;
        std::memcpy(&d, &bits, sizeof d);
        push(Value::floating(d));
        break;
      }
      case STRING: op_string_text(); break;
      case BINSTRING: {
        uint32_t u = take_le32();
        if (u & 0x80000000u) fail_at("negative BINSTRING length");
        op_binstring(u);
        break;
      }
      case SHORT_BINSTRING: op_binstring(take_u8()); break;
      case UNICODE: op_unicode_text(); break;
      case BINUNICODE: push_new(make_string(std::string(take_string(take_le32())))); break;
      case SHORT_BINUNICODE: push_new(make_string(std::string(take_string(take_u8())))); break;
      case BINUNICODE8: push_new(make_string(std::string(take_string(take_le64())))); break;
      case BINBYTES: push_new(Value::bytes(std::string(take_string(take_le32())))); break;
      case SHORT_BINBYTES: push_new(Value::bytes(std::string(take_string(take_u8())))); break;
      case BINBYTES8:
      case BYTEARRAY8: push_new(Value::bytes(std::string(take_string(take_le64())))); break;
      case EMPTY_TUPLE: push(empty_tuple()); break;
      case TUPLE: push(new_tuple(pop_mark())); break;
      case TUPLE1:
      case TUPLE2:
      case TUPLE3: {
        size_t n = size_t(op - TUPLE1) + 1;
        if (stack_.size() < base() + n) underflow();
        List items(std::make_move_iterator(stack_.end() - std::ptrdiff_t(n)), std::make_move_iterator(stack_.end()));
        stack_.resize(stack_.size() - n);
        push(new_tuple(std::move(items)));
        break;
      }
      case EMPTY_LIST: push(new_list({})); break;
      case LIST: push(new_list(pop_mark())); break;
      case APPEND: {
        Value v = pop();
        append(list_target(top(), "APPEND"), std::move(v));
        break;
      }
      case APPENDS: {
        const size_t m = close_mark();
        List& l = list_target(below(m), "APPENDS");
        for (size_t i = m; i < stack_.size(); ++i) append(l, std::move(stack_[i]));
        stack_.resize(m);
        break;
      }
      case EMPTY_DICT: push(new_dict()); break;
      case DICT: {
        const size_t m = close_mark();
        Value d = new_dict();
        set_items(d, m, "DICT");
        push(std::move(d));
        break;
      }
      case SETITEM: {
        Value value = pop();
        Value key = pop();
        dict_set(top(), std::move(key), std::move(value));
        break;
      }
      case SETITEMS: {
        const size_t m = close_mark();
        Value& d = below(m);
        if (d.kind() != Value::Kind::Dict) fail_at("SETITEMS on a non-dict");
        set_items(d, m, "SETITEMS");
        break;
      }
      case GLOBAL: {
        std::string module(take_line());
        std::string name(take_line());
        op_global(std::move(module), std::move(name));
        break;
      }
      case STACK_GLOBAL: {
        Value name = pop();
        Value module = pop();
        if (!module.is_string() || !name.is_string()) fail_at("STACK_GLOBAL needs two strings");
        op_global(module.as_string(), name.as_string());
        break;
      }
      case REDUCE: op_call("REDUCE", pop()); break;
      case NEWOBJ: op_call("NEWOBJ", pop()); break;
      case NEWOBJ_EX: {
        Value kwargs = pop();
        Value args = pop();
        if (args.kind() != Value::Kind::Tuple) fail_at("NEWOBJ_EX arguments are not a tuple");
        if (kwargs.kind() != Value::Kind::Dict || !kwargs.as_dict().items.empty())
          fail_at("NEWOBJ_EX with keyword arguments is not supported");
        op_call("NEWOBJ_EX", args);
        break;
      }
      case BUILD: {
        Value state = pop();
        hooks_.build(top(), state);
        Value& obj = top();
        if (obj.is_dict() && obj.as_dict().metadata) {
          charge(detail::kObjectBytes);
          track(*obj.as_dict().metadata);
        }
        break;
      }
      case PERSID: {
        std::string_view line = take_line();
        Value pid = make_string(std::string(line));
        Value v = hooks_.persistent_load(pid);
        adopt(v);
        push(std::move(v));
        break;
      }
      case BINPERSID: {
        Value pid = pop();
        Value v = hooks_.persistent_load(pid);
        adopt(v);
        push(std::move(v));
        break;
      }
      case PUT: do_memo_put(parse_text_index(take_line())); break;
      case BINPUT: do_memo_put(take_u8()); break;
      case LONG_BINPUT: do_memo_put(take_le32()); break;
      case MEMOIZE: do_memo_put(memo_size()); break;
      case GET: do_memo_get(parse_text_index(take_line())); break;
      case BINGET: do_memo_get(take_u8()); break;
      case LONG_BINGET: do_memo_get(take_le32()); break;
      case EMPTY_SET:
      case ADDITEMS:
      case FROZENSET:
        fail_at("pickle sets are not supported (opcode " + hex_byte(op) + ")");
      default:
        fail_at("unsupported pickle opcode " + hex_byte(op));
    }
  }
}

// Cycle check, depth check and tree-walk node count of the result, iteratively.
void Machine::check_result(const Value& root) {
  // Sizes saturate at limit + 1; the top value marks a container being walked.
  constexpr uint64_t kInProgress = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = std::min<uint64_t>(budget_.node_limit(), std::numeric_limits<uint64_t>::max() - 2);
  auto add = [limit](uint64_t a, uint64_t b) { return std::min(sat_add(a, b), limit + 1); };
  auto child_count = [](const Value& v) -> size_t {
    if (v.is_sequence()) return v.items().size();
    const Dict& d = v.as_dict();
    return d.items.size() * 2 + (d.metadata ? 1 : 0);
  };
  auto child_at = [](const Value& v, size_t i) -> const Value& {
    if (v.is_sequence()) return v.items()[i];
    const Dict& d = v.as_dict();
    if (i / 2 < d.items.size()) return i % 2 ? d.items[i / 2].second : d.items[i / 2].first;
    return *d.metadata;
  };
  auto too_many = [&]() { throw FormatError(budget_.nodes_exceeded()); };
  auto enter = [&](const void* id) {
    if (!budget_.charge_memory(kMapEntryBytes)) throw FormatError(budget_.memory_exceeded());
    walked_.emplace(id, kInProgress);
  };

  if (!root.is_container()) {
    if (limit < 1) too_many();
    return;
  }
  struct Frame {
    const Value* v;
    size_t next;
    uint64_t acc;
  };
  std::unordered_map<const void*, uint64_t>& done = walked_;  // container -> tree-walk size
  std::vector<Frame> frames;
  frames.push_back({&root, 0, 1});
  enter(root.identity());
  uint64_t total = 0;
  while (!frames.empty()) {
    Frame& f = frames.back();
    if (f.next < child_count(*f.v)) {
      const Value& c = child_at(*f.v, f.next++);
      if (!c.is_container()) {
        f.acc = add(f.acc, 1);
      } else {
        const void* id = c.identity();
        auto it = done.find(id);
        if (it == done.end()) {
          if (frames.size() >= limits_.max_depth)
            throw FormatError("pickle nesting deeper than " + std::to_string(limits_.max_depth));
          enter(id);
          frames.push_back({&c, 0, 1});  // invalidates f
          continue;
        }
        if (it->second == kInProgress) throw FormatError("recursive structure in pickle (a container holds itself)");
        f.acc = add(f.acc, it->second);
      }
      if (f.acc > limit) too_many();
      continue;
    }
    uint64_t size = f.acc;  // <= limit, so never kInProgress
    done[f.v->identity()] = size;
    frames.pop_back();
    if (frames.empty()) {
      total = size;
    } else {
      frames.back().acc = add(frames.back().acc, size);
      if (frames.back().acc > limit) too_many();
    }
  }
  if (total > limit) too_many();
  keep_result_ = true;
}

// Empties every container built here that is not part of the returned value, then drops
// the registry. Breaks any reference cycle (the result itself is acyclic) and keeps
// destruction shallow: the registry holds every container, so none dies recursively.
void Machine::release_containers() {
  empty_tuple_ = Value();
  stack_.clear();
  memo_dense_.clear();
  memo_sparse_.clear();
  for (Value& v : registry_) {
    if (keep_result_ && walked_.count(v.identity())) continue;
    if (v.is_sequence()) {
      List().swap(v.items());
    } else if (v.is_dict()) {
      Dict& d = v.as_dict();
      std::vector<std::pair<Value, Value>>().swap(d.items);
      d.metadata.reset();
    }
  }
  registry_.clear();
}

}  // namespace

Value unpickle(ByteView data, PickleHooks& hooks, const PickleLimits& limits, size_t* consumed) {
  Machine m(data, hooks, limits);
  return m.run(consumed);
}

}  // namespace pth
