#include "pth/float_text.hpp"

#include <cstdio>
#include <cstdlib>

namespace pth {

std::string shortest_float_text(double value) {
  char text[40];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

}  // namespace pth
