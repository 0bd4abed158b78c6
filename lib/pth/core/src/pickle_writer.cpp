// Protocol-2 pickle writer for value trees, in the shape torch.save gives its files.
#include "pth/pickle_writer.hpp"

#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "internal/utf8.hpp"
#include "pth/utf8.hpp"
#include "pth/error.hpp"

namespace pth {
namespace {

constexpr size_t kBatch = 1000;       // items per APPENDS/SETITEMS, as Python
constexpr size_t kMaxWriteDepth = 1000;

// Drops high bytes that only repeat the sign of the byte below (keeps at least one).
void drop_sign_extension(std::string& b) {
  while (b.size() > 1) {
    uint8_t last = uint8_t(b[b.size() - 1]), prev = uint8_t(b[b.size() - 2]);
    if ((last == 0x00 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80)))
      b.pop_back();
    else
      break;
  }
}

// Minimal little-endian two's complement of an int64 (empty for zero, as Python).
std::string twos_complement(int64_t v) {
  if (v == 0) return {};
  uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  std::string b;
  for (int i = 0; i < 8; ++i) b += char(uint8_t(u >> (8 * i)));
  drop_sign_extension(b);
  return b;
}

// Decimal digits (optional '-') -> minimal little-endian two's complement.
std::string twos_complement(const std::string& decimal) {
  std::string_view d = decimal;
  bool negative = false;
  if (!d.empty() && (d[0] == '-' || d[0] == '+')) {
    negative = d[0] == '-';
    d.remove_prefix(1);
  }
  if (d.empty()) throw Error("big integer has no digits");
  for (char c : d)
    if (c < '0' || c > '9') throw Error("big integer '" + decimal.substr(0, 40) + "' is not decimal");
  // magnitude in 32-bit limbs, little-endian
  std::vector<uint32_t> limbs;
  for (size_t i = 0; i < d.size();) {
    size_t take = std::min<size_t>(9, d.size() - i);
    uint32_t chunk = 0, mul = 1;
    for (size_t k = 0; k < take; ++k) {
      chunk = chunk * 10 + uint32_t(d[i + k] - '0');
      mul *= 10;
    }
    i += take;
    uint64_t carry = chunk;
    for (auto& l : limbs) {
      uint64_t cur = uint64_t(l) * mul + carry;
      l = uint32_t(cur);
      carry = cur >> 32;
    }
    if (carry) limbs.push_back(uint32_t(carry));
  }
  std::string b;
  for (uint32_t l : limbs)
    for (int k = 0; k < 4; ++k) b += char(uint8_t(l >> (8 * k)));
  b += '\0';  // room for the sign bit
  if (negative) {
    unsigned carry = 1;
    for (auto& ch : b) {
      unsigned x = unsigned(uint8_t(~uint8_t(ch))) + carry;
      ch = char(uint8_t(x));
      carry = x >> 8;
    }
  }
  drop_sign_extension(b);
  if (b.size() == 1 && b[0] == '\0') b.clear();  // zero
  return b;
}

class Writer {
 public:
  explicit Writer(const std::function<std::string(const Storage&)>& storage_key) : storage_key_(storage_key) {}

  std::string finish(const Value& root) {
    out_ = "\x80\x02";
    save(root, 0);
    out_ += '.';
    return std::move(out_);
  }

 private:
  void u8(uint8_t b) { out_ += char(b); }
  void le32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_ += char(uint8_t(v >> (8 * i)));
  }

  // An opcode taking a memo index: the one-byte form when the index fits.
  void memo_op(uint8_t short_op, uint8_t long_op, uint32_t idx) {
    if (idx < 256) {
      u8(short_op);
      u8(uint8_t(idx));
    } else {
      u8(long_op);
      le32(idx);
    }
  }
  void put_memo(const void* id) {
    uint32_t idx = next_memo_++;
    if (id) memo_[id] = idx;
    memo_op('q', 'r', idx);  // BINPUT, LONG_BINPUT
  }
  bool get_memo(const void* id) {
    auto it = memo_.find(id);
    if (it == memo_.end()) return false;
    memo_op('h', 'j', it->second);  // BINGET, LONG_BINGET
    return true;
  }

  void save_int(int64_t v) {
    if (v >= 0 && v <= 0xff) {
      u8('K');
      u8(uint8_t(v));
    } else if (v >= 0 && v <= 0xffff) {
      u8('M');
      u8(uint8_t(v));
      u8(uint8_t(v >> 8));
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      u8('J');
      le32(uint32_t(int32_t(v)));
    } else {
      save_long_bytes(twos_complement(v));
    }
  }
  void save_long_bytes(const std::string& b) {
    if (b.size() < 256) {
      u8(0x8a);
      u8(uint8_t(b.size()));
    } else {
      if (b.size() > 0x7fffffffu) throw Error("integer too large to pickle");
      u8(0x8b);
      le32(uint32_t(b.size()));
    }
    out_ += b;
  }
  void save_float(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    u8('G');
    for (int i = 7; i >= 0; --i) u8(uint8_t(bits >> (8 * i)));
  }
  void save_str(std::string_view s) {
    if (!pth::is_valid_utf8(s)) throw Error("string is not valid UTF-8: cannot pickle it");
    if (s.size() > 0xffffffffu) throw Error("string of " + std::to_string(s.size()) + " bytes is too long to pickle");
    u8('X');
    le32(uint32_t(s.size()));
    out_.append(s.data(), s.size());
  }
  void save_global(std::string_view module, std::string_view name) {
    if (module.find('\n') != std::string_view::npos || name.find('\n') != std::string_view::npos || module.empty() ||
        name.empty())
      throw Error("invalid global name");
    u8('c');
    out_.append(module.data(), module.size());
    u8('\n');
    out_.append(name.data(), name.size());
    u8('\n');
  }
  void save_bytes(const std::string& b) {
    // _codecs.encode(<latin-1 code points as str>, 'latin1'): what protocol 2 writes.
    std::string text;
    text.reserve(b.size() * 2);
    for (unsigned char c : b) detail::append_utf8(text, c);
    save_global("_codecs", "encode");
    save_str(text);
    save_str("latin1");
    u8(0x86);  // TUPLE2
    u8('R');
  }
  // An instance of a plain class (argparse.Namespace) as Python pickles one: cls.__new__(cls),
  // then BUILD with its attributes.
  void save_object(const void* id, const Dict& d, size_t depth) {
    const size_t dot = d.python_class.rfind('.');
    if (dot == std::string::npos) throw Error("cannot pickle an instance of " + d.python_class);
    save_global(d.python_class.substr(0, dot), d.python_class.substr(dot + 1));
    u8(')');
    u8(0x81);  // NEWOBJ
    put_memo(id);
    u8('}');
    save_batched(d.items.size(), 'u', [&](size_t k) {  // SETITEMS
      save(d.items[k].first, depth + 1);
      save(d.items[k].second, depth + 1);
    });
    u8('b');  // BUILD
  }
  void save_empty_ordered_dict() {
    save_global("collections", "OrderedDict");
    u8(')');
    u8('R');
  }

  // A container met again while its own items are being written contains itself.
  void check_not_recursive(const void* id) const {
    if (in_progress_.count(id)) throw Error("value contains itself: cannot pickle a recursive structure");
  }
  void enter(const void* id, size_t depth) {
    if (depth > kMaxWriteDepth)
      throw Error("value nesting deeper than " + std::to_string(kMaxWriteDepth) + ": cannot pickle it");
    in_progress_.insert(id);
  }
  void leave(const void* id) { in_progress_.erase(id); }

  void save(const Value& v, size_t depth) {
    const void* id = v.identity();
    if (v.is_container()) {
      check_not_recursive(id);
      if (get_memo(id)) return;
    }
    switch (v.kind()) {
      case Value::Kind::None: u8('N'); return;
      case Value::Kind::Bool: u8(v.as_bool() ? 0x88 : 0x89); return;
      case Value::Kind::Int: save_int(v.as_int()); return;
      case Value::Kind::BigInt: save_long_bytes(twos_complement(v.as_string())); return;
      case Value::Kind::Float: save_float(v.as_number()); return;
      case Value::Kind::String: save_str(v.as_string()); return;
      case Value::Kind::Bytes: save_bytes(v.as_string()); return;
      case Value::Kind::Global: save_global(v.as_global().module, v.as_global().name); return;
      case Value::Kind::Storage: throw Error("a bare storage cannot be pickled (only tensors that view one)");
      case Value::Kind::Tensor: save_tensor(v.as_tensor()); return;
      case Value::Kind::List: {
        enter(id, depth);
        u8(']');
        put_memo(id);
        const List& items = v.items();
        save_batched(items.size(), 'e', [&](size_t k) { save(items[k], depth + 1); });  // APPENDS
        leave(id);
        return;
      }
      case Value::Kind::Tuple: {
        const List& items = v.items();
        if (items.empty()) {
          u8(')');
          return;
        }
        enter(id, depth);
        save_tuple(items.size(), [&] {
          for (const Value& item : items) save(item, depth + 1);
        });
        leave(id);
        put_memo(id);
        return;
      }
      case Value::Kind::Dict: {
        enter(id, depth);
        const Dict& d = v.as_dict();
        if (!d.python_class.empty()) {
          save_object(id, d, depth);
          leave(id);
          return;
        }
        if (d.ordered) {
          save_empty_ordered_dict();
        } else {
          u8('}');
        }
        put_memo(id);
        save_batched(d.items.size(), 'u', [&](size_t k) {  // SETITEMS
          save(d.items[k].first, depth + 1);
          save(d.items[k].second, depth + 1);
        });
        if (d.ordered && d.metadata) {
          u8('}');  // the instance __dict__: {'_metadata': metadata}
          u8('(');
          save_str("_metadata");
          save(*d.metadata, depth + 1);
          u8('u');
          u8('b');  // BUILD
        }
        leave(id);
        return;
      }
    }
    throw Error("cannot pickle a value of unknown kind");
  }

  // MARK, up to kBatch items, `op` (APPENDS or SETITEMS), again until all are written.
  template <class SaveItem>
  void save_batched(size_t n, uint8_t op, SaveItem save_item) {
    for (size_t i = 0; i < n; i += kBatch) {
      u8('(');
      size_t end = std::min(n, i + kBatch);
      for (size_t k = i; k < end; ++k) save_item(k);
      u8(op);
    }
  }

  // A tuple of n items as Python writes it: EMPTY_TUPLE, TUPLE1..3, or MARK ... TUPLE.
  template <class SaveItems>
  void save_tuple(size_t n, SaveItems save_items) {
    if (n == 0) return u8(')');
    if (n > 3) u8('(');
    save_items();
    u8(n > 3 ? uint8_t('t') : uint8_t(0x85 + n - 1));
  }

  void save_size_tuple(const std::vector<int64_t>& dims) {
    save_tuple(dims.size(), [&] {
      for (int64_t x : dims) save_int(x);
    });
  }

  void save_plain_tensor(const Tensor& t, bool requires_grad) {
    if (!t.storage) throw Error("tensor has no storage: cannot pickle it");
    const Storage& s = *t.storage;
    if (s.dtype != t.dtype)
      throw Error("tensor of " + std::string(dtype_name(t.dtype)) + " views a storage of " +
                  std::string(dtype_name(s.dtype)) + ": cannot pickle it as _rebuild_tensor_v2");
    if (t.shape.size() != t.stride.size()) throw Error("tensor shape and stride differ in length");
    auto it = storage_keys_.find(&s);
    if (it == storage_keys_.end()) it = storage_keys_.emplace(&s, storage_key_(s)).first;
    save_global("torch._utils", "_rebuild_tensor_v2");
    u8('(');
    // persistent id ('storage', torch.<X>Storage, key, location, numel)
    u8('(');
    save_str("storage");
    save_global("torch", storage_class_name(s.dtype));
    save_str(it->second);
    save_str(s.device);
    save_int(s.numel);
    u8('t');
    u8('Q');  // BINPERSID
    save_int(t.storage_offset);
    save_size_tuple(t.shape);
    save_size_tuple(t.stride);
    u8(requires_grad ? 0x88 : 0x89);
    save_empty_ordered_dict();
    u8('t');
    u8('R');
  }

  void save_tensor(const std::shared_ptr<Tensor>& tp) {
    if (!tp) throw Error("null tensor: cannot pickle it");
    if (get_memo(tp.get())) return;
    const Tensor& t = *tp;
    if (t.is_parameter) {
      save_global("torch._utils", "_rebuild_parameter");
      u8('(');
      save_plain_tensor(t, false);  // Parameter pickles its .data, which never requires grad
      u8(t.requires_grad ? 0x88 : 0x89);
      save_empty_ordered_dict();
      u8('t');
      u8('R');
    } else {
      save_plain_tensor(t, t.requires_grad);
    }
    put_memo(tp.get());
  }

  const std::function<std::string(const Storage&)>& storage_key_;
  std::string out_;
  std::unordered_map<const void*, uint32_t> memo_;
  uint32_t next_memo_ = 0;
  std::unordered_set<const void*> in_progress_;
  std::unordered_map<const Storage*, std::string> storage_keys_;
};

}  // namespace

std::string pickle_value(const Value& root, const std::function<std::string(const Storage&)>& storage_key) {
  Writer w(storage_key);
  return w.finish(root);
}

}  // namespace pth
