#include "internal/first_repeat.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <utility>

namespace pth::detail {
namespace {

// Each name as one word: the top 32 bits of its hash above its position. Sorting these
// words by their hash half with an LSD radix sort (stable, so positions stay in order)
// makes equal names neighbours in a run of equal hash halves; linear whatever the names
// (hashes made to collide give long runs, which are sorted by name).
std::vector<uint64_t> sorted_by_hash(const std::vector<std::string_view>& names) {
  constexpr int kDigitBits = 8, kPasses = 32 / kDigitBits;
  constexpr size_t kDigits = size_t(1) << kDigitBits;
  auto digit = [](uint64_t word, int pass) { return size_t(word >> (32 + pass * kDigitBits)) & (kDigits - 1); };

  const size_t n = names.size();
  if (n > UINT32_MAX) throw std::length_error("first_repeat: more than 2^32 names");
  std::vector<uint64_t> sorted(n), scratch(n);
  std::array<std::array<size_t, kDigits>, kPasses> counts{};
  for (size_t i = 0; i < n; ++i) {
    const uint64_t hash = std::hash<std::string_view>{}(names[i]);
    sorted[i] = (hash >> 32 << 32) | i;
    for (int pass = 0; pass < kPasses; ++pass) ++counts[size_t(pass)][digit(sorted[i], pass)];
  }
  for (int pass = 0; pass < kPasses && n > 1; ++pass) {
    std::array<size_t, kDigits>& next = counts[size_t(pass)];
    if (next[digit(sorted[0], pass)] == n) continue;   // one digit for all: already in order
    size_t at = 0;
    for (size_t& c : next) at += std::exchange(c, at);
    for (const uint64_t word : sorted) scratch[next[digit(word, pass)]++] = word;
    sorted.swap(scratch);
  }
  return sorted;
}

}  // namespace

size_t first_repeat(const std::vector<std::string_view>& names) {
  const std::vector<uint64_t> sorted = sorted_by_hash(names);
  auto hash_half = [&](size_t k) { return sorted[k] >> 32; };
  size_t first = kNoRepeat;
  std::vector<size_t> run;
  for (size_t a = 0; a < sorted.size();) {
    size_t b = a + 1;
    while (b < sorted.size() && hash_half(b) == hash_half(a)) ++b;
    if (b - a > 1) {
      // Rare (and small) unless the names were made to collide: ordered by name, then position.
      run.clear();
      for (size_t k = a; k < b; ++k) run.push_back(size_t(uint32_t(sorted[k])));
      std::sort(run.begin(), run.end(), [&](size_t x, size_t y) { return names[x] != names[y] ? names[x] < names[y] : x < y; });
      for (size_t k = 1; k < run.size(); ++k)
        if (names[run[k]] == names[run[k - 1]]) first = std::min(first, run[k]);
    }
    a = b;
  }
  return first;
}

}  // namespace pth::detail
