// The project's random numbers: one generator, written out in full.
//
// std::*_distribution is implementation-defined, so two standard libraries
// would draw different numbers from the same seed; everything here is
// specified (SplitMix64 seeding, xoshiro256** by Blackman & Vigna, our own
// bounded draws, Box-Muller, Fisher-Yates), so that a seed means the same
// stream wherever sb is built with the same libm. The whole state is four
// words, so a checkpoint can store it and a resumed run draws exactly the
// numbers an uninterrupted one would.
//
//   sb::Random rng(seed);                  // or derive_seed(base, label, i)
//   rng.below(n); rng.uniform(); rng.normal(); rng.shuffle(v);
//   auto s = rng.state(); ...; rng.set_state(s);
//
// Users: sb-train (train::Rng), the layers' initialisation (nn::Rng), the
// synthetic corpus (corpus::Rng), MFCC dither (splitmix64, fnv1a). The
// probes' splits keep a NumPy-compatible generator (eval/random.h), since
// their point is to match scikit-learn.
#pragma once
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace sb {

// SplitMix64 (Steele, Lea & Flood; Vigna's constants): advances `state` by
// the golden-ratio increment and returns the mixed value. Used to seed
// xoshiro and, on its own, as a cheap stream (MFCC dither).
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// 64-bit FNV-1a: seeds from names (utterance keys, atoms), and the training
// data's fingerprint, fed piece by piece (pass the previous hash as `h`).
inline constexpr std::uint64_t kFnv1aBasis = 0xCBF29CE484222325ull;
inline std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = kFnv1aBasis) {
  const auto* b = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}
inline std::uint64_t fnv1a(std::string_view s) { return fnv1a(s.data(), s.size()); }

// An independent stream seed from a base seed and up to two labels, so
// that e.g. item 17's draws do not depend on how many numbers were drawn
// before it (generation order, or -j, never changes the result).
inline std::uint64_t derive_seed(std::uint64_t base, std::uint64_t a, std::uint64_t b = 0) {
  std::uint64_t x = base ^ 0x5851F42D4C957F2Dull;
  splitmix64(x);
  x ^= a * 0x9E3779B97F4A7C15ull;
  splitmix64(x);
  x ^= b * 0xD1B54A32D192ED03ull;
  return splitmix64(x);
}

// xoshiro256** seeded through SplitMix64.
class Random {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Random(std::uint64_t seed = 0) { reseed(seed); }

  // The four state words are four SplitMix64 outputs from `seed`. (They
  // cannot all be zero: SplitMix64 is a bijection of successive states.)
  void reseed(std::uint64_t seed) {
    for (auto& w : s_) w = splitmix64(seed);
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

  // The top 32 bits of next().
  std::uint32_t next_u32() { return static_cast<std::uint32_t>(next() >> 32); }

  // Uniform in [0, n), n > 0, without modulo bias: draws are rejected
  // while they fall in the incomplete last block of n values at the top of
  // the 64-bit range (at most n - 1 of 2^64 values), then reduced modulo
  // n. One draw per call except with probability < n / 2^64. (sb-train's
  // batch order depends on exactly this method: do not change it.)
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }

  // Uniform in [0, 1) with 53 random bits (the top ones: xoshiro's best).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Standard normal by Box-Muller, one value per two draws (the second
  // value is discarded, so a stream's meaning never depends on pairing).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // Fisher-Yates from the back, with below().
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

  const State& state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  State s_{};
};

}  // namespace sb
