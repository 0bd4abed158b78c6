#include "internal/decimal.hpp"

#include <cmath>

namespace pth::detail {

std::string magnitude_to_decimal(const std::vector<uint8_t>& mag) {
  std::vector<uint32_t> limbs((mag.size() + 3) / 4, 0);
  for (size_t i = 0; i < mag.size(); ++i) limbs[i / 4] |= uint32_t(mag[i]) << (8 * (i % 4));
  while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  if (limbs.empty()) return "0";
  std::string rev;  // digits, least significant first
  while (!limbs.empty()) {
    uint64_t rem = 0;
    for (size_t i = limbs.size(); i-- > 0;) {
      uint64_t cur = (rem << 32) | limbs[i];
      limbs[i] = uint32_t(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
    for (int k = 0; k < 9; ++k) {
      if (limbs.empty() && rem == 0 && k > 0) break;
      rev += char('0' + rem % 10);
      rem /= 10;
    }
  }
  while (rev.size() > 1 && rev.back() == '0') rev.pop_back();
  return std::string(rev.rbegin(), rev.rend());
}

std::string integral_double_to_decimal(double f) {
  bool negative = std::signbit(f);
  double a = std::fabs(f);
  int exp = 0;
  double m = std::frexp(a, &exp);  // a = m * 2^exp, 0.5 <= m < 1
  uint64_t mant = uint64_t(std::ldexp(m, 53));
  int shift = exp - 53;  // a = mant * 2^shift
  std::vector<uint8_t> mag;
  if (shift <= 0) {
    uint64_t v = shift <= -64 ? 0 : (mant >> -shift);
    for (int i = 0; i < 8; ++i) mag.push_back(uint8_t(v >> (8 * i)));
  } else {
    size_t bytes = size_t(shift) / 8 + 9;
    mag.assign(bytes, 0);
    int bshift = shift % 8;
    size_t boff = size_t(shift) / 8;
    uint64_t v = mant << bshift;  // mant < 2^53, bshift < 8: fits
    for (size_t i = 0; i < 8; ++i) mag[boff + i] = uint8_t(v >> (8 * i));
  }
  std::string digits = magnitude_to_decimal(mag);
  if (negative && digits != "0") return "-" + digits;
  return digits;
}

}  // namespace pth::detail
