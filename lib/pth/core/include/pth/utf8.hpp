#pragma once
// Strict UTF-8 checking (no overlong forms, surrogates or code points past U+10FFFF),
// shared by the pickle reader and writer and the recipe parser.
#include <cstddef>
#include <string_view>

namespace pth {

// Offset of the first byte that does not start a valid sequence; npos for valid text.
size_t first_invalid_utf8(std::string_view s);
inline bool is_valid_utf8(std::string_view s) { return first_invalid_utf8(s) == std::string_view::npos; }

}  // namespace pth
