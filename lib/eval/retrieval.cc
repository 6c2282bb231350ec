#include "eval/retrieval.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "core/gemm.h"
#include "core/strings.h"
#include "io/table.h"

namespace sb::eval {
namespace {

// "a ranks above b": higher score, or equal score and earlier target.
inline bool better(float sa, std::uint32_t a, float sb_, std::uint32_t b) {
  return sa > sb_ || (sa == sb_ && a < b);
}

void rank_row(const float* s, std::size_t nt, const std::vector<std::uint32_t>& gold,
              std::size_t top, QueryRank& out, std::vector<Hit>& heap) {
  // The best-ranked gold target: under the total order `better`, it is the
  // gold target that beats the others, and its rank counts what beats it.
  std::uint32_t g = gold[0];
  for (std::uint32_t c : gold)
    if (better(s[c], c, s[g], g)) g = c;
  const float gs = s[g];
  std::size_t above = 0;
  for (std::uint32_t t = 0; t < g; ++t) above += s[t] >= gs;
  for (std::size_t t = g + 1; t < nt; ++t) above += s[t] > gs;
  out.rank = above + 1;
  out.best_gold = g;
  out.gold_score = gs;
  if (top == 0) return;
  // Partial selection: a heap of the K best so far, worst on top.
  const auto worse_first = [](const Hit& x, const Hit& y) {
    return better(x.score, x.target, y.score, y.target);
  };
  const std::size_t k = std::min(top, nt);
  heap.clear();
  for (std::uint32_t t = 0; t < nt; ++t) {
    if (heap.size() < k) {
      heap.push_back({t, s[t]});
      std::push_heap(heap.begin(), heap.end(), worse_first);
    } else if (better(s[t], t, heap.front().score, heap.front().target)) {
      std::pop_heap(heap.begin(), heap.end(), worse_first);
      heap.back() = {t, s[t]};
      std::push_heap(heap.begin(), heap.end(), worse_first);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), worse_first);
  out.top = heap;
}

}  // namespace

std::vector<QueryRank> rank_queries(const float* queries, std::size_t nq, const float* targets,
                                    std::size_t nt, std::size_t dim,
                                    const std::vector<std::vector<std::uint32_t>>& gold,
                                    const RankOptions& opt) {
  if (gold.size() != nq) fail("rank_queries: ", gold.size(), " gold lists for ", nq, " queries");
  if (nt > 0xffffffffULL) fail("more than 2^32 targets");
  for (const auto& g : gold) {
    if (g.empty()) fail("rank_queries: a query without gold targets");
    for (std::uint32_t t : g)
      if (t >= nt) fail("rank_queries: gold target ", t, " out of range");
  }
  std::vector<QueryRank> out(nq);
  if (nq == 0 || nt == 0) return out;

  const std::size_t row_bytes = nt * sizeof(float);
  const std::size_t rows = std::clamp<std::size_t>(opt.block_bytes / row_bytes, 1, 256);
  const std::size_t blocks = (nq + rows - 1) / rows;
  const unsigned workers =
      static_cast<unsigned>(std::min<std::size_t>(thread_count(opt.threads), blocks));

  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      std::vector<float> s(rows * nt);
      std::vector<Hit> heap;
      for (std::size_t b; (b = next.fetch_add(1)) < blocks;) {
        const std::size_t r0 = b * rows, r1 = std::min(nq, r0 + rows);
        sgemm(Trans::No, Trans::Yes, r1 - r0, nt, dim, 1.0f, queries + r0 * dim, dim, targets,
              dim, 0.0f, s.data(), nt);
        for (std::size_t q = r0; q < r1; ++q)
          rank_row(s.data() + (q - r0) * nt, nt, gold[q], opt.top, out[q], heap);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = blocks;
    }
  };
  if (workers <= 1 && opt.threads != 1) {
    work();  // one block: BLAS may use its own threads here
  } else if (workers <= 1) {
    BlasSingleThread single;  // --threads 1 means one thread, BLAS included
    work();
  } else {
    BlasSingleThread single;
    std::vector<std::thread> pool;
    for (unsigned i = 0; i < workers; ++i) pool.emplace_back(work);
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
  return out;
}

RankSummary summarize(const std::vector<QueryRank>& ranks, std::size_t n_targets,
                      const std::vector<std::size_t>& ks) {
  RankSummary s;
  s.queries = ranks.size();
  s.targets = n_targets;
  if (ranks.empty()) return s;
  std::vector<std::size_t> r;
  r.reserve(ranks.size());
  double sum = 0;
  for (const auto& q : ranks) {
    r.push_back(q.rank);
    sum += static_cast<double>(q.rank);
  }
  for (std::size_t k : ks) {
    std::size_t hit = 0;
    for (std::size_t x : r) hit += x <= k;
    s.recall.emplace_back(k, static_cast<double>(hit) / static_cast<double>(r.size()));
  }
  std::sort(r.begin(), r.end());
  const std::size_t n = r.size();
  s.median_rank = n % 2 ? static_cast<double>(r[n / 2])
                        : (static_cast<double>(r[n / 2 - 1]) + static_cast<double>(r[n / 2])) / 2;
  s.mean_rank = sum / static_cast<double>(n);
  return s;
}

GoldTable read_gold_table(const std::string& path) {
  GoldTable g;
  g.path = path;
  for (auto& e : read_table(path)) {
    if (split_ws(e.value).size() != 1)
      fail(path, ": line ", e.line, ": expected 'utterance image', got more than one image key");
    g.utt.push_back(std::move(e.key));
    g.img.push_back(std::move(e.value));
    g.line.push_back(e.line);
  }
  return g;
}

std::vector<std::vector<std::uint32_t>> build_gold(const GoldTable& table,
                                                   const KeyedRows& queries,
                                                   const KeyedRows& targets, bool reverse) {
  const KeyedRows& utts = reverse ? targets : queries;
  const KeyedRows& imgs = reverse ? queries : targets;
  const auto utt_index = utts.index();
  const auto img_index = imgs.index();
  std::vector<std::vector<std::uint32_t>> gold(queries.size());
  std::vector<bool> has_entry(utts.size(), false);
  for (std::size_t e = 0; e < table.utt.size(); ++e) {
    const auto u = utt_index.find(table.utt[e]);
    if (u == utt_index.end()) continue;  // an utterance this evaluation does not use
    has_entry[u->second] = true;
    const auto i = img_index.find(table.img[e]);
    if (i == img_index.end())
      fail(table.path, ": line ", table.line[e], ": gold image '", table.img[e], "' of '",
           table.utt[e], "' is not in ", imgs.source);
    if (reverse)
      gold[i->second].push_back(static_cast<std::uint32_t>(u->second));
    else
      gold[u->second].push_back(static_cast<std::uint32_t>(i->second));
  }
  for (std::size_t u = 0; u < utts.size(); ++u)
    if (!has_entry[u])
      fail(utts.source, ": record ", u + 1, " (", utts.keys[u], "): no entry in ", table.path);
  if (reverse)
    for (std::size_t i = 0; i < imgs.size(); ++i)
      if (gold[i].empty())
        fail(imgs.source, ": record ", i + 1, " (", imgs.keys[i], "): no utterance in ",
             utts.source, " is paired with it in ", table.path);
  return gold;
}

}  // namespace sb::eval
