// dtype conversion (--dtype) and averaging (--average) of tensors.
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define PTH_X86 1
#endif

#include "pth/adapt.hpp"
#include "pth/message.hpp"
#include "pth/tensor_data.hpp"

namespace pth {
namespace {

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Reads a tensor's elements in row-major order, a block at a time, as raw bytes. A
// contiguous tensor is read straight from its storage (a mapped file region is populated
// ahead of use, which costs less than copying it out with pread); views go run by run.
template <class Fn>
void for_each_block(const Tensor& t, Fn&& fn) {
  if (t.numel() == 0) return;
  const size_t es = dtype_size(t.dtype);
  if (t.is_contiguous()) {
    const size_t total = size_t(t.nbytes());
    const size_t begin = size_t(t.storage_offset) * es;
    if (!t.storage || !t.storage->data) throw FormatError("tensor has no storage data");
    const ByteView storage = t.storage->data->bytes();
    if (begin > storage.size || total > storage.size - begin) throw FormatError("tensor view lies outside its storage data");
    constexpr size_t kBlock = size_t(4) << 20;
    const uint8_t* p = storage.data + begin;
#ifdef MADV_POPULATE_READ
    const size_t page = size_t(::sysconf(_SC_PAGESIZE));
    const uintptr_t first = reinterpret_cast<uintptr_t>(p) / page * page;
    const uintptr_t last = reinterpret_cast<uintptr_t>(p + total);
    if (total >= kBlock) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_READ);   // best effort
#endif
    for (size_t done = 0; done < total;) {
      const size_t n = std::min(kBlock, total - done);
      fn(ByteView(p + done, n));
      done += n;
    }
    return;
  }
  for_each_run(t, [&](ByteView run) { fn(run); });
}

float load_float(DType type, const uint8_t* p) {
  switch (type) {
    case DType::Float32: { float v; std::memcpy(&v, p, 4); return v; }
    case DType::Float64: { double v; std::memcpy(&v, p, 8); return float(v); }
    case DType::Float16: return half_bits_to_float(load_le16(p));
    case DType::BFloat16: return bfloat16_bits_to_float(load_le16(p));
    default: return 0;
  }
}

double load_double(DType type, const uint8_t* p) {
  if (type == DType::Float64) {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  return load_float(type, p);
}

void float_to_half_scalar(const uint8_t* src, uint8_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    float f;
    std::memcpy(&f, src + 4 * i, 4);
    const uint16_t h = float_to_half_bits(f);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

// Branch-free, so that the compiler vectorizes it.
__attribute__((always_inline)) inline void float_to_bfloat16_scalar(const uint8_t* src, uint8_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, src + 4 * i, 4);
    const bool nan = (u & UINT32_C(0x7FFFFFFF)) > UINT32_C(0x7F800000);
    const uint16_t r = uint16_t((u + UINT32_C(0x7FFF) + ((u >> 16) & 1)) >> 16);
    const uint16_t h = nan ? uint16_t(0x7FC0) : r;
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

#ifdef PTH_X86
// F16C rounds to nearest even like c10::Half; only NaNs differ (F16C keeps payload bits,
// c10 makes every NaN 0x7E00 with its sign), so blocks with a NaN are redone in scalar.
__attribute__((target("avx2,f16c"))) void float_to_half_f16c(const uint8_t* src, uint8_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(reinterpret_cast<const float*>(src + 4 * i));
    const __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 2 * i), h);
    if (_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q)) != 0) float_to_half_scalar(src + 4 * i, dst + 2 * i, 8);
  }
  float_to_half_scalar(src + 4 * i, dst + 2 * i, n - i);
}

__attribute__((target("avx2"))) void float_to_bfloat16_avx2(const uint8_t* src, uint8_t* dst, size_t n) {
  float_to_bfloat16_scalar(src, dst, n);   // the same loop, vectorized with AVX2
}

bool has_f16c() {
  // F16C from CPUID (leaf 1, ECX): Clang 14's __builtin_cpu_supports does not know "f16c".
  static const bool yes = [] {
    unsigned a, b, c, d;
    return __builtin_cpu_supports("avx2") && __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
  }();
  return yes;
}
#endif

// Converts n elements of `from` at src to `to` at dst.
void convert_block(DType from, const uint8_t* src, DType to, uint8_t* dst, size_t n) {
  if (from == DType::Float32 && to == DType::Float16) {
#ifdef PTH_X86
    if (has_f16c()) return float_to_half_f16c(src, dst, n);
#endif
    return float_to_half_scalar(src, dst, n);
  }
  if (from == DType::Float32 && to == DType::BFloat16) {
#ifdef PTH_X86
    if (has_f16c()) return float_to_bfloat16_avx2(src, dst, n);
#endif
    return float_to_bfloat16_scalar(src, dst, n);
  }
  const size_t in = dtype_size(from);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = src + in * i;
    switch (to) {
      case DType::Float64: { const double v = load_double(from, p); std::memcpy(dst + 8 * i, &v, 8); break; }
      case DType::Float32: { const float v = load_float(from, p); std::memcpy(dst + 4 * i, &v, 4); break; }
      case DType::Float16: { const uint16_t v = float_to_half_bits(load_float(from, p)); std::memcpy(dst + 2 * i, &v, 2); break; }
      case DType::BFloat16: { const uint16_t v = float_to_bfloat16_bits(load_float(from, p)); std::memcpy(dst + 2 * i, &v, 2); break; }
      default: break;
    }
  }
}

// Memory for a converted tensor: not zeroed (every byte is written), large blocks on huge
// pages where the kernel allows (fewer page faults).
std::shared_ptr<uint8_t> allocate(size_t size) {
  constexpr size_t kHuge = size_t(2) << 20;
  if (size >= kHuge) {
    void* p = std::aligned_alloc(kHuge, (size + kHuge - 1) / kHuge * kHuge);
    if (!p) throw std::bad_alloc();
    ::madvise(p, size, MADV_HUGEPAGE);
    return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
  }
  return std::shared_ptr<uint8_t>(new uint8_t[size ? size : 1], std::default_delete<uint8_t[]>());
}

std::shared_ptr<Tensor> new_tensor(DType dtype, const Tensor& like) {
  const int64_t numel = like.numel();
  const size_t size = size_t(numel) * dtype_size(dtype);
  std::shared_ptr<uint8_t> owner = allocate(size);
  auto s = std::make_shared<Storage>();
  s->dtype = dtype;
  s->numel = numel;
  s->data = std::make_shared<MemoryStorageData>(ByteView(owner.get(), size), owner);
  auto t = std::make_shared<Tensor>();
  t->dtype = dtype;
  t->shape = like.shape;
  t->stride = Tensor::contiguous_strides(like.shape);
  t->requires_grad = like.requires_grad;
  t->is_parameter = like.is_parameter;
  t->storage = std::move(s);
  return t;
}

uint8_t* data_of(const Tensor& t) { return const_cast<uint8_t*>(t.storage->data->bytes().data); }

}  // namespace

uint16_t float_to_half_bits(float f) {
  // Maratyszcza's FP16 algorithm, which c10::Half uses: the float unit does the rounding.
  const float scale_to_inf = 0x1.0p+112f;
  const float scale_to_zero = 0x1.0p-110f;
  float base = (std::fabs(f) * scale_to_inf) * scale_to_zero;
  const uint32_t w = bits_of(f);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & UINT32_C(0x80000000);
  uint32_t bias = shl1_w & UINT32_C(0xFF000000);
  if (bias < UINT32_C(0x71000000)) bias = UINT32_C(0x71000000);
  base = float_of((bias >> 1) + UINT32_C(0x07800000)) + base;
  const uint32_t b = bits_of(base);
  const uint32_t exp_bits = (b >> 13) & UINT32_C(0x00007C00);
  const uint32_t mantissa_bits = b & UINT32_C(0x00000FFF);
  const uint32_t nonsign = exp_bits + mantissa_bits;
  return uint16_t((sign >> 16) | (shl1_w > UINT32_C(0xFF000000) ? UINT32_C(0x7E00) : nonsign));
}

uint16_t float_to_bfloat16_bits(float f) {
  if (std::isnan(f)) return 0x7FC0;
  const uint32_t u = bits_of(f);
  return uint16_t((u + UINT32_C(0x7FFF) + ((u >> 16) & 1)) >> 16);
}

float half_bits_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  const uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) return float_of(sign | 0x7F800000 | (mant << 13));
  if (exp != 0) return float_of(sign | ((exp + 112) << 23) | (mant << 13));
  // zero or subnormal: mant * 2^-24, exact in float
  const float v = float(mant) * 0x1.0p-24f;
  return sign ? -v : v;
}

float bfloat16_bits_to_float(uint16_t b) { return float_of(uint32_t(b) << 16); }

std::shared_ptr<Tensor> convert_tensor(const std::shared_ptr<Tensor>& t, DType to) {
  if (!dtype_is_floating(to)) throw Error("cannot convert to " + std::string(dtype_name(to)) + ": not a floating dtype");
  if (t->dtype == to || !dtype_is_floating(t->dtype)) return t;
  auto out = new_tensor(to, *t);
  uint8_t* dst = data_of(*out);
  const size_t in = dtype_size(t->dtype), os = dtype_size(to);
  for_each_block(*t, [&](ByteView block) {
    const size_t n = block.size / in;
    convert_block(t->dtype, block.data, to, dst, n);
    dst += n * os;
  });
  return out;
}

std::shared_ptr<Tensor> average_tensors(const std::vector<std::shared_ptr<Tensor>>& tensors) {
  if (tensors.empty()) throw Error("nothing to average");
  const Tensor& first = *tensors.front();
  if (!dtype_is_floating(first.dtype)) throw Error("cannot average " + std::string(dtype_name(first.dtype)) + " tensors");
  for (const auto& t : tensors) {
    if (t->dtype != first.dtype)
      throw Error("dtype " + std::string(dtype_name(t->dtype)) + " differs from " + std::string(dtype_name(first.dtype)));
    if (t->shape != first.shape) throw Error("shape " + shape_text(t->shape) + " differs from " + shape_text(first.shape));
  }
  std::vector<double> sum(size_t(first.numel()), 0.0);
  const size_t es = dtype_size(first.dtype);
  for (const auto& t : tensors) {
    double* acc = sum.data();
    for_each_block(*t, [&](ByteView block) {
      const size_t n = block.size / es;
      for (size_t i = 0; i < n; ++i) acc[i] += load_double(t->dtype, block.data + es * i);
      acc += n;
    });
  }
  auto out = new_tensor(first.dtype, first);
  uint8_t* dst = data_of(*out);
  const double count = double(tensors.size());
  for (size_t i = 0; i < sum.size(); ++i) {
    const double mean = sum[i] / count;
    switch (first.dtype) {
      case DType::Float64: std::memcpy(dst + 8 * i, &mean, 8); break;
      case DType::Float32: { const float v = float(mean); std::memcpy(dst + 4 * i, &v, 4); break; }
      case DType::Float16: { const uint16_t v = float_to_half_bits(float(mean)); std::memcpy(dst + 2 * i, &v, 2); break; }
      case DType::BFloat16: { const uint16_t v = float_to_bfloat16_bits(float(mean)); std::memcpy(dst + 2 * i, &v, 2); break; }
      default: break;
    }
  }
  return out;
}

}  // namespace pth
