#include "image/random.hpp"

#include <cmath>

namespace sg::image {

namespace {

std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;

}  // namespace

std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  return mix(mix(mix(seed + kGolden) + epoch) + index);
}

std::uint64_t Rng::next() { return mix(state_ += kGolden); }

double Rng::uniform(double lo, double hi) {
  const double u = static_cast<double>(next() >> 11) * 0x1.0p-53;
  return lo + (hi - lo) * u;
}

std::int64_t Rng::randint(std::int64_t lo, std::int64_t hi) {
  // Lemire's multiply-shift with rejection: no modulo bias.
  const std::uint64_t range = static_cast<std::uint64_t>(hi - lo);
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * range;
  std::uint64_t low = static_cast<std::uint64_t>(m);
  if (low < range) {
    const std::uint64_t threshold = -range % range;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next()) * range;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return lo + static_cast<std::int64_t>(m >> 64);
}

double Rng::normal() {
  // Box-Muller; 1 - u keeps the logarithm finite.
  const double u = 1.0 - uniform(0.0, 1.0);
  const double v = uniform(0.0, 1.0);
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
}

}  // namespace sg::image
