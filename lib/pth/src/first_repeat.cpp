#include "internal/first_repeat.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <utility>

namespace pth::detail {

size_t first_repeat(const std::vector<std::string_view>& names) {
  // (hash, position), sorted: equal names are neighbours within a run of equal hashes.
  std::vector<std::pair<size_t, size_t>> hashed(names.size());
  for (size_t i = 0; i < names.size(); ++i) hashed[i] = {std::hash<std::string_view>{}(names[i]), i};
  std::sort(hashed.begin(), hashed.end());
  size_t first = kNoRepeat;
  std::vector<size_t> run;
  for (size_t a = 0; a < hashed.size();) {
    size_t b = a + 1;
    while (b < hashed.size() && hashed[b].first == hashed[a].first) ++b;
    if (b - a > 1) {
      // Rare (and small) unless the names were made to collide: ordered by name, then position.
      run.clear();
      for (size_t k = a; k < b; ++k) run.push_back(hashed[k].second);
      std::sort(run.begin(), run.end(), [&](size_t x, size_t y) { return names[x] != names[y] ? names[x] < names[y] : x < y; });
      for (size_t k = 1; k < run.size(); ++k)
        if (names[run[k]] == names[run[k - 1]]) first = std::min(first, run[k]);
    }
    a = b;
  }
  return first;
}

}  // namespace pth::detail
