#include "dist/buckets.hpp"

#include <map>
#include <stdexcept>
#include <tuple>

#include <ATen/ATen.h>

namespace sg {

std::vector<Bucket> plan_buckets(const std::vector<torch::Tensor>& tensors, int64_t max_bytes) {
  if (max_bytes < 1) throw std::invalid_argument("bucket size must be at least 1 byte, not " + std::to_string(max_bytes));
  std::vector<Bucket> buckets;
  std::vector<int64_t> bytes;
  using Key = std::tuple<int, int, int>;   // dtype, device type, device index
  std::map<Key, size_t> open;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const torch::Tensor& t = tensors[i];
    if (!t.defined()) throw std::invalid_argument("tensor " + std::to_string(i) + " of a collective is undefined");
    const Key key{int(t.scalar_type()), int(t.device().type()), int(t.device().index())};
    const int64_t size = t.numel() * int64_t(t.element_size());
    auto it = open.find(key);
    if (it == open.end() || bytes[it->second] + size > max_bytes) {
      buckets.emplace_back();
      bytes.push_back(0);
      it = open.insert_or_assign(key, buckets.size() - 1).first;
    }
    buckets[it->second].members.push_back(i);
    bytes[it->second] += size;
  }
  return buckets;
}

torch::Tensor flatten_bucket(const Bucket& bucket, const std::vector<torch::Tensor>& tensors,
                             const torch::Tensor& tail) {
  std::vector<torch::Tensor> parts;
  parts.reserve(bucket.members.size() + 1);
  for (size_t i : bucket.members) parts.push_back(tensors[i].detach().reshape({-1}));
  if (tail.defined()) parts.push_back(tail);
  return at::cat(parts);
}

void unflatten_bucket(const torch::Tensor& flat, const Bucket& bucket, const std::vector<torch::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  int64_t offset = 0;
  for (size_t i : bucket.members) {
    const torch::Tensor& t = tensors[i];
    t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

}  // namespace sg
