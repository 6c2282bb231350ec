#include "train/evaluate.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "core/error.h"
#include "core/gemm.h"

namespace sb::train {

using model::Task;

model::BatchInput make_batch(const TaskData& data, const Batch& batch) {
  model::BatchInput in;
  const Task t = data.task;
  const bool speech = t == Task::SI || t == Task::ST;
  const bool text = t == Task::ST || t == Task::TI;
  const bool image = t == Task::SI || t == Task::TI;
  if (image) in.images.reserve(batch.size() * static_cast<std::size_t>(data.images->dim));
  for (int i : batch) {
    const Example& e = data.examples[static_cast<std::size_t>(i)];
    if (speech) {
      in.speech.push_back(data.feats->data[static_cast<std::size_t>(e.utt)].data());
      in.frames.push_back(data.feats->frames[static_cast<std::size_t>(e.utt)]);
    }
    if (text) in.text.push_back(&data.text_ids.at(static_cast<std::size_t>(e.text)));
    if (image) {
      const float* row = data.images->row(e.img);
      in.images.insert(in.images.end(), row, row + data.images->dim);
    }
  }
  return in;
}

std::vector<std::size_t> gold_ranks(const std::vector<float>& queries,
                                    const std::vector<float>& targets, std::size_t dim,
                                    const std::vector<int>& gold) {
  const std::size_t nq = queries.size() / dim, nt = targets.size() / dim;
  std::vector<std::size_t> ranks(nq);
  // Blocks of queries keep the score matrix small; the gold score is read
  // from the same product it is compared with.
  const std::size_t block = 256;
  std::vector<float> scores;
  for (std::size_t q0 = 0; q0 < nq; q0 += block) {
    const std::size_t bq = std::min(block, nq - q0);
    scores.assign(bq * nt, 0.0f);
    sgemm(Trans::No, Trans::Yes, bq, nt, dim, 1.0f, queries.data() + q0 * dim, dim,
          targets.data(), dim, 0.0f, scores.data(), nt);
    for (std::size_t i = 0; i < bq; ++i) {
      const float* s = scores.data() + i * nt;
      const auto g = static_cast<std::size_t>(gold[q0 + i]);
      std::size_t rank = 1;
      for (std::size_t j = 0; j < nt; ++j)
        if (s[j] > s[g] || (s[j] == s[g] && j < g)) ++rank;
      ranks[q0 + i] = rank;
    }
  }
  return ranks;
}

Retrieval summarize_ranks(const std::vector<std::size_t>& ranks, std::size_t targets) {
  Retrieval r;
  r.queries = ranks.size();
  r.targets = targets;
  if (ranks.empty()) return r;
  std::size_t c1 = 0, c5 = 0, c10 = 0;
  for (auto k : ranks) {
    c1 += k <= 1;
    c5 += k <= 5;
    c10 += k <= 10;
  }
  const double n = static_cast<double>(ranks.size());
  r.r1 = static_cast<double>(c1) / n;
  r.r5 = static_cast<double>(c5) / n;
  r.r10 = static_cast<double>(c10) / n;
  auto sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t m = sorted.size() / 2;
  r.medr = sorted.size() % 2 ? static_cast<double>(sorted[m])
                             : (static_cast<double>(sorted[m - 1]) + static_cast<double>(sorted[m])) / 2;
  return r;
}

Retrieval speech_image_retrieval(model::Model& m, const TaskData& si, int batch) {
  const auto H = static_cast<std::size_t>(m.embedding_size());
  std::vector<int> lengths(si.size());
  for (std::size_t i = 0; i < si.size(); ++i) lengths[i] = si.length(i);
  std::vector<float> queries(si.size() * H);
  for (const auto& b : sorted_batches(lengths, batch)) {
    model::BatchInput in;
    for (int i : b) {
      const Example& e = si.examples[static_cast<std::size_t>(i)];
      in.speech.push_back(si.feats->data[static_cast<std::size_t>(e.utt)].data());
      in.frames.push_back(si.feats->frames[static_cast<std::size_t>(e.utt)]);
    }
    const auto y = m.embed(model::Encoder::S2I, in);
    for (std::size_t j = 0; j < b.size(); ++j)
      std::copy_n(y.data() + j * H, H, queries.data() + static_cast<std::size_t>(b[j]) * H);
  }
  const auto images = si.distinct_images();
  std::unordered_map<int, int> position;
  for (std::size_t j = 0; j < images.size(); ++j) position[images[j]] = static_cast<int>(j);
  std::vector<float> targets(images.size() * H);
  const auto D = static_cast<std::size_t>(si.images->dim);
  for (std::size_t j0 = 0; j0 < images.size(); j0 += static_cast<std::size_t>(batch)) {
    const std::size_t n = std::min(static_cast<std::size_t>(batch), images.size() - j0);
    model::BatchInput in;
    for (std::size_t j = 0; j < n; ++j) {
      const float* row = si.images->row(images[j0 + j]);
      in.images.insert(in.images.end(), row, row + D);
    }
    const auto y = m.embed(model::Encoder::I2S, in);
    std::copy(y.begin(), y.end(), targets.begin() + static_cast<std::ptrdiff_t>(j0 * H));
  }
  std::vector<int> gold(si.size());
  for (std::size_t i = 0; i < si.size(); ++i) gold[i] = position.at(si.examples[i].img);
  return summarize_ranks(gold_ranks(queries, targets, H, gold), images.size());
}

double validation_loss(model::Model& m, const TaskData& data, int batch, float margin) {
  std::vector<int> lengths(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) lengths[i] = data.length(i);
  double sum = 0;
  std::size_t n = 0;
  for (const auto& b : sorted_batches(lengths, batch)) {
    if (b.size() < 2) continue;  // no negatives, no loss
    sum += m.eval_loss(data.task, make_batch(data, b), margin);
    ++n;
  }
  return n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace sb::train
