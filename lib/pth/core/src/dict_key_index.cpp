#include "internal/dict_key_index.hpp"

#include <limits>

#include "pth/error.hpp"

namespace pth::detail {

DictKeyIndex::DictKeyIndex(const Dict& dict) {
  hashes_.reserve(dict.items.size());
  for (const auto& item : dict.items) hashes_.push_back(key_hash(item.first));
  grow();
}

size_t DictKeyIndex::find(const Dict& dict, const Value& key, size_t hash, uint64_t* probes) const {
  const size_t mask = slots_.size() - 1;
  uint64_t looked = 0;
  size_t found = npos;
  for (size_t s = hash & mask; slots_[s]; s = (s + 1) & mask) {
    ++looked;
    const size_t i = slots_[s] - 1;
    if (hashes_[i] == hash && keys_equal(dict.items[i].first, key)) {
      found = i;
      break;
    }
  }
  if (probes) *probes += looked;
  return found;
}

void DictKeyIndex::add(Dict& dict, Value key, Value value, size_t hash) {
  if (dict.items.size() >= std::numeric_limits<uint32_t>::max() - 1) throw FormatError("dict too large");
  hashes_.push_back(hash);
  dict.items.emplace_back(std::move(key), std::move(value));
  if (slots_.size() < 2 * hashes_.size()) {
    grow();
    return;
  }
  const size_t mask = slots_.size() - 1;
  size_t s = hash & mask;
  while (slots_[s]) s = (s + 1) & mask;
  slots_[s] = uint32_t(hashes_.size());
}

void DictKeyIndex::set(Dict& dict, Value key, Value value) {
  const size_t hash = key_hash(key);
  const size_t at = find(dict, key, hash);
  if (at != npos) {
    dict.items[at].second = std::move(value);  // Python keeps the first key object
    return;
  }
  add(dict, std::move(key), std::move(value), hash);
}

void DictKeyIndex::grow() {
  size_t n = 16;
  while (n < 4 * (hashes_.size() + 1)) n *= 2;
  slots_.assign(n, 0);
  const size_t mask = n - 1;
  for (size_t i = 0; i < hashes_.size(); ++i) {
    size_t s = hashes_[i] & mask;
    while (slots_[s]) s = (s + 1) & mask;
    slots_[s] = uint32_t(i + 1);
  }
}

size_t DictKeyIndex::memory_bytes() const {
  return hashes_.capacity() * sizeof(size_t) + slots_.capacity() * sizeof(uint32_t);
}

}  // namespace pth::detail
