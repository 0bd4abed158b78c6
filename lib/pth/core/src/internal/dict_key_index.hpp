#pragma once
// Finding a dict's items by key in constant time, for building dicts of any size from a
// pickle: Dict itself only keeps its items in order.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pth/value.hpp"

namespace pth::detail {

// The key hash of each item and an open-addressing table of item positions, kept under
// half full. Follows the dict it was made for as long as items are only appended to it
// (through add) or have their values replaced.
class DictKeyIndex {
 public:
  static constexpr size_t npos = size_t(-1);

  // Indexes the items `dict` already holds (key_hash may throw for an unhashable key).
  explicit DictKeyIndex(const Dict& dict);

  // The position of the item whose key equals `key` (`hash` is its key_hash), or npos.
  // `probes` (if given) counts the table slots looked at, for work budgets.
  size_t find(const Dict& dict, const Value& key, size_t hash, uint64_t* probes = nullptr) const;
  // Appends (key, value) to dict.items and indexes it; the key must not be there yet.
  void add(Dict& dict, Value key, Value value, size_t hash);
  // Replaces the value of an equal key, or appends: what Python's d[key] = value does.
  void set(Dict& dict, Value key, Value value);

  // Heap bytes the index holds (its vectors' capacities).
  size_t memory_bytes() const;

 private:
  void grow();

  std::vector<size_t> hashes_;   // per item
  std::vector<uint32_t> slots_;  // item position + 1; 0 = empty; size a power of two
};

}  // namespace pth::detail
