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
// product of unit vectors; ties go to the target that comes first. Thin
// wrappers of lib/eval's retrieval (sb-rank's code).
std::vector<std::size_t> gold_ranks(const std::vector<float>& queries,
                                    const std::vector<float>& targets, std::size_t dim,
                                    const std::vector<int>& gold);
Retrieval summarize_ranks(const std::vector<std::size_t>& ranks, std::size_t targets);

// Speech -> image retrieval on a validation directory, exactly as
//   sb-embed -m MODEL -e s2i DIR/feats.sbt > q.sbt
//   sb-embed -m MODEL -e i2s DIR/images.sbt > t.sbt
//   sb-rank --gold DIR/utt2img q.sbt t.sbt
// computes it from the saved model: every utterance of feats.sbt ranks every
// image of images.sbt (archive order breaks ties), gold from utt2img.
// Embeddings come from model::embed_batches on a RowStableModel, the ranks
// from lib/eval. Where sb-rank refuses the files (an utterance without an
// utt2img entry, a gold image missing from images.sbt) this throws the
// same error. Batches of `batch` never change the result.
Retrieval speech_image_retrieval(model::Model& m, const TaskData& si, int batch);

// The check speech_image_retrieval starts with, without a model: call it
// before training so that bad validation files fail at once, not after
// the first epoch.
void check_speech_image_retrieval(const TaskData& si);

// Mean contrastive loss over length-sorted batches of `batch` examples.
double validation_loss(model::Model& m, const TaskData& data, int batch, float margin);

}  // namespace sb::train
