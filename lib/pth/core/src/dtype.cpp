#include "pth/dtype.hpp"

#include <array>

namespace pth {
namespace {

struct DTypeInfo {
  DType type;
  std::string_view name;
  size_t size;
  std::string_view storage_class;
};

constexpr std::array<DTypeInfo, 12> kTypes{{
    {DType::Float32, "float32", 4, "FloatStorage"},
    {DType::Float64, "float64", 8, "DoubleStorage"},
    {DType::Float16, "float16", 2, "HalfStorage"},
    {DType::BFloat16, "bfloat16", 2, "BFloat16Storage"},
    {DType::Int64, "int64", 8, "LongStorage"},
    {DType::Int32, "int32", 4, "IntStorage"},
    {DType::Int16, "int16", 2, "ShortStorage"},
    {DType::Int8, "int8", 1, "CharStorage"},
    {DType::UInt8, "uint8", 1, "ByteStorage"},
    {DType::Bool, "bool", 1, "BoolStorage"},
    {DType::Complex64, "complex64", 8, "ComplexFloatStorage"},
    {DType::Complex128, "complex128", 16, "ComplexDoubleStorage"},
}};

// torch's other names for the same dtypes (torch.float is torch.float32, ...).
constexpr std::array<std::pair<std::string_view, DType>, 8> kAliases{{
    {"float", DType::Float32},
    {"double", DType::Float64},
    {"half", DType::Float16},
    {"long", DType::Int64},
    {"int", DType::Int32},
    {"short", DType::Int16},
    {"cfloat", DType::Complex64},
    {"cdouble", DType::Complex128},
}};

const DTypeInfo& info(DType t) { return kTypes[static_cast<size_t>(t)]; }

}  // namespace

std::string_view dtype_name(DType t) { return info(t).name; }
size_t dtype_size(DType t) { return info(t).size; }
std::string_view storage_class_name(DType t) { return info(t).storage_class; }

bool dtype_is_floating(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}

bool dtype_is_complex(DType t) { return t == DType::Complex64 || t == DType::Complex128; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& i : kTypes)
    if (i.name == name) return i.type;
  for (const auto& [alias, type] : kAliases)
    if (alias == name) return type;
  return std::nullopt;
}

std::optional<DType> dtype_from_storage_class(std::string_view class_name) {
  for (const auto& i : kTypes)
    if (i.storage_class == class_name) return i.type;
  return std::nullopt;
}

}  // namespace pth
