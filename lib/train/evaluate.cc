#include "train/evaluate.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "eval/retrieval.h"
#include "eval/vectors.h"
#include "model/embed_batches.h"
#include "model/row_stable.h"

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
  std::vector<std::vector<std::uint32_t>> g(nq);
  for (std::size_t q = 0; q < nq; ++q) g[q].push_back(static_cast<std::uint32_t>(gold[q]));
  const auto ranks = eval::rank_queries(queries.data(), nq, targets.data(), nt, dim, g, {});
  std::vector<std::size_t> out;
  out.reserve(nq);
  for (const auto& r : ranks) out.push_back(r.rank);
  return out;
}

namespace {

Retrieval from_summary(const eval::RankSummary& s) {
  Retrieval r;
  r.queries = s.queries;
  r.targets = s.targets;
  r.medr = s.median_rank;
  for (const auto& [k, v] : s.recall) {
    if (k == 1) r.r1 = v;
    if (k == 5) r.r5 = v;
    if (k == 10) r.r10 = v;
  }
  return r;
}

// The two sides as sb-rank reads them: keys in archive order, no vectors yet.
struct RetrievalSides {
  eval::KeyedRows utts, imgs;
  std::vector<std::vector<std::uint32_t>> gold;
};

RetrievalSides retrieval_sides(const TaskData& si) {
  if (!si.feats || !si.images) fail("speech_image_retrieval: not an si task (", si.dir, ")");
  RetrievalSides s;
  s.utts.source = si.feats->path;
  s.utts.keys = si.feats->keys;
  s.imgs.source = si.images->path;
  s.imgs.keys = si.images->keys;
  // sb-rank --gold DIR/utt2img: the same table, the same checks and messages.
  const eval::GoldTable table = eval::read_gold_table(si.dir + "/utt2img");
  s.gold = eval::build_gold(table, s.utts, s.imgs, false);
  return s;
}

}  // namespace

Retrieval summarize_ranks(const std::vector<std::size_t>& ranks, std::size_t targets) {
  std::vector<eval::QueryRank> q(ranks.size());
  for (std::size_t i = 0; i < ranks.size(); ++i) q[i].rank = ranks[i];
  return from_summary(eval::summarize(q, targets, {1, 5, 10}));
}

void check_speech_image_retrieval(const TaskData& si) { retrieval_sides(si); }

Retrieval speech_image_retrieval(model::Model& m, const TaskData& si, int batch) {
  RetrievalSides s = retrieval_sides(si);
  model::RowStableModel run(m);
  const auto H = static_cast<std::size_t>(m.embedding_size());
  auto embed = [&](model::Encoder e, const model::EncoderInputs& in, eval::KeyedRows& out) {
    out.dim = H;
    out.data.assign(in.size() * H, 0.0f);
    model::embed_batches(run.get(), e, in, batch, [&](std::size_t i, const float* row) {
      std::copy_n(row, H, out.data.data() + i * H);
    });
  };
  model::EncoderInputs speech, images;
  for (std::size_t u = 0; u < si.feats->keys.size(); ++u)
    speech.add_speech(si.feats->data[u].data(), si.feats->frames[u]);
  for (std::size_t j = 0; j < si.images->keys.size(); ++j)
    images.add_image(si.images->row(static_cast<int>(j)));
  embed(model::Encoder::S2I, speech, s.utts);
  embed(model::Encoder::I2S, images, s.imgs);
  // What sb-rank does with the two archives sb-embed writes.
  eval::normalize_rows(s.utts.data.data(), s.utts.size(), s.utts.dim);
  eval::normalize_rows(s.imgs.data.data(), s.imgs.size(), s.imgs.dim);
  eval::RankOptions opt;
  opt.threads = num_threads();
  const auto ranks = eval::rank_queries(s.utts.data.data(), s.utts.size(), s.imgs.data.data(),
                                        s.imgs.size(), H, s.gold, opt);
  return from_summary(eval::summarize(ranks, s.imgs.size(), opt.ks));
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
