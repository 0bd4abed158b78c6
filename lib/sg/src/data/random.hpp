#pragma once
// Counter-based randomness for the data pipeline: every draw is a pure function of its
// inputs (seed, epoch, position), never of a global generator or of how often something
// ran before. This is what makes a resumed run see bit-identical batches.
#include <cstdint>

namespace sg::data_detail {

// The splitmix64 finaliser: a bijective 64-bit mix with good avalanche.
inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A key from several words (order matters): mix(mix(mix(a) ^ b) ^ c)...
inline uint64_t key(uint64_t a, uint64_t b) { return mix64(mix64(a) ^ b); }
inline uint64_t key(uint64_t a, uint64_t b, uint64_t c) { return mix64(key(a, b) ^ c); }
inline uint64_t key(uint64_t a, uint64_t b, uint64_t c, uint64_t d) { return mix64(key(a, b, c) ^ d); }

// Domain separators so that independent uses of one seed never share a stream.
constexpr uint64_t kShuffleStream = 0x53485546464C45ull;    // "SHUFFLE"
constexpr uint64_t kAugmentStream = 0x4155474D454E54ull;    // "AUGMENT"
constexpr uint64_t kSyntheticStream = 0x53594E5448ull;      // "SYNTH"
constexpr uint64_t kMixupStream = 0x4D49585550ull;          // "MIXUP"

// A sequential splitmix64 stream (for Fisher-Yates and synthetic data).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound), unbiased (Lemire's multiply-and-reject).
  uint64_t below(uint64_t bound) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < bound) {
      const uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next()) * bound;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

 private:
  uint64_t state_;
};

}  // namespace sg::data_detail
