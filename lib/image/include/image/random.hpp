#pragma once
// The randomness of the transforms: a small generator seeded per sample by the caller, so
// a sample's augmentation is a pure function of its seed (the same bits whatever thread
// runs it, whatever else runs). sample_seed() derives that seed from (run seed, epoch,
// sample index). The streams are ours (SplitMix64), not torch's: the same seed does not give
// torchvision's draws, only draws from the same distributions.
#include <cstdint>

namespace sg::image {

std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index);

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  double uniform(double lo, double hi);      // [lo, hi)
  std::int64_t randint(std::int64_t lo, std::int64_t hi);   // [lo, hi), hi > lo
  bool bernoulli(double p) { return uniform(0.0, 1.0) < p; }
  double normal();                           // N(0, 1)

 private:
  std::uint64_t state_;
};

}  // namespace sg::image
