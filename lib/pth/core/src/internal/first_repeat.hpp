#pragma once
// Finding a repeated name among millions (tensor names, keys after edits) without a hash
// table: the hashes are sorted (radix), names compared only where hashes agree.
#include <cstddef>
#include <string_view>
#include <vector>

namespace pth::detail {

constexpr size_t kNoRepeat = size_t(-1);

// The position of the first name equal to an earlier one, or kNoRepeat.
size_t first_repeat(const std::vector<std::string_view>& names);

}  // namespace pth::detail
