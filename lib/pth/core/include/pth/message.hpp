#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace pth {

// Text taken from a file, made safe for a one-line error message: control bytes and
// backslashes escaped as \xNN, cut after `limit` bytes with "...".
std::string printable(std::string_view text, size_t limit = 200);
// The same in single quotes: 'archive/data/0'.
std::string quoted(std::string_view text, size_t limit = 200);

// Names for a message: "a, b, c" with at most `limit` of them, then " and N more".
std::string listed(const std::vector<std::string>& names, size_t limit);

// The first line of an error message (LibTorch's carry a C++ backtrace after it).
inline std::string first_line(std::string_view text) { return std::string(text.substr(0, text.find('\n'))); }

}  // namespace pth
