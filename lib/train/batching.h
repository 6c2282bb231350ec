// Batches for training and validation. Training batches are shuffled with
// length-sorted buckets: the examples are shuffled, cut into buckets of
// kBucketBatches batches, each bucket is sorted by length and cut into
// batches, and the batch order is shuffled. Similar lengths in a batch save
// padding work; the random buckets keep batch companions (the negatives of
// the contrastive loss) varying from epoch to epoch.
#pragma once
#include <vector>

#include "train/rng.h"

namespace sb::train {

constexpr int kBucketBatches = 20;

using Batch = std::vector<int>;  // example indices

// Shuffled, bucketed batches of at most `batch` examples (lengths[i] is
// example i's length). Batches of a single example are dropped: the
// contrastive loss needs a negative.
std::vector<Batch> shuffled_batches(const std::vector<int>& lengths, int batch, Rng& rng);

// Deterministic batches for validation and embedding: examples sorted by
// length (stable), cut into batches of at most `batch`.
std::vector<Batch> sorted_batches(const std::vector<int>& lengths, int batch);

}  // namespace sb::train
