#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace pth::detail {

void append_utf8(std::string& out, uint32_t code_point);

}  // namespace pth::detail
