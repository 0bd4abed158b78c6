#include "pth/tensor_data.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <vector>

#include "pth/error.hpp"
#include "pth/parallel_jobs.hpp"
#include "pth/sha256.hpp"

namespace pth {
namespace {

// Throws unless the storage data holds every element the view can reach (no data read).
void check_view_fits(const Tensor& t) {
  if (!t.storage || !t.storage->data) throw FormatError("tensor has no storage data");
  if (t.numel() == 0) return;
  uint64_t last = uint64_t(t.storage_offset);
  for (size_t d = 0; d < t.shape.size(); ++d) last += uint64_t(t.shape[d] - 1) * uint64_t(t.stride[d]);
  if ((last + 1) * dtype_size(t.dtype) > t.storage->data->size())
    throw FormatError("tensor view lies outside its storage data");
}

ByteView checked_storage(const Tensor& t) {
  check_view_fits(t);
  return t.storage->data->bytes();
}

// Number of trailing dims that form one contiguous block, and its element count.
std::pair<size_t, int64_t> inner_block(const Tensor& t) {
  int64_t block = 1;
  size_t first = t.shape.size();
  while (first > 0) {
    size_t d = first - 1;
    if (t.shape[d] != 1 && t.stride[d] != block) break;
    block *= t.shape[d];
    first = d;
  }
  return {first, block};
}

// Advances a row-major odometer over dims [0, ndims); returns false after the last.
bool advance(std::vector<int64_t>& index, const std::vector<int64_t>& shape, size_t ndims) {
  for (size_t d = ndims; d-- > 0;) {
    if (++index[d] < shape[d]) return true;
    index[d] = 0;
  }
  return false;
}

int64_t offset_of(const Tensor& t, const std::vector<int64_t>& index, size_t ndims) {
  int64_t offset = t.storage_offset;
  for (size_t d = 0; d < ndims; ++d) offset += index[d] * t.stride[d];
  return offset;
}

double decode(DType type, const uint8_t* p) {
  switch (type) {
    case DType::Float32: { float v; std::memcpy(&v, p, 4); return v; }
    case DType::Float64: { double v; std::memcpy(&v, p, 8); return v; }
    case DType::Float16: return half_to_double(load_le16(p));
    case DType::BFloat16: return bfloat16_to_double(load_le16(p));
    case DType::Int64: { int64_t v; std::memcpy(&v, p, 8); return double(v); }
    case DType::Int32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case DType::Int16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case DType::Int8: return double(int8_t(*p));
    case DType::UInt8: return *p;
    case DType::Bool: return *p ? 1.0 : 0.0;
    case DType::Complex64: { float v[2]; std::memcpy(v, p, 8); return std::abs(std::complex<double>(v[0], v[1])); }
    case DType::Complex128: { double v[2]; std::memcpy(v, p, 16); return std::abs(std::complex<double>(v[0], v[1])); }
  }
  return 0;
}

}  // namespace

void for_each_run(const Tensor& t, const std::function<void(ByteView)>& chunk) {
  const int64_t numel = t.numel();
  if (numel == 0) return;
  const ByteView storage = checked_storage(t);
  const size_t es = dtype_size(t.dtype);
  const auto [outer_dims, block] = inner_block(t);
  if (outer_dims == 0) {
    chunk(storage.sub(size_t(t.storage_offset) * es, size_t(numel) * es));
    return;
  }
  // Small blocks are gathered into a buffer so that consumers see large runs.
  constexpr size_t kGather = 1 << 20;
  const size_t block_bytes = size_t(block) * es;
  std::vector<uint8_t> gathered;
  if (block_bytes < kGather / 16) gathered.reserve(kGather);
  std::vector<int64_t> index(outer_dims, 0);
  do {
    ByteView run = storage.sub(size_t(offset_of(t, index, outer_dims)) * es, block_bytes);
    if (gathered.capacity() == 0) {
      chunk(run);
      continue;
    }
    if (gathered.size() + run.size > kGather) {
      chunk({gathered.data(), gathered.size()});
      gathered.clear();
    }
    gathered.insert(gathered.end(), run.data, run.data + run.size);
  } while (advance(index, t.shape, outer_dims));
  if (!gathered.empty()) chunk({gathered.data(), gathered.size()});
}

void copy_elements(const Tensor& t, void* dst) {
  if (t.numel() == 0) return;
  if (t.is_contiguous()) {
    check_view_fits(t);
    t.storage->data->copy_range(size_t(t.storage_offset) * dtype_size(t.dtype), t.nbytes(), dst);
    return;
  }
  auto* out = static_cast<uint8_t*>(dst);
  for_each_run(t, [&](ByteView run) {
    std::memcpy(out, run.data, run.size);
    out += run.size;
  });
}

void copy_elements(const std::vector<ElementCopy>& copies) {
  std::vector<uint64_t> costs;
  costs.reserve(copies.size());
  for (const ElementCopy& c : copies) costs.push_back(c.source->nbytes());
  run_jobs(costs, [&](size_t i) { copy_elements(*copies[i].source, copies[i].dst); });
}

std::string tensor_sha256(const Tensor& t) {
  Sha256 sha;
  for_each_run(t, [&](ByteView run) { sha.update(run); });
  return sha.finish_hex();
}

ElementStream::ElementStream(const Tensor& t)
    : tensor_(t),
      storage_(t.numel() ? checked_storage(t) : ByteView()),
      element_size_(dtype_size(t.dtype)),
      index_(t.shape.size(), 0),
      remaining_(t.numel()) {}

size_t ElementStream::read(double* out, size_t max) {
  size_t n = 0;
  const size_t ndims = tensor_.shape.size();
  while (n < max && remaining_ > 0) {
    int64_t offset = offset_of(tensor_, index_, ndims);
    out[n++] = decode(tensor_.dtype, storage_.data + size_t(offset) * element_size_);
    --remaining_;
    if (remaining_ > 0) advance(index_, tensor_.shape, ndims);
  }
  return n;
}

TensorStats tensor_stats(const Tensor& t) {
  TensorStats s;
  double sum = 0;
  uint64_t finite = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  ElementStream stream(t);
  std::vector<double> buffer(size_t(std::min<int64_t>(t.numel(), 1 << 14)));   // small tensors: small buffers
  while (size_t n = stream.read(buffer.data(), buffer.size())) {
    for (size_t i = 0; i < n; ++i) {
      double v = buffer[i];
      if (std::isnan(v)) {
        ++s.nan;
      } else if (std::isinf(v)) {
        ++s.inf;
      } else {
        ++finite;
        sum += v;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
    s.count += n;
  }
  if (finite) {
    s.min = lo;
    s.max = hi;
    s.mean = sum / double(finite);
  }
  return s;
}

double half_to_double(uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) return mantissa ? std::numeric_limits<double>::quiet_NaN() : sign * std::numeric_limits<double>::infinity();
  return sign * std::ldexp(mantissa + 1024, exponent - 25);
}

double bfloat16_to_double(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace pth
