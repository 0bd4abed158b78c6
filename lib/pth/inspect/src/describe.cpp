#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "pth/error.hpp"
#include "pth/inspect.hpp"
#include "pth/tensor_walk.hpp"

namespace pth::inspect {
namespace {

bool holds_tensor(const Value& v) {
  bool found = false;
  visit_values(v, [&](const Value& node) {
    if (node.is_tensor() || node.kind() == Value::Kind::Storage) found = true;
    return !found;
  });
  return found;
}

std::string group_of(const std::string& path) { return path.substr(0, path.find('/')); }

const Value* param_groups_of(const Value& v) {
  if (!v.is_dict()) return nullptr;
  const Value* state = v.as_dict().find("state");
  const Value* groups = v.as_dict().find("param_groups");
  return state && state->is_dict() && groups && groups->is_sequence() ? groups : nullptr;
}

// Only the root and its values: where torch.save(optimizer.state_dict()) and SG's
// optimizer_state_dict put them, without walking every node of a large file again.
std::vector<OptimizerReport> find_optimizers(const Value& root) {
  std::vector<OptimizerReport> found;
  if (const Value* groups = param_groups_of(root)) found.push_back({"", *groups});
  if (root.is_dict())
    for (const auto& [k, v] : root.as_dict().items)
      if (const Value* groups = param_groups_of(v)) found.push_back({key_to_string(k), *groups});
  return found;
}

// Hashes and statistics read every byte: spread the tensors over the cores.
void read_tensor_data(std::vector<TensorReport>& tensors, const Options& options) {
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    for (size_t i; (i = next++) < tensors.size();) {
      try {
        TensorReport& t = tensors[i];
        if (options.hash) t.sha256 = tensor_sha256(*t.tensor);
        if (options.stats && dtype_is_floating(t.tensor->dtype)) t.stats = tensor_stats(*t.tensor);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  const size_t threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), tensors.size());
  std::vector<std::thread> pool;
  for (size_t i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

Report describe(const std::string& path, const Options& options) { return describe(read_checkpoint(path), options); }

Report describe(Checkpoint checkpoint, const Options& options) {
  Report r;
  r.checkpoint = std::move(checkpoint);
  const Value& root = r.checkpoint.root;
  if (root.is_dict()) {
    for (const auto& [k, v] : root.as_dict().items) {
      r.keys.push_back(key_to_string(k));
      if (!holds_tensor(v)) r.scalars.emplace_back(key_to_string(k), v);
    }
  }
  std::map<std::string, size_t> group_index;
  for (auto& [tensor_path, tensor] : collect_tensors(root)) {
    const std::string name = group_of(tensor_path);
    auto [slot, added] = group_index.emplace(name, r.groups.size());
    if (added) r.groups.push_back(Group{name, 0, 0, 0, {}});
    Group& g = r.groups[slot->second];
    ++g.tensors;
    g.parameters += uint64_t(tensor->numel());
    g.bytes += tensor->nbytes();
    ++g.dtypes[std::string(dtype_name(tensor->dtype))];
    r.tensors.push_back({tensor_path, tensor, {}, std::nullopt});
  }
  r.optimizers = find_optimizers(root);
  if (options.hash || options.stats) read_tensor_data(r.tensors, options);
  if (options.verify) r.problems = verify_checkpoint(r.checkpoint);
  return r;
}

}  // namespace pth::inspect
