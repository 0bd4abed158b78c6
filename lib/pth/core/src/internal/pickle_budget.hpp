#pragma once
// What reading one pickle may cost, in proportion to its size (see PickleLimits): the
// memory the pickle VM holds, the dict-key probes it makes, the nodes of its result.
#include <cstdint>
#include <string>

#include "pth/pickle_reader.hpp"

namespace pth::detail {

class PickleBudget {
 public:
  PickleBudget(const PickleLimits& limits, uint64_t pickle_bytes);

  // Each returns false (and charges nothing) when the charge would go over its budget.
  [[nodiscard]] bool charge_memory(uint64_t bytes);
  [[nodiscard]] bool charge_probes(uint64_t probes);

  uint64_t memory_used() const { return memory_used_; }
  uint64_t memory_limit() const { return memory_limit_; }
  uint64_t node_limit() const { return node_limit_; }

  // One-line reasons for a refusal.
  std::string memory_exceeded() const;
  std::string probes_exceeded() const;
  std::string nodes_exceeded() const;

 private:
  const PickleLimits& limits_;
  uint64_t pickle_bytes_;
  uint64_t memory_limit_, probe_limit_, node_limit_;
  uint64_t memory_used_ = 0, probes_used_ = 0;
};

// Throws FormatError (a zip bomb) when a pickle record of `stored_bytes` in the file claims
// to inflate to `pickle_bytes` beyond limits.max_inflation: checked before inflating it.
void check_pickle_inflation(uint64_t stored_bytes, uint64_t pickle_bytes, const PickleLimits& limits);

// What the VM charges for the values it makes: a heap object costs its payload plus this
// much (reference count, allocator header and rounding).
constexpr uint64_t kObjectBytes = 48;
// Approximate heap bytes of `v` itself, not counting values it holds (those are charged
// when they are made): strings with their text, containers with their item arrays,
// tensors with their shape and stride, storages with their record.
uint64_t shallow_bytes(const Value& v);

}  // namespace pth::detail
