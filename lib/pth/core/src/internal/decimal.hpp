#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace pth::detail {

// Decimal digits of an unsigned little-endian magnitude ("0" when it is zero).
std::string magnitude_to_decimal(const std::vector<uint8_t>& magnitude);
// Exact decimal digits of a finite integral double (any magnitude), with sign.
std::string integral_double_to_decimal(double f);

}  // namespace pth::detail
