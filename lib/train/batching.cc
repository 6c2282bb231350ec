#include "train/batching.h"

#include <algorithm>
#include <numeric>

namespace sb::train {

std::vector<Batch> shuffled_batches(const std::vector<int>& lengths, int batch, Rng& rng) {
  std::vector<int> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(order);
  const std::size_t b = static_cast<std::size_t>(batch);
  const std::size_t bucket = b * kBucketBatches;
  std::vector<Batch> out;
  for (std::size_t s = 0; s < order.size(); s += bucket) {
    const auto first = order.begin() + static_cast<std::ptrdiff_t>(s);
    const auto last = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + bucket));
    // Stable on the shuffled order: ties stay random, and the result does
    // not depend on the sort implementation.
    std::stable_sort(first, last, [&](int x, int y) { return lengths[x] < lengths[y]; });
    for (auto it = first; it != last;) {
      const auto end = it + std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(b), last - it);
      if (end - it >= 2) out.emplace_back(it, end);
      it = end;
    }
  }
  rng.shuffle(out);
  return out;
}

std::vector<Batch> sorted_batches(const std::vector<int>& lengths, int batch) {
  std::vector<int> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return lengths[x] < lengths[y]; });
  std::vector<Batch> out;
  const std::size_t b = static_cast<std::size_t>(batch);
  for (std::size_t s = 0; s < order.size(); s += b)
    out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(s),
                     order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + b)));
  return out;
}

}  // namespace sb::train
