// The random draws of sb-rank/sb-rsa/sb-probe, made identical to NumPy's
// legacy RandomState so that a split or a permutation can be reproduced (and
// checked) in Python:
//   np.random.RandomState(seed).permutation(n)           == permutation(n, seed)
//   sklearn train_test_split(..., random_state=seed)     == train_test_split()
// RandomState(int) seeds MT19937 with init_genrand(seed), exactly what
// std::mt19937(seed) does; its shuffle is Fisher-Yates from the back with
// a masked rejection draw (numpy/random/src/distributions: random_interval).
// <random>'s distributions are not used: their output differs between
// standard libraries.
#pragma once
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

namespace sb::eval {

class NumpyRandom {
 public:
  explicit NumpyRandom(std::uint32_t seed) : mt_(seed) {}

  // Uniform integer in [0, max], numpy's random_interval().
  std::uint64_t interval(std::uint64_t max) {
    if (max == 0) return 0;
    std::uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    std::uint64_t value;
    if (max <= 0xffffffffULL) {
      while ((value = (next32() & mask)) > max) {
      }
    } else {
      while ((value = (next64() & mask)) > max) {
      }
    }
    return value;
  }

  // In-place shuffle, numpy's RandomState.shuffle on a 1-d array.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(interval(i - 1));
      std::swap(v[i - 1], v[j]);
    }
  }

  std::vector<std::size_t> permutation(std::size_t n) {
    std::vector<std::size_t> p(n);
    std::iota(p.begin(), p.end(), std::size_t{0});
    shuffle(p);
    return p;
  }

 private:
  std::uint64_t next32() { return static_cast<std::uint32_t>(mt_()); }
  std::uint64_t next64() {
    const std::uint64_t hi = next32();
    return (hi << 32) | next32();
  }
  std::mt19937 mt_;
};

}  // namespace sb::eval
