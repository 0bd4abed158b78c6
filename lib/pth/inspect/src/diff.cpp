#include <cmath>
#include <cstring>
#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "pth/inspect.hpp"
#include "pth/tensor_walk.hpp"

namespace pth::inspect {
namespace {

// Largest |a-b| over the elements; NaN against NaN counts as equal, NaN against a
// number as an infinite difference.
double max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.is_contiguous() && b.is_contiguous() && a.numel() > 0) {
    ByteView x = a.storage->data->bytes().sub(size_t(a.storage_offset) * dtype_size(a.dtype), a.nbytes());
    ByteView y = b.storage->data->bytes().sub(size_t(b.storage_offset) * dtype_size(b.dtype), b.nbytes());
    if (std::memcmp(x.data, y.data, x.size) == 0) return 0;
  }
  ElementStream sa(a), sb(b);
  const size_t block = size_t(std::min<int64_t>(a.numel(), 1 << 14));   // small tensors: small buffers
  std::vector<double> va(block), vb(block);
  double worst = 0;
  while (size_t n = sa.read(va.data(), va.size())) {
    sb.read(vb.data(), n);
    for (size_t i = 0; i < n; ++i) {
      const bool na = std::isnan(va[i]), nb = std::isnan(vb[i]);
      if (na && nb) continue;
      const double d = (na || nb) ? INFINITY : (va[i] == vb[i] ? 0.0 : std::fabs(va[i] - vb[i]));
      if (d > worst || std::isnan(d)) worst = std::isnan(d) ? INFINITY : d;
    }
  }
  return worst;
}

// Leaves that are not tensors (scalars and empty containers), by path.
std::map<std::string, Json> scalar_leaves(const Value& root) {
  std::map<std::string, Json> leaves;
  walk_values(root, [&](const std::string& path, const Value& v) {
    if (v.is_tensor() || v.kind() == Value::Kind::Storage) return false;
    const bool empty_container = (v.is_dict() && v.as_dict().items.empty()) || (v.is_sequence() && v.items().empty());
    if (!v.is_container() || empty_container) {
      leaves.emplace(path, value_to_json(v));
      return false;
    }
    return true;
  });
  return leaves;
}

}  // namespace

Diff diff(const Checkpoint& a, const Checkpoint& b) {
  Diff d;
  d.a_path = a.path;
  d.b_path = b.path;
  const std::vector<TensorAt> tensors_b = collect_tensors(b.root);
  std::unordered_map<std::string_view, const std::shared_ptr<Tensor>*> in_b;
  in_b.reserve(tensors_b.size());
  for (const auto& [path, t] : tensors_b) in_b.emplace(path, &t);
  const std::vector<TensorAt> tensors_a = collect_tensors(a.root);
  std::unordered_set<std::string_view> seen;
  seen.reserve(tensors_a.size());
  for (const auto& [path, ta] : tensors_a) {
    seen.insert(path);
    auto found = in_b.find(path);
    if (found == in_b.end()) {
      d.removed.push_back(path);
      continue;
    }
    const Tensor& tb = **found->second;
    if (ta->dtype != tb.dtype || ta->shape != tb.shape) {
      d.changed.push_back({path, ta, *found->second});
      continue;
    }
    const double worst = max_abs_diff(*ta, tb);
    if (worst != 0) d.value_changed.push_back({path, worst});
  }
  for (const auto& [path, t] : tensors_b)
    if (!seen.count(path)) d.added.push_back(path);

  auto leaves_a = scalar_leaves(a.root), leaves_b = scalar_leaves(b.root);
  for (const auto& [path, ja] : leaves_a) {
    auto found = leaves_b.find(path);
    if (found == leaves_b.end()) d.scalars_changed.push_back({path, ja, std::nullopt});
    else if (found->second != ja) d.scalars_changed.push_back({path, ja, found->second});
  }
  for (const auto& [path, jb] : leaves_b)
    if (!leaves_a.count(path)) d.scalars_changed.push_back({path, std::nullopt, jb});
  return d;
}

}  // namespace pth::inspect
