#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pth {

enum class DType {
  Float32, Float64, Float16, BFloat16,
  Int64, Int32, Int16, Int8, UInt8, Bool,
  Complex64, Complex128,
};

// PyTorch's name without "torch.": "float32", "bfloat16", "complex64", ...
std::string_view dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);  // also accepts aliases: float, half, long, ...
size_t dtype_size(DType t);
bool dtype_is_floating(DType t);  // float16/bfloat16/float32/float64
bool dtype_is_complex(DType t);

// The legacy typed storage class in module "torch" ("FloatStorage", ...).
std::string_view storage_class_name(DType t);
std::optional<DType> dtype_from_storage_class(std::string_view class_name);

}  // namespace pth
