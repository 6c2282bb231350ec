// Turning examples into model inputs, and the per-epoch validation: the
// loss of each task and speech->image retrieval (paper 3.7: every
// utterance ranks all images by cosine; R@k, median rank).
#pragma once
#include <vector>

#include "model/model.h"
#include "train/batching.h"
#include "train/data.h"

namespace sb::train {

// The inputs of one batch of a task's examples (pointers into `data`).
model::BatchInput make_batch(const TaskData& data, const Batch& batch);

struct Retrieval {
  double r1 = 0, r5 = 0, r10 = 0;
  double medr = 0;   // median rank (mean of the two middle ones for an even count)
  std::size_t queries = 0, targets = 0;
};

// Ranks of each query's gold target (1 = best) among `targets` rows, by dot
// product of unit vectors; ties go to the target that comes first.
std::vector<std::size_t> gold_ranks(const std::vector<float>& queries,
                                    const std::vector<float>& targets, std::size_t dim,
                                    const std::vector<int>& gold);
Retrieval summarize_ranks(const std::vector<std::size_t>& ranks, std::size_t targets);

// S2I embeddings of every utterance of `si` against I2S embeddings of its
// distinct images. Batches of `batch` never change the result.
Retrieval speech_image_retrieval(model::Model& m, const TaskData& si, int batch);

// Mean contrastive loss over length-sorted batches of `batch` examples.
double validation_loss(model::Model& m, const TaskData& data, int batch, float margin);

}  // namespace sb::train
