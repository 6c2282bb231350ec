// A small, fully specified random generator for the corpus generator.
// std::*_distribution is implementation-defined, so two standard libraries
// would make different corpora from the same seed; everything here is
// written out (SplitMix64 seeding, xoshiro256**, Box-Muller) so that a seed
// means the same corpus wherever sb is built with the same libm.
#pragma once
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sb::corpus {

inline std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Derives an independent stream seed from a base seed and labels, so that
// e.g. utterance 17's jitter does not depend on how many numbers were drawn
// before it (the order of generation, or -j, never changes the corpus).
inline std::uint64_t derive_seed(std::uint64_t base, std::uint64_t a, std::uint64_t b = 0) {
  std::uint64_t x = base ^ 0x5851F42D4C957F2Dull;
  splitmix64(x);
  x ^= a * 0x9E3779B97F4A7C15ull;
  splitmix64(x);
  x ^= b * 0xD1B54A32D192ED03ull;
  return splitmix64(x);
}

// FNV-1a, for seeding from names (atoms of the image map).
inline std::uint64_t hash_name(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& w : s_) w = splitmix64(x);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [0, n); n > 0. Lemire's multiply-shift with rejection.
  std::size_t below(std::size_t n) {
    const std::uint64_t bound = n;
    for (;;) {
      const unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
      const std::uint64_t low = static_cast<std::uint64_t>(m);
      if (low >= bound || low >= (-bound) % bound)
        return static_cast<std::size_t>(m >> 64);
    }
  }

  bool chance(double p) { return uniform() < p; }

  // Standard normal (Box-Muller; the second value is discarded so that a
  // stream's meaning does not depend on pairing).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

  // Index drawn in proportion to non-negative weights (sum > 0).
  std::size_t weighted(const std::vector<double>& w) {
    double total = 0;
    for (double x : w) total += x;
    double r = uniform() * total;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (r < w[i]) return i;
      r -= w[i];
    }
    return w.size() - 1;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace sb::corpus
