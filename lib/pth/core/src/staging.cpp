#include "pth/staging.hpp"

#include <cstring>
#include <unordered_map>

#include "pth/error.hpp"
#include "pth/page_buffer.hpp"
#include "pth/parallel_jobs.hpp"
#include "pth/tensor_walk.hpp"

namespace pth {

namespace {

constexpr uint64_t kAlignment = 64;

uint64_t aligned(uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

// The bytes a storage's tensors can reach: its elements, or what its data holds if less
// (the writer refuses such a storage with its own message).
uint64_t staged_size(const Storage& s) {
  const uint64_t held = s.data->size();
  return held < s.nbytes() ? held : s.nbytes();
}

}  // namespace

uint64_t StagingBuffer::capacity() const { return block_ ? block_->size() : 0; }

Value StagingBuffer::stage(const Value& root) {
  // Where each storage to copy goes in the buffer.
  std::unordered_map<const Storage*, uint64_t> offsets;
  uint64_t total = 0;
  for (const TensorAt& at : collect_tensors(root)) {
    const Storage* s = at.tensor->storage.get();
    if (!s || offsets.count(s)) continue;
    if (!s->data) throw Error("tensor '" + at.path + "' has no data to stage");
    if (s->data->is_snapshot()) continue;
    offsets.emplace(s, total);
    total += aligned(staged_size(*s));
  }
  // A block still held by an earlier copy (its writer has not let go) is never overwritten.
  if (!block_ || block_.use_count() > 1 || block_->size() < total) {
    block_.reset();   // the old memory goes before the new is mapped
    if (total > 0) block_ = std::make_shared<PageBuffer>(total);
  }
  const std::vector<std::pair<const Storage*, uint64_t>> placed(offsets.begin(), offsets.end());
  std::vector<uint64_t> costs;
  costs.reserve(placed.size());
  for (const auto& [s, offset] : placed) costs.push_back(staged_size(*s));
  run_jobs(costs, [&](size_t i) {
    const auto& [s, offset] = placed[i];
    std::memcpy(block_->data() + offset, s->data->bytes().data, costs[i]);
  });
  last_staged_ = total;

  std::unordered_map<const Storage*, std::shared_ptr<Storage>> copies;
  return root.deep_copy([&](const Tensor& t) {
    auto out = std::make_shared<Tensor>(t);
    const auto found = offsets.find(t.storage.get());
    if (found == offsets.end()) return out;   // no storage, or a snapshot kept as it is
    std::shared_ptr<Storage>& copy = copies[t.storage.get()];
    if (!copy) {
      copy = std::make_shared<Storage>(*t.storage);
      copy->data = std::make_shared<MemoryStorageData>(ByteView(block_->data() + found->second, staged_size(*t.storage)), block_);
    }
    out->storage = copy;
    return out;
  });
}

}  // namespace pth
