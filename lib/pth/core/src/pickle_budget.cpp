#include "internal/pickle_budget.hpp"

#include <algorithm>
#include <limits>

#include "pth/error.hpp"

namespace pth::detail {
namespace {

// per_byte * bytes + floor, saturating: "unlimited" settings stay unlimited.
uint64_t scaled(uint64_t per_byte, uint64_t bytes, uint64_t floor) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  if (bytes != 0 && per_byte > kMax / bytes) return kMax;
  const uint64_t v = per_byte * bytes;
  return v > kMax - floor ? kMax : v + floor;
}

std::string rule(uint64_t per_byte, uint64_t bytes, uint64_t floor) {
  return std::to_string(per_byte) + " per byte of its " + std::to_string(bytes) + " bytes + " + std::to_string(floor);
}

}  // namespace

PickleBudget::PickleBudget(const PickleLimits& limits, uint64_t pickle_bytes)
    : limits_(limits),
      pickle_bytes_(pickle_bytes),
      memory_limit_(scaled(limits.memory_per_byte, pickle_bytes, limits.memory_floor)),
      probe_limit_(scaled(limits.probes_per_byte, pickle_bytes, limits.probes_floor)),
      node_limit_(scaled(limits.nodes_per_byte, pickle_bytes, limits.nodes_floor)) {}

bool PickleBudget::charge_memory(uint64_t bytes) {
  if (bytes > memory_limit_ - memory_used_) return false;
  memory_used_ += bytes;
  return true;
}

bool PickleBudget::charge_probes(uint64_t probes) {
  if (probes > probe_limit_ - probes_used_) return false;
  probes_used_ += probes;
  return true;
}

std::string PickleBudget::memory_exceeded() const {
  return "pickle needs more than " + std::to_string(memory_limit_) + " bytes of memory (the budget is " +
         rule(limits_.memory_per_byte, pickle_bytes_, limits_.memory_floor) + ")";
}

std::string PickleBudget::probes_exceeded() const {
  return "pickle dict keys collide: more than " + std::to_string(probe_limit_) + " key probes (the budget is " +
         rule(limits_.probes_per_byte, pickle_bytes_, limits_.probes_floor) + ")";
}

std::string PickleBudget::nodes_exceeded() const {
  return "pickle expands to more than " + std::to_string(node_limit_) + " nodes, shared objects counted each time (the budget is " +
         rule(limits_.nodes_per_byte, pickle_bytes_, limits_.nodes_floor) + ")";
}

void check_pickle_inflation(uint64_t stored_bytes, uint64_t pickle_bytes, const PickleLimits& limits) {
  constexpr uint64_t kSlack = uint64_t(1) << 20;
  if (pickle_bytes <= scaled(limits.max_inflation, stored_bytes, kSlack)) return;
  throw FormatError("zip bomb: data.pkl inflates " + std::to_string(pickle_bytes / std::max<uint64_t>(stored_bytes, 1)) +
                    ":1 (" + std::to_string(pickle_bytes) + " bytes from " + std::to_string(stored_bytes) +
                    "); a pickle may inflate at most " + std::to_string(limits.max_inflation) +
                    ":1 beyond 1 MiB (torch.save stores it uncompressed)");
}

uint64_t shallow_bytes(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::BigInt:
    case Value::Kind::String:
    case Value::Kind::Bytes: return kObjectBytes + v.as_string().capacity();
    case Value::Kind::List:
    case Value::Kind::Tuple: return kObjectBytes + v.items().capacity() * sizeof(Value);
    case Value::Kind::Dict: {
      const Dict& d = v.as_dict();
      return kObjectBytes + d.items.capacity() * sizeof(d.items[0]) + (d.metadata ? kObjectBytes : 0);
    }
    case Value::Kind::Tensor: {
      // the value's box, the shared_ptr's block and the Tensor, its shape and stride
      const Tensor& t = *v.as_tensor();
      return 2 * kObjectBytes + sizeof(Tensor) + 2 * (kObjectBytes / 2 + t.shape.size() * sizeof(int64_t));
    }
    case Value::Kind::Storage: {
      // the value's box; the Storage itself, its key and device and where its data is
      const Storage& s = *v.as_storage();
      return 4 * kObjectBytes + sizeof(Storage) + s.key.capacity() + s.device.capacity();
    }
    case Value::Kind::Global: return kObjectBytes + v.as_global().module.capacity() + v.as_global().name.capacity();
    default: return 0;
  }
}

}  // namespace pth::detail
