#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pth/bytes.hpp"
#include "pth/dtype.hpp"

namespace pth {

// Where a storage's bytes come from: a mapped stored zip entry, an inflated entry, a
// legacy-file region, or memory owned by the caller (for writing). bytes() may do
// work the first time (inflate) and throws pth::Error if the data cannot be had.
class StorageData {
 public:
  virtual ~StorageData() = default;
  virtual ByteView bytes() const = 0;
  // bytes().size, without reading (or checking) the bytes.
  virtual size_t size() const { return bytes().size; }
  // Copies bytes [offset, offset + size) to dst; sources in a file may avoid the mapping.
  virtual void copy_range(size_t offset, size_t size, void* dst) const;
  // True when these bytes are a private copy that nothing will change (a tensor copied
  // off its device for this value): a snapshot of the value may keep them without copying.
  virtual bool is_snapshot() const { return false; }
};

// Caller-owned memory; `owner` keeps it alive (may be null if the caller guarantees it).
class MemoryStorageData : public StorageData {
 public:
  MemoryStorageData(ByteView view, std::shared_ptr<const void> owner) : view_(view), owner_(std::move(owner)) {}
  ByteView bytes() const override { return view_; }
  size_t size() const override { return view_.size; }

 private:
  ByteView view_;
  std::shared_ptr<const void> owner_;
};

// A PyTorch storage: a flat run of `numel` elements of `dtype`. Tensors that are views of
// one storage share the same Storage object (pointer identity = sharing).
struct Storage {
  DType dtype = DType::Float32;
  int64_t numel = 0;
  std::string key;              // record name under data/ in the file it was read from
  std::string device = "cpu";   // "cpu", "cuda:0", ...
  std::shared_ptr<const StorageData> data;

  uint64_t nbytes() const { return uint64_t(numel) * dtype_size(dtype); }
};

// A tensor reference: metadata plus the storage it views. No data is read to make one.
struct Tensor {
  DType dtype = DType::Float32;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;   // in elements
  int64_t storage_offset = 0;    // in elements
  bool requires_grad = false;
  bool is_parameter = false;     // was an nn.Parameter
  std::shared_ptr<Storage> storage;

  int64_t numel() const;
  uint64_t nbytes() const { return uint64_t(numel()) * dtype_size(dtype); }
  bool is_contiguous() const;
  static std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape);
};

class Value;
using List = std::vector<Value>;

struct Dict {
  std::vector<std::pair<Value, Value>> items;   // insertion order
  bool ordered = false;                         // a collections.OrderedDict
  std::shared_ptr<Value> metadata;              // OrderedDict's `_metadata` attribute, if set
  std::string python_class;                     // "argparse.Namespace": an instance whose attributes are the items

  const Value* find(std::string_view key) const;   // a str key
  Value* find(std::string_view key);
  void set(Value key, Value value);             // replaces an equal key, else appends
  void set(std::string_view key, Value value);  // the same with a str key
};

// A Python global that the reader allowed (e.g. torch.float32 as a value).
struct GlobalRef {
  std::string module;
  std::string name;
};

// What a checkpoint holds. Containers are shared (like Python objects): copying a Value
// copies the reference. Use deep_copy() for an independent tree.
//
// A Value is 16 bytes: its kind and either the scalar itself or a pointer to one
// reference-counted heap object (str/bytes/big int text, list/tuple items, dict, tensor,
// storage, global). Strings cannot be changed through a Value, so copies share them too.
// Counts are atomic: Values may be copied and dropped on several threads at once.
class Value {
 public:
  enum class Kind : uint8_t { None, Bool, Int, BigInt, Float, String, Bytes, List, Tuple, Dict, Tensor, Storage, Global };

  Value() noexcept : kind_(Kind::None), int_(0) {}  // None
  Value(const Value& other) noexcept : kind_(other.kind_), int_(other.int_) { retain(); }
  Value(Value&& other) noexcept : kind_(other.kind_), int_(other.int_) { other.forget(); }
  Value& operator=(const Value& other) noexcept {
    other.retain();   // first: other may be held only through *this
    release();
    kind_ = other.kind_;
    int_ = other.int_;
    return *this;
  }
  Value& operator=(Value&& other) noexcept {
    if (this != &other) {
      release();
      kind_ = other.kind_;
      int_ = other.int_;
      other.forget();
    }
    return *this;
  }
  ~Value() { release(); }

  static Value none() { return Value(); }
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value big_integer(std::string decimal);  // an int outside int64
  static Value floating(double d);
  static Value string(std::string s);
  static Value bytes(std::string b);
  static Value list(List items = {});
  static Value tuple(List items = {});
  static Value dict(bool ordered = false);
  static Value tensor(std::shared_ptr<Tensor> t);
  static Value storage(std::shared_ptr<Storage> s);
  static Value global(std::string module, std::string name);

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_sequence() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_tensor() const { return kind_ == Kind::Tensor; }
  bool is_container() const { return is_sequence() || is_dict(); }

  // Accessors throw pth::FormatError naming the expected kind when the kind differs.
  bool as_bool() const;
  int64_t as_int() const;
  double as_number() const;                 // Int or Float
  const std::string& as_string() const;     // String, Bytes or BigInt digits
  const List& items() const;                // List or Tuple
  List& items();
  const Dict& as_dict() const;
  Dict& as_dict();
  const std::shared_ptr<Tensor>& as_tensor() const;
  const std::shared_ptr<Storage>& as_storage() const;
  const GlobalRef& as_global() const;

  // Identity of a shared container/tensor (null for scalars): lets walkers spot sharing.
  const void* identity() const;

  Value deep_copy() const;    // containers copied, tensors/storages still shared
  // The same, with every tensor replaced by `copy_tensor(tensor)`, once per tensor (a tensor
  // held in two places is one tensor in the copy too).
  Value deep_copy(const std::function<std::shared_ptr<Tensor>(const Tensor&)>& copy_tensor) const;
  static std::string_view kind_name(Kind k);

  // The reference-counted heap part: a count here, the payload in value.cpp.
  struct Box {
    std::atomic<uint32_t> refs{1};
  };

 private:
  Value(Kind kind, Box* box) noexcept : kind_(kind), box_(box) {}
  bool on_heap() const { return kind_ >= Kind::BigInt && kind_ != Kind::Float; }
  void retain() const noexcept {
    if (on_heap()) box_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    if (on_heap() && box_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
  }
  void forget() noexcept {
    kind_ = Kind::None;
    int_ = 0;
  }
  void destroy() noexcept;   // the last reference is gone: frees the box

  Kind kind_;
  union {
    bool bool_;
    int64_t int_;
    double float_;
    Box* box_;
  };
};

// Dict keys as Python compares them: 1 == 1.0 == True (ints of any size against floats
// exactly), str, bytes, None, tuples item by item; other values by identity.
bool keys_equal(const Value& a, const Value& b);
// A hash consistent with keys_equal for the keys a checkpoint may hold (None, bool, int,
// float, str and tuples of those); throws pth::FormatError ("unhashable dict key ...")
// for any other key.
size_t key_hash(const Value& key);
// A dict key rendered as a path component: strings as is, ints in decimal.
std::string key_to_string(const Value& key);

}  // namespace pth
