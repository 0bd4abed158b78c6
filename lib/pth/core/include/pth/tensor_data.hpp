#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pth/bytes.hpp"
#include "pth/value.hpp"

namespace pth {

// Calls `chunk` with the tensor's elements in row-major order, as runs of raw
// little-endian bytes straight from the storage (no copy of the whole tensor: a
// contiguous tensor is one run, a strided view is one run per innermost row or element).
void for_each_run(const Tensor& t, const std::function<void(ByteView)>& chunk);

// Copies the elements in row-major order to dst (t.nbytes() bytes). A contiguous tensor
// is one copy straight from its source (from the file, without touching the mapping).
void copy_elements(const Tensor& t, void* dst);

// copy_elements for each (source, destination), spread over the cores (pth::run_jobs).
struct ElementCopy {
  const Tensor* source;
  void* dst;
};
void copy_elements(const std::vector<ElementCopy>& copies);

// SHA-256 of the elements in row-major order (the design's content hash), lowercase hex.
std::string tensor_sha256(const Tensor& t);

struct TensorStats {
  uint64_t count = 0;
  uint64_t nan = 0;
  uint64_t inf = 0;
  std::optional<double> min, max, mean;   // over the finite values; none when there are none
};
// For floating, integer and bool tensors (complex: over absolute values).
TensorStats tensor_stats(const Tensor& t);

// The tensor's elements in row-major order, decoded to double (complex: absolute
// value), a block at a time; two streams can be read side by side to compare tensors.
class ElementStream {
 public:
  explicit ElementStream(const Tensor& t);
  size_t read(double* out, size_t max);   // fills up to max values; 0 at the end

 private:
  const Tensor& tensor_;
  ByteView storage_;
  size_t element_size_;
  std::vector<int64_t> index_;   // odometer over the tensor's dims
  int64_t remaining_;
};

double half_to_double(uint16_t h);
double bfloat16_to_double(uint16_t b);

}  // namespace pth
