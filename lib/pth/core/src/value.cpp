#include "pth/value.hpp"

#include <cstring>
#include <unordered_map>

#include "pth/error.hpp"

namespace pth {

void StorageData::copy_range(size_t offset, size_t size, void* dst) const {
  const ByteView all = bytes();
  if (offset > all.size || size > all.size - offset) throw FormatError("copy outside the storage data");
  if (size) std::memcpy(dst, all.data + offset, size);
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> Tensor::contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> stride(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    stride[i] = s;
    s *= shape[i] > 1 ? shape[i] : 1;
  }
  return stride;
}

bool Tensor::is_contiguous() const {
  // As PyTorch defines it: dimensions of size 1 may have any stride.
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 0) return true;
    if (shape[i] != 1 && stride[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k.kind() == Value::Kind::String && k.as_string() == key) return &v;
  return nullptr;
}

Value* Dict::find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Dict*>(this)->find(key));
}

void Dict::set(Value key, Value value) {
  for (auto& [k, v] : items) {
    if (keys_equal(k, key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

void Dict::set(std::string_view key, Value value) {
  if (Value* v = find(key)) *v = std::move(value);
  else items.emplace_back(Value::string(std::string(key)), std::move(value));
}

static_assert(sizeof(Value) == 16, "a Value is its kind and one word");

namespace {

template <class T>
struct Boxed : Value::Box {
  explicit Boxed(T v) : value(std::move(v)) {}
  T value;
};

using StringBox = Boxed<std::string>;
using ListBox = Boxed<List>;
using DictBox = Boxed<Dict>;
using TensorBox = Boxed<std::shared_ptr<Tensor>>;
using StorageBox = Boxed<std::shared_ptr<Storage>>;
using GlobalBox = Boxed<GlobalRef>;

[[noreturn]] void wrong_kind(Value::Kind actual, std::string_view wanted) {
  throw FormatError("expected " + std::string(wanted) + ", found " + std::string(Value::kind_name(actual)));
}

}  // namespace

void Value::destroy() noexcept {
  switch (kind_) {
    case Kind::BigInt:
    case Kind::String:
    case Kind::Bytes: delete static_cast<StringBox*>(box_); break;
    case Kind::List:
    case Kind::Tuple: delete static_cast<ListBox*>(box_); break;
    case Kind::Dict: delete static_cast<DictBox*>(box_); break;
    case Kind::Tensor: delete static_cast<TensorBox*>(box_); break;
    case Kind::Storage: delete static_cast<StorageBox*>(box_); break;
    case Kind::Global: delete static_cast<GlobalBox*>(box_); break;
    default: break;
  }
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.bool_ = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::Int;
  v.int_ = i;
  return v;
}

Value Value::floating(double d) {
  Value v;
  v.kind_ = Kind::Float;
  v.float_ = d;
  return v;
}

Value Value::big_integer(std::string decimal) { return Value(Kind::BigInt, new StringBox(std::move(decimal))); }
Value Value::string(std::string s) { return Value(Kind::String, new StringBox(std::move(s))); }
Value Value::bytes(std::string b) { return Value(Kind::Bytes, new StringBox(std::move(b))); }
Value Value::list(List items) { return Value(Kind::List, new ListBox(std::move(items))); }
Value Value::tuple(List items) { return Value(Kind::Tuple, new ListBox(std::move(items))); }
Value Value::tensor(std::shared_ptr<Tensor> t) { return Value(Kind::Tensor, new TensorBox(std::move(t))); }
Value Value::storage(std::shared_ptr<Storage> s) { return Value(Kind::Storage, new StorageBox(std::move(s))); }

Value Value::dict(bool ordered) {
  Dict d;
  d.ordered = ordered;
  return Value(Kind::Dict, new DictBox(std::move(d)));
}

Value Value::global(std::string module, std::string name) {
  return Value(Kind::Global, new GlobalBox(GlobalRef{std::move(module), std::move(name)}));
}

bool Value::as_bool() const {
  if (kind_ != Kind::Bool) wrong_kind(kind_, "bool");
  return bool_;
}

int64_t Value::as_int() const {
  if (kind_ != Kind::Int) wrong_kind(kind_, "int");
  return int_;
}

double Value::as_number() const {
  if (kind_ == Kind::Int) return double(int_);
  if (kind_ == Kind::Float) return float_;
  wrong_kind(kind_, "number");
}

const std::string& Value::as_string() const {
  if (kind_ != Kind::String && kind_ != Kind::Bytes && kind_ != Kind::BigInt) wrong_kind(kind_, "str");
  return static_cast<const StringBox*>(box_)->value;
}

const List& Value::items() const {
  if (!is_sequence()) wrong_kind(kind_, "list or tuple");
  return static_cast<const ListBox*>(box_)->value;
}

List& Value::items() { return const_cast<List&>(static_cast<const Value*>(this)->items()); }

const Dict& Value::as_dict() const {
  if (kind_ != Kind::Dict) wrong_kind(kind_, "dict");
  return static_cast<const DictBox*>(box_)->value;
}

Dict& Value::as_dict() { return const_cast<Dict&>(static_cast<const Value*>(this)->as_dict()); }

const std::shared_ptr<Tensor>& Value::as_tensor() const {
  if (kind_ != Kind::Tensor) wrong_kind(kind_, "tensor");
  return static_cast<const TensorBox*>(box_)->value;
}

const std::shared_ptr<Storage>& Value::as_storage() const {
  if (kind_ != Kind::Storage) wrong_kind(kind_, "storage");
  return static_cast<const StorageBox*>(box_)->value;
}

const GlobalRef& Value::as_global() const {
  if (kind_ != Kind::Global) wrong_kind(kind_, "global");
  return static_cast<const GlobalBox*>(box_)->value;
}

const void* Value::identity() const {
  switch (kind_) {
    case Kind::List:
    case Kind::Tuple:
    case Kind::Dict: return box_;
    case Kind::Tensor: return as_tensor().get();
    case Kind::Storage: return as_storage().get();
    default: return nullptr;
  }
}

namespace {
using TensorCopier = std::function<std::shared_ptr<Tensor>(const Tensor&)>;

// Copies containers (and tensors, with a copier) once each, so shared sub-trees stay
// shared in the copy.
Value copy_tree(const Value& v, std::unordered_map<const void*, Value>& copied, const TensorCopier* copy_tensor) {
  const bool copy = v.is_container() || (copy_tensor && v.is_tensor());
  if (!copy) return v;
  auto found = copied.find(v.identity());
  if (found != copied.end()) return found->second;
  Value out;
  if (v.is_tensor()) {
    out = Value::tensor((*copy_tensor)(*v.as_tensor()));
    copied.emplace(v.identity(), out);
  } else if (v.is_dict()) {
    const Dict& src = v.as_dict();
    out = Value::dict(src.ordered);
    copied.emplace(v.identity(), out);
    Dict& dst = out.as_dict();
    dst.items.reserve(src.items.size());
    for (const auto& [k, item] : src.items) dst.items.emplace_back(k, copy_tree(item, copied, copy_tensor));
    if (src.metadata) dst.metadata = std::make_shared<Value>(copy_tree(*src.metadata, copied, copy_tensor));
    dst.python_class = src.python_class;
  } else {
    out = v.kind() == Value::Kind::List ? Value::list() : Value::tuple();
    copied.emplace(v.identity(), out);
    List& dst = out.items();
    dst.reserve(v.items().size());
    for (const auto& item : v.items()) dst.push_back(copy_tree(item, copied, copy_tensor));
  }
  return out;
}
}  // namespace

Value Value::deep_copy() const {
  std::unordered_map<const void*, Value> copied;
  return copy_tree(*this, copied, nullptr);
}

Value Value::deep_copy(const TensorCopier& copy_tensor) const {
  std::unordered_map<const void*, Value> copied;
  return copy_tree(*this, copied, &copy_tensor);
}

std::string_view Value::kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::BigInt: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Tensor: return "tensor";
    case Kind::Storage: return "storage";
    case Kind::Global: return "global";
  }
  return "?";
}

}  // namespace pth
