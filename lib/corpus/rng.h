// The corpus generator's random numbers: the project's generator
// (core/random.h, fully specified, so that a seed means the same corpus
// wherever sb is built with the same libm) plus the draws only the corpus
// makes (pick, weighted choice, chance).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/random.h"

namespace sb::corpus {

using sb::derive_seed;
using sb::splitmix64;

// FNV-1a, for seeding from names (atoms of the image map).
inline std::uint64_t hash_name(std::string_view s) { return sb::fnv1a(s); }

class Rng : public sb::Random {
 public:
  explicit Rng(std::uint64_t seed) : sb::Random(seed) {}

  bool chance(double p) { return uniform() < p; }

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
};

}  // namespace sb::corpus
