// What a dataset pickle may name: NumPy arrays and dtypes, nothing that runs code.
#include "pth/numpy_unpickler.hpp"

#include <memory>
#include <optional>
#include <string_view>

#include "internal/pickle_calls.hpp"
#include "pth/error.hpp"
#include "pth/input_file.hpp"
#include "pth/utf8.hpp"

namespace pth {

namespace {

using namespace detail::pickle_calls;

enum class Callable { Dtype, Reconstruct, FromBuffer, Encode };

std::optional<Callable> callable_named(const std::string& module, const std::string& name) {
  const bool core = module == "numpy.core.multiarray" || module == "numpy._core.multiarray";
  const bool numeric = module == "numpy.core.numeric" || module == "numpy._core.numeric";
  if (module == "numpy" && name == "dtype") return Callable::Dtype;
  if (core && name == "_reconstruct") return Callable::Reconstruct;
  if (numeric && name == "_frombuffer") return Callable::FromBuffer;
  if (module == "_codecs" && name == "encode") return Callable::Encode;
  return std::nullopt;
}

// NumPy's type codes without byte order ("u1", "i8", "f4", "b1").
std::optional<DType> dtype_of_descr(std::string_view descr) {
  if (!descr.empty() && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=')) descr.remove_prefix(1);
  static const std::pair<std::string_view, DType> kCodes[] = {
      {"b1", DType::Bool},    {"u1", DType::UInt8},   {"i1", DType::Int8},    {"i2", DType::Int16},
      {"i4", DType::Int32},   {"i8", DType::Int64},   {"f2", DType::Float16}, {"f4", DType::Float32},
      {"f8", DType::Float64},
  };
  for (const auto& [code, dtype] : kCodes)
    if (descr == code) return dtype;
  return std::nullopt;
}

DType dtype_argument(const GlobalRef& fn, const Value& v) {
  if (v.kind() == Value::Kind::Global && v.as_global().module == "numpy")
    if (const std::optional<DType> d = dtype_of_descr(v.as_global().name)) return *d;
  bad_arg(fn, std::string("dtype argument is a ") + kind_word(v) + ", not a numpy dtype");
}

// The raw bytes of an array: bytes, or a Python 2 str read as latin-1.
Value raw_bytes(const GlobalRef& fn, const Value& v) {
  if (v.kind() == Value::Kind::Bytes) return v;
  if (v.is_string())
    if (std::optional<std::string> raw = latin1_from_utf8(v.as_string())) return Value::bytes(std::move(*raw));
  bad_arg(fn, std::string("array data is a ") + kind_word(v) + ", not bytes (object arrays are not supported)");
}

// Points `t` at `raw` as a C-ordered array of `shape`.
void fill_array(const GlobalRef& fn, Tensor& t, DType dtype, std::vector<int64_t> shape, const Value& raw) {
  const Value bytes = raw_bytes(fn, raw);
  uint64_t numel = 1;
  for (int64_t d : shape) {
    if (d != 0 && numel > (uint64_t(1) << 62) / uint64_t(d)) bad_arg(fn, "array shape is too large");
    numel *= uint64_t(d);
  }
  const std::string& data = bytes.as_string();
  if (numel * dtype_size(dtype) != data.size())
    bad_arg(fn, "array of " + std::to_string(numel) + " elements of " + std::string(dtype_name(dtype)) + " holds " +
                    std::to_string(data.size()) + " bytes");
  auto storage = std::make_shared<Storage>();
  storage->dtype = dtype;
  storage->numel = int64_t(numel);
  auto owner = std::make_shared<const Value>(bytes);
  storage->data = std::make_shared<MemoryStorageData>(ByteView(data.data(), data.size()), owner);
  t.dtype = dtype;
  t.stride = Tensor::contiguous_strides(shape);
  t.shape = std::move(shape);
  t.storage_offset = 0;
  t.storage = std::move(storage);
}

bool is_order_c(const Value& v) {
  return v.is_string() && v.as_string() == "C";
}

}  // namespace

Value NumpyPickleHooks::find_global(const std::string& module, const std::string& name) {
  if (!callable_named(module, name) && !(module == "numpy" && name == "ndarray"))
    throw UnsafeError("refused global " + quoted_global(module, name) + " (a dataset pickle holds only NumPy arrays)");
  return Value::global(module, name);
}

Value NumpyPickleHooks::reduce(const Value& callable, const Value& args) {
  const Callable what = checked_call(callable, args, callable_named);
  const GlobalRef& fn = callable.as_global();
  const List& a = args.items();
  switch (what) {
    case Callable::Dtype: {
      tuple_args(fn, args, 1, 3);
      if (!a[0].is_string() || !dtype_of_descr(a[0].as_string()))
        bad_arg(fn, "only bool, (u)int8, int16/32/64 and float16/32/64 dtypes are supported");
      return Value::global("numpy", a[0].as_string());
    }
    case Callable::Reconstruct: {
      tuple_args(fn, args, 3, 3);
      if (a[0].kind() != Value::Kind::Global || a[0].as_global().name != "ndarray")
        bad_arg(fn, "only numpy.ndarray is supported");
      return Value::tensor(std::make_shared<Tensor>());   // filled by BUILD
    }
    case Callable::FromBuffer: {
      tuple_args(fn, args, 4, 4);
      if (!is_order_c(a[3])) bad_arg(fn, "only C-ordered arrays are supported");
      auto t = std::make_shared<Tensor>();
      fill_array(fn, *t, dtype_argument(fn, a[1]), int_tuple(fn, "shape", a[2]), a[0]);
      return Value::tensor(std::move(t));
    }
    case Callable::Encode:
      return codecs_encode(fn, a);
  }
  throw UnsafeError("refused call of global " + quoted_global(fn.module, fn.name));
}

void NumpyPickleHooks::build(Value& obj, const Value& state) {
  if (!state.is_sequence()) throw FormatError(std::string("BUILD state is a ") + kind_word(state) + ", not a tuple");
  const List& s = state.items();
  if (obj.kind() == Value::Kind::Global && obj.as_global().module == "numpy") {
    const GlobalRef fn{"numpy", "dtype"};
    // (version, byteorder, subdescr, names, fields, elsize, alignment, flags)
    if (s.size() < 2 || !s[1].is_string()) bad_arg(fn, "state without a byte order");
    const std::string& order = s[1].as_string();
    if (order != "<" && order != "|" && order != "=") bad_arg(fn, "big-endian arrays are not supported");
    if (s.size() > 3 && !s[3].is_none()) bad_arg(fn, "structured dtypes are not supported");
    return;
  }
  if (obj.is_tensor() && !obj.as_tensor()->storage) {
    const GlobalRef fn{"numpy", "ndarray"};
    // (version, shape, dtype, is_fortran, raw data)
    if (s.size() != 5) bad_arg(fn, "state has " + std::to_string(s.size()) + " items, not 5");
    if (!s[3].is_bool()) bad_arg(fn, "is_fortran is not a bool");
    std::vector<int64_t> shape = int_tuple(fn, "shape", s[1]);
    if (s[3].as_bool() && shape.size() > 1) bad_arg(fn, "Fortran-ordered arrays are not supported");
    fill_array(fn, *obj.as_tensor(), dtype_argument(fn, s[2]), std::move(shape), s[4]);
    return;
  }
  throw UnsafeError(std::string("refused BUILD on a ") + kind_word(obj));
}

Value NumpyPickleHooks::persistent_load(const Value&) {
  throw UnsafeError("refused persistent id (a dataset pickle has none)");
}

Value read_numpy_pickle(const std::string& path, uint64_t max_bytes) {
  const std::string bytes = read_input_file(path, max_bytes);
  NumpyPickleHooks hooks;
  return unpickle({bytes.data(), bytes.size()}, hooks);
}

}  // namespace pth
