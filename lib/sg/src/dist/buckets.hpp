#pragma once
// Tensors packed into a few flat buffers for collectives: one buffer per dtype and device,
// each of at most max_bytes (a larger tensor has one to itself), members in the given order.
// Every rank plans the same buckets from the same shapes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace sg {

struct Bucket {
  std::vector<size_t> members;   // indices into the planned tensors
};

std::vector<Bucket> plan_buckets(const std::vector<torch::Tensor>& tensors, int64_t max_bytes);
// One 1-D tensor holding the members' elements, in order, then those of `tail` (a 1-D
// tensor of the bucket's dtype) if given.
torch::Tensor flatten_bucket(const Bucket& bucket, const std::vector<torch::Tensor>& tensors,
                             const torch::Tensor& tail = {});
// The members overwritten (in place) with their parts of `flat`.
void unflatten_bucket(const torch::Tensor& flat, const Bucket& bucket, const std::vector<torch::Tensor>& tensors);

}  // namespace sg
