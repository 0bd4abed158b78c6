// What a torch.save pickle may name, and what each allowed name means. Everything not
// listed here is refused by name: reading a checkpoint never runs code.
#include "pth/torch_unpickler.hpp"

#include <optional>
#include <string_view>

#include "internal/dict_key_index.hpp"
#include "internal/pickle_calls.hpp"
#include "pth/error.hpp"
#include "pth/message.hpp"

namespace pth {

namespace {

using namespace detail::pickle_calls;

// Tensor from (storage, offset, size, stride, requires_grad, hooks): shared by v2 and v3.
Value rebuild_tensor(const GlobalRef& fn, const List& a, std::optional<DType> dtype) {
  if (a[0].kind() != Value::Kind::Storage || !a[0].as_storage())
    bad_arg(fn, std::string("storage argument is a ") + kind_word(a[0]) + ", not a storage");
  if (!a[1].is_int() || a[1].as_int() < 0) bad_arg(fn, "storage_offset is not a non-negative int");
  std::vector<int64_t> shape = int_tuple(fn, "size", a[2]);
  std::vector<int64_t> stride = int_tuple(fn, "stride", a[3]);
  if (shape.size() != stride.size())
    bad_arg(fn, "size has " + std::to_string(shape.size()) + " dimensions but stride has " +
                    std::to_string(stride.size()));
  if (!a[4].is_bool()) bad_arg(fn, std::string("requires_grad is a ") + kind_word(a[4]) + ", not a bool");
  if (!a[5].is_dict()) bad_arg(fn, std::string("backward_hooks is a ") + kind_word(a[5]) + ", not a dict");
  if (!a[5].as_dict().items.empty()) bad_arg(fn, "backward hooks are not supported");

  // Element count and furthest element must be representable (bounds against the
  // storage are checked by the checkpoint layer, which knows the storage size).
  int64_t offset = a[1].as_int();
  int64_t numel = 1;
  bool empty = false;
  for (int64_t s : shape)
    if (s == 0) empty = true;
  if (!empty) {
    int64_t last = offset;
    for (size_t i = 0; i < shape.size(); ++i) {
      int64_t step;
      if (__builtin_mul_overflow(numel, shape[i], &numel) ||
          __builtin_mul_overflow(shape[i] - 1, stride[i], &step) || __builtin_add_overflow(last, step, &last))
        bad_arg(fn, "tensor size overflows");
    }
  }

  auto t = std::make_shared<Tensor>();
  t->storage = a[0].as_storage();
  t->dtype = dtype ? *dtype : t->storage->dtype;
  t->shape = std::move(shape);
  t->stride = std::move(stride);
  t->storage_offset = offset;
  t->requires_grad = a[4].as_bool();
  return Value::tensor(std::move(t));
}

Value rebuild_parameter(const GlobalRef& fn, const List& a) {
  if (!a[0].is_tensor() || !a[0].as_tensor()) bad_arg(fn, std::string("data is a ") + kind_word(a[0]) + ", not a tensor");
  if (!a[1].is_bool()) bad_arg(fn, std::string("requires_grad is a ") + kind_word(a[1]) + ", not a bool");
  if (!a[2].is_dict()) bad_arg(fn, std::string("backward_hooks is a ") + kind_word(a[2]) + ", not a dict");
  if (!a[2].as_dict().items.empty()) bad_arg(fn, "backward hooks are not supported");
  // A Parameter is a new object sharing the tensor's storage.
  auto t = std::make_shared<Tensor>(*a[0].as_tensor());
  t->is_parameter = true;
  t->requires_grad = a[1].as_bool();
  return Value::tensor(std::move(t));
}

// Python state that carries nothing: None, {} or a (dict-or-None, slots-or-None) pair of those.
bool is_empty_state(const Value& s) {
  if (s.is_none() || is_empty_dict(s)) return true;
  if (s.kind() == Value::Kind::Tuple && s.items().size() == 2) {
    const List& p = s.items();
    return (p[0].is_none() || is_empty_dict(p[0])) && (p[1].is_none() || is_empty_dict(p[1]));
  }
  return false;
}

Value ordered_dict_from_pairs(const GlobalRef& fn, const Value& pairs) {
  if (!pairs.is_sequence()) bad_arg(fn, std::string("argument is a ") + kind_word(pairs) + ", not a list of pairs");
  Value out = Value::dict(true);
  Dict& d = out.as_dict();
  detail::DictKeyIndex index(d);
  for (const Value& p : pairs.items()) {
    if (!p.is_sequence() || p.items().size() != 2) bad_arg(fn, "argument holds an item that is not a pair");
    index.set(d, p.items()[0], p.items()[1]);
  }
  return out;
}

enum class Callable { RebuildV2, RebuildV3, Parameter, ParameterWithState, OrderedDict, Size, Encode, Bytes, Namespace };

// argparse.Namespace, which timm's and torchvision's training scripts save as `args`: an
// inert record (a dict marked with its class), never the class itself.
constexpr const char* kNamespaceClass = "argparse.Namespace";

struct AllowedCallable {
  std::string_view module, name;
  Callable what;
};

constexpr AllowedCallable kCallables[] = {
    {"torch._utils", "_rebuild_tensor_v2", Callable::RebuildV2},
    {"torch._utils", "_rebuild_tensor_v3", Callable::RebuildV3},
    {"torch._utils", "_rebuild_parameter", Callable::Parameter},
    {"torch._utils", "_rebuild_parameter_with_state", Callable::ParameterWithState},
    {"collections", "OrderedDict", Callable::OrderedDict},
    {"torch", "Size", Callable::Size},
    {"_codecs", "encode", Callable::Encode},
    // Python pickles an empty bytes object as bytes() under protocols < 3.
    {"__builtin__", "bytes", Callable::Bytes},
    {"builtins", "bytes", Callable::Bytes},
    {"argparse", "Namespace", Callable::Namespace},
};

// Looked up on every REDUCE: compared in place, nothing allocated.
std::optional<Callable> callable_named(const std::string& module, const std::string& name) {
  for (const AllowedCallable& c : kCallables)
    if (c.name == name && c.module == module) return c.what;
  return std::nullopt;
}

// torch.<name> dtype globals (torch.float32, torch.half, ...).
bool is_dtype_global_name(const std::string& name) { return dtype_from_name(name).has_value(); }

bool is_untyped_storage(const std::string& module, const std::string& name) {
  return name == "UntypedStorage" && (module == "torch" || module == "torch.storage");
}

}  // namespace

Value TorchPickleHooks::find_global(const std::string& module, const std::string& name) {
  bool allowed = callable_named(module, name).has_value() || is_untyped_storage(module, name);
  if (!allowed && module == "torch")
    allowed = is_dtype_global_name(name) || dtype_from_storage_class(name).has_value();
  if (!allowed) throw UnsafeError("refused global " + quoted_global(module, name));
  return Value::global(module, name);
}

Value TorchPickleHooks::reduce(const Value& callable, const Value& args) {
  const Callable what = checked_call(callable, args, callable_named);
  const GlobalRef& fn = callable.as_global();
  const List& a = args.items();
  switch (what) {
    case Callable::RebuildV2: {
      tuple_args(fn, args, 6, 7);
      if (a.size() == 7 && !a[6].is_dict()) bad_arg(fn, std::string("metadata is a ") + kind_word(a[6]) + ", not a dict");
      return rebuild_tensor(fn, a, std::nullopt);
    }
    case Callable::RebuildV3: {
      tuple_args(fn, args, 7, 8);
      if (a.size() == 8 && !a[7].is_dict()) bad_arg(fn, std::string("metadata is a ") + kind_word(a[7]) + ", not a dict");
      const Value& d = a[6];
      std::optional<DType> dtype;
      if (d.kind() == Value::Kind::Global && d.as_global().module == "torch" && is_dtype_global_name(d.as_global().name))
        dtype = dtype_from_name(d.as_global().name);
      if (!dtype) bad_arg(fn, std::string("dtype argument is a ") + kind_word(d) + ", not a torch dtype");
      return rebuild_tensor(fn, a, dtype);
    }
    case Callable::Parameter:
      tuple_args(fn, args, 3, 3);
      return rebuild_parameter(fn, a);
    case Callable::ParameterWithState:
      tuple_args(fn, args, 4, 4);
      if (!is_empty_state(a[3])) bad_arg(fn, "parameters with Python state are not supported");
      return rebuild_parameter(fn, a);
    case Callable::OrderedDict:
      tuple_args(fn, args, 0, 1);
      if (a.empty()) return Value::dict(true);
      return ordered_dict_from_pairs(fn, a[0]);
    case Callable::Size: {
      tuple_args(fn, args, 1, 1);
      if (!a[0].is_sequence()) bad_arg(fn, std::string("argument is a ") + kind_word(a[0]) + ", not a tuple");
      if (a[0].items().size() > kMaxDims) bad_arg(fn, "too many dimensions");
      List dims;
      for (const Value& x : a[0].items()) {
        if (!x.is_int()) bad_arg(fn, std::string("argument holds a ") + kind_word(x) + ", not an int");
        dims.push_back(x);
      }
      return Value::tuple(std::move(dims));
    }
    case Callable::Encode:
      return codecs_encode(fn, a);
    case Callable::Bytes:
      if (!a.empty()) bad_arg(fn, "only bytes() without arguments is supported");
      return Value::bytes("");
    case Callable::Namespace: {
      if (!a.empty()) bad_arg(fn, "only Namespace() without arguments is supported");
      Value ns = Value::dict(false);
      ns.as_dict().python_class = kNamespaceClass;
      return ns;
    }
  }
  throw UnsafeError("refused call of global " + quoted_global(fn.module, fn.name));
}

void TorchPickleHooks::build(Value& obj, const Value& state) {
  if (obj.is_dict() && obj.as_dict().ordered) {
    // OrderedDict instance attributes: a dict, or a (dict, slots) pair; only `_metadata`.
    const Value* attrs = &state;
    if (state.kind() == Value::Kind::Tuple) {
      const List& p = state.items();
      if (p.size() != 2 || !(p[1].is_none() || is_empty_dict(p[1])))
        throw FormatError("BUILD on OrderedDict with slot state is not allowed");
      attrs = &p[0];
    }
    if (attrs->is_none()) return;
    if (!attrs->is_dict()) throw FormatError(std::string("BUILD on OrderedDict with a ") + kind_word(*attrs) + " state");
    for (const auto& kv : attrs->as_dict().items) {
      if (!kv.first.is_string() || kv.first.as_string() != "_metadata") {
        std::string what = kv.first.is_string() ? quoted(kv.first.as_string()) : kind_word(kv.first);
        throw FormatError("BUILD on OrderedDict may only set _metadata, not " + what);
      }
      obj.as_dict().metadata = std::make_shared<Value>(kv.second);
    }
    return;
  }
  if (obj.is_dict() && obj.as_dict().python_class == kNamespaceClass) {
    // Its attributes: a dict of str keys, set once on a Namespace that has none yet.
    if (!state.is_dict()) throw FormatError(std::string("BUILD on argparse.Namespace with a ") + kind_word(state) + " state");
    Dict& d = obj.as_dict();
    if (!d.items.empty()) throw FormatError("BUILD on argparse.Namespace twice");
    for (const auto& kv : state.as_dict().items) {
      if (!kv.first.is_string()) throw FormatError(std::string("argparse.Namespace attribute named by a ") + kind_word(kv.first));
      d.items.push_back(kv);
    }
    return;
  }
  if (obj.is_tensor() && is_empty_state(state)) return;  // nothing to set
  throw FormatError(std::string("BUILD on ") + kind_word(obj) + " is not allowed");
}

}  // namespace pth
