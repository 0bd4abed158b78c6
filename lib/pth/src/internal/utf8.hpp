#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace pth::detail {

// Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
bool is_valid_utf8(std::string_view s);
void append_utf8(std::string& out, uint32_t code_point);

}  // namespace pth::detail
