// Cross-modal retrieval by cosine similarity (sb-rank; paper section 3.7).
//
// Every query ranks all targets by cosine similarity, highest first. Ties
// (bit-equal float scores) are broken by target order: the target that
// comes first in the targets archive ranks higher. The rank of a gold
// target g of query q is therefore
//   rank(q, g) = 1 + #{t : s(q,t) > s(q,g)} + #{t < g : s(q,t) = s(q,g)},
// and a query with several gold targets counts its best-ranked one (image
// -> speech retrieval, where an image has five spoken captions).
//
// Scores come from blocked sgemm products of a few hundred queries against
// all targets at a time; the gold score is read from the same product as
// the scores it is compared with, so a rank never depends on two roundings
// of one cosine. Memory is bounded by the block size, never queries x
// targets. Block shapes do not depend on the thread count, so results are
// identical for any --threads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/options_itf.h"
#include "eval/vectors.h"

namespace sb::eval {

struct RankOptions {
  std::vector<std::size_t> ks{1, 5, 10};  // R@k cut-offs
  std::size_t top = 0;                    // keep each query's top-K list
  int threads = 0;                        // 0 = all cores
  // Scores held at once by one worker: block rows x targets x 4 bytes.
  std::size_t block_bytes = std::size_t{32} << 20;

  // Kaldi's Register: --top and --threads (sb-rank parses -k itself).
  void Register(OptionsItf& o) {
    o.add("top", &top, "write each query's K best targets (to --top-out)", 0, 1u << 20);
    o.add("threads", &threads, "worker threads (0 = all cores)", 0, 4096);
  }
};

struct Hit {
  std::uint32_t target;
  float score;
};

struct QueryRank {
  std::size_t rank = 0;         // 1 = best
  std::uint32_t best_gold = 0;  // the gold target that got `rank`
  float gold_score = 0;
  std::vector<Hit> top;         // best first, RankOptions::top long
};

// Queries and targets are row-major (n x dim) and already L2-normalised;
// gold[q] lists the target indices that count as correct for query q
// (non-empty, each < n_targets).
std::vector<QueryRank> rank_queries(const float* queries, std::size_t n_queries,
                                    const float* targets, std::size_t n_targets,
                                    std::size_t dim,
                                    const std::vector<std::vector<std::uint32_t>>& gold,
                                    const RankOptions& opt);

struct RankSummary {
  std::size_t queries = 0, targets = 0;
  std::vector<std::pair<std::size_t, double>> recall;  // (k, share in top k)
  double median_rank = 0;  // the middle rank; the mean of the two middle ones for an even count
  double mean_rank = 0;
};

RankSummary summarize(const std::vector<QueryRank>& ranks, std::size_t n_targets,
                      const std::vector<std::size_t>& ks);

// Builds the gold lists from utt2img entries (utterance -> image).
// Forward (reverse = false): queries are utterances, targets images; every
// query must have an utt2img entry whose image is among the targets.
// Reverse: queries are images, targets utterances; an image's gold targets
// are the utterances mapped to it, and every image must have at least one.
// Entries naming keys absent from both sides are ignored (a table may
// cover more data than one evaluation uses). Errors name the table and line.
struct GoldTable {
  std::string path;
  std::vector<std::string> utt, img;
  std::vector<std::size_t> line;
};
GoldTable read_gold_table(const std::string& path);
std::vector<std::vector<std::uint32_t>> build_gold(const GoldTable& table,
                                                   const KeyedRows& queries,
                                                   const KeyedRows& targets, bool reverse);

}  // namespace sb::eval
