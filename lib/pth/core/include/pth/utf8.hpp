#pragma once
// Strict UTF-8 checking (no overlong forms, surrogates or code points past U+10FFFF),
// shared by the pickle reader and writer and the recipe parser.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pth {

// Offset of the first byte that does not start a valid sequence; npos for valid text.
size_t first_invalid_utf8(std::string_view s);
inline bool is_valid_utf8(std::string_view s) { return first_invalid_utf8(s) == std::string_view::npos; }

// Latin-1 text (each byte one code point below U+0100) as UTF-8, and back. The way back
// is empty where `utf8` (valid UTF-8) holds a code point past U+00FF.
std::string utf8_from_latin1(std::string_view latin1);
std::optional<std::string> latin1_from_utf8(std::string_view utf8);

}  // namespace pth
