// lib/eval: retrieval ranks, Levenshtein, RSA and probes against known
// answers and against slow reference computations written out here.
#define BOOST_TEST_MODULE eval
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "eval/levenshtein.h"
#include "eval/probe.h"
#include "eval/random.h"
#include "eval/retrieval.h"
#include "eval/rsa.h"
#include "eval/vectors.h"
#include "io/archive.h"
#include "sb_config.h"

using namespace sb;
using namespace sb::eval;

namespace {

std::vector<float> normalized(std::vector<float> v, std::size_t dim) {
  normalize_rows(v.data(), v.size() / dim, dim);
  return v;
}

// The rank rule written out the slow way: sort all targets.
std::size_t brute_rank(const std::vector<float>& q, const std::vector<float>& t, std::size_t dim,
                       std::size_t qi, const std::vector<std::uint32_t>& gold,
                       std::vector<std::uint32_t>* order_out = nullptr) {
  const std::size_t nt = t.size() / dim;
  std::vector<float> s(nt);
  for (std::size_t j = 0; j < nt; ++j) {
    // Same products as the library's (sgemm), so equal scores stay equal.
    float acc = 0;
    for (std::size_t c = 0; c < dim; ++c) acc += q[qi * dim + c] * t[j * dim + c];
    s[j] = acc;
  }
  std::vector<std::uint32_t> order(nt);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return s[a] > s[b]; });
  if (order_out) *order_out = order;
  for (std::size_t p = 0; p < nt; ++p)
    if (std::find(gold.begin(), gold.end(), order[p]) != gold.end()) return p + 1;
  return 0;
}

KeyedRows rows_of(const std::string& source, std::vector<std::string> keys,
                  std::vector<float> data, std::size_t dim) {
  KeyedRows r;
  r.source = source;
  r.keys = std::move(keys);
  r.data = std::move(data);
  r.dim = dim;
  return r;
}

// A similarity given as an explicit symmetric matrix.
class MatrixSimilarity final : public Similarity {
 public:
  MatrixSimilarity(std::size_t n, std::vector<float> m) : n_(n), m_(std::move(m)) {}
  std::size_t size() const override { return n_; }
  void block(std::size_t r0, std::size_t r1, std::size_t c0, float* out,
             std::size_t ld) const override {
    for (std::size_t i = r0; i < r1; ++i)
      for (std::size_t j = std::max(c0, i + 1); j < n_; ++j) out[(i - r0) * ld + (j - c0)] = m_[i * n_ + j];
  }
  std::size_t preferred_rows() const override { return 3; }  // many blocks even when small

 private:
  std::size_t n_;
  std::vector<float> m_;
};

double naive_pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  double ma = 0, mb = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    ma += a[k];
    mb += b[k];
  }
  ma /= n;
  mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    sab += (a[k] - ma) * (b[k] - mb);
    saa += (a[k] - ma) * (a[k] - ma);
    sbb += (b[k] - mb) * (b[k] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

std::vector<double> triangle_of(const std::vector<float>& m, std::size_t n) {
  std::vector<double> t;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) t.push_back(m[i * n + j]);
  return t;
}

std::vector<float> random_symmetric(std::size_t n, std::uint32_t seed, int levels = 0) {
  std::mt19937 g(seed);
  std::vector<float> m(n * n, 1.0f);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      float v = static_cast<float>(g() % 100000) / 100000.0f;
      if (levels) v = std::floor(v * static_cast<float>(levels));  // many ties
      m[i * n + j] = m[j * n + i] = v;
    }
  return m;
}

}  // namespace

// ---------------------------------------------------------------- random --

BOOST_AUTO_TEST_CASE(numpy_compatible_permutations) {
  // Values printed by NumPy 1.24: np.random.RandomState(seed).permutation(n).
  BOOST_TEST((NumpyRandom(42).permutation(10) ==
              std::vector<std::size_t>{8, 1, 5, 0, 7, 2, 9, 4, 3, 6}));
  BOOST_TEST((NumpyRandom(0).permutation(7) == std::vector<std::size_t>{6, 2, 1, 3, 0, 5, 4}));
  NumpyRandom rs(7);  // successive draws from one stream
  BOOST_TEST((rs.permutation(5) == std::vector<std::size_t>{0, 3, 2, 1, 4}));
  BOOST_TEST((rs.permutation(5) == std::vector<std::size_t>{2, 1, 0, 4, 3}));
}

BOOST_AUTO_TEST_CASE(sklearn_compatible_splits) {
  // sklearn 1.2: train_test_split(arange(10), test_size=0.25, random_state=42)
  const Split s = train_test_split(10, 0.25, 42);
  BOOST_TEST((s.train == std::vector<std::size_t>{0, 7, 2, 9, 4, 3, 6}));
  BOOST_TEST((s.test == std::vector<std::size_t>{8, 1, 5}));
  // KFold(3, shuffle=True, random_state=42).split(zeros(10))
  const auto f = kfold_splits(10, 3, 42);
  BOOST_REQUIRE_EQUAL(f.size(), 3u);
  BOOST_TEST((f[0].test == std::vector<std::size_t>{8, 1, 5, 0}));
  BOOST_TEST((f[0].train == std::vector<std::size_t>{2, 3, 4, 6, 7, 9}));
  BOOST_TEST((f[1].test == std::vector<std::size_t>{7, 2, 9}));
  BOOST_TEST((f[2].test == std::vector<std::size_t>{4, 3, 6}));
  BOOST_CHECK_THROW(train_test_split(3, 0.9, 1), Error);  // no training item left
  BOOST_CHECK_THROW(kfold_splits(3, 4, 1), Error);
}

BOOST_AUTO_TEST_CASE(group_splits_keep_groups_together) {
  // Items of 10 groups (sizes 1..3); groups split as train_test_split(10
  // groups, 0.25, 42): test groups {8, 1, 5}.
  std::vector<std::uint32_t> group;
  for (std::uint32_t g = 0; g < 10; ++g)
    for (std::uint32_t k = 0; k <= g % 3; ++k) group.push_back(g);
  const Split s = group_train_test_split(group, 0.25, 42);
  std::vector<std::size_t> want_test;
  for (std::size_t i = 0; i < group.size(); ++i)
    if (group[i] == 8 || group[i] == 1 || group[i] == 5) want_test.push_back(i);
  BOOST_TEST(s.test == want_test);
  BOOST_TEST(s.train.size() + s.test.size() == group.size());
  const auto folds = group_kfold_splits(group, 3, 42);
  std::vector<int> seen(group.size(), 0);
  for (const auto& f : folds)
    for (std::size_t i : f.test) {
      ++seen[i];
      for (std::size_t j : f.train) BOOST_TEST(group[j] != group[i]);
    }
  BOOST_TEST(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
}

// ------------------------------------------------------------- retrieval --

// Images i1..i4 and utterances u1..u5 in 2-d; the expected ranks are worked
// out by hand (see tests/cli/rank.sh for the same case through the tool).
struct HandCase {
  std::vector<float> img = {1, 0, 0, 1, 1, 1, -1, 0};
  std::vector<float> utt = {1, 0, 0, 1, -1, 0, 1, 1, 0, -1};
  // utt2img: u1->i3, u2->i4, u3->i4, u4->i2, u5->i1
  std::vector<std::vector<std::uint32_t>> fwd_gold = {{2}, {3}, {3}, {1}, {0}};
  // image -> its captions
  std::vector<std::vector<std::uint32_t>> rev_gold = {{4}, {3}, {0}, {1, 2}};
};

BOOST_AUTO_TEST_CASE(rank_known_answers_and_tie_rule) {
  HandCase h;
  const auto img = normalized(h.img, 2), utt = normalized(h.utt, 2);
  RankOptions opt;
  opt.ks = {1, 2, 3};
  const auto fwd = rank_queries(utt.data(), 5, img.data(), 4, 2, h.fwd_gold, opt);
  // u2 = (0,1): i2 1, i3 .71, then i1 and i4 tie at 0 -> i1 first, gold i4 4th.
  const std::vector<std::size_t> want_fwd = {2, 4, 1, 3, 1};
  for (std::size_t q = 0; q < 5; ++q) BOOST_TEST(fwd[q].rank == want_fwd[q]);
  const auto s = summarize(fwd, 4, opt.ks);
  BOOST_TEST(s.recall[0].second == 0.4);
  BOOST_TEST(s.recall[1].second == 0.6);
  BOOST_TEST(s.recall[2].second == 0.8);
  BOOST_TEST(s.median_rank == 2.0);
  BOOST_TEST(s.mean_rank == 2.2);

  const auto rev = rank_queries(img.data(), 4, utt.data(), 5, 2, h.rev_gold, opt);
  const std::vector<std::size_t> want_rev = {4, 2, 2, 1};
  for (std::size_t q = 0; q < 4; ++q) BOOST_TEST(rev[q].rank == want_rev[q]);
  BOOST_TEST(rev[3].best_gold == 2u);  // of i4's captions u2 (rank 3) and u3 (rank 1)
  const auto sr = summarize(rev, 5, {1, 2});
  BOOST_TEST(sr.median_rank == 2.0);
  BOOST_TEST(sr.mean_rank == 2.25);
}

BOOST_AUTO_TEST_CASE(rank_matches_full_sort_for_any_block_and_thread_count) {
  // Quantised vectors make many exact ties; tiny blocks make many blocks.
  const std::size_t nq = 157, nt = 91, dim = 5;
  std::mt19937 g(3);
  std::vector<float> q(nq * dim), t(nt * dim);
  for (auto& x : q) x = static_cast<float>(static_cast<int>(g() % 5) - 2);
  for (auto& x : t) x = static_cast<float>(static_cast<int>(g() % 5) - 2);
  t[0] = 1;  // no zero target row
  std::vector<std::vector<std::uint32_t>> gold(nq);
  for (std::size_t i = 0; i < nq; ++i) {
    gold[i].push_back(static_cast<std::uint32_t>(g() % nt));
    if (i % 3 == 0) gold[i].push_back(static_cast<std::uint32_t>(g() % nt));
  }
  // Unnormalised integer vectors: every product is exact in float, so the
  // brute-force scores are bit-equal to sgemm's.
  RankOptions a;
  a.top = 7;
  a.threads = 1;
  RankOptions b = a;
  b.threads = 3;
  b.block_bytes = nt * sizeof(float) * 4;  // 4 queries per block
  const auto ra = rank_queries(q.data(), nq, t.data(), nt, dim, gold, a);
  const auto rb = rank_queries(q.data(), nq, t.data(), nt, dim, gold, b);
  for (std::size_t i = 0; i < nq; ++i) {
    std::vector<std::uint32_t> order;
    BOOST_TEST(ra[i].rank == brute_rank(q, t, dim, i, gold[i], &order));
    BOOST_TEST(rb[i].rank == ra[i].rank);
    BOOST_REQUIRE_EQUAL(ra[i].top.size(), 7u);
    for (std::size_t p = 0; p < 7; ++p) {
      BOOST_TEST(ra[i].top[p].target == order[p]);
      BOOST_TEST(rb[i].top[p].target == order[p]);
    }
  }
}

BOOST_AUTO_TEST_CASE(gold_table_errors) {
  const auto q = rows_of("q.sbt", {"u1", "u2"}, {1, 0, 0, 1}, 2);
  const auto t = rows_of("t.sbt", {"i1", "i2"}, {1, 0, 0, 1}, 2);
  GoldTable g;
  g.path = "utt2img";
  g.utt = {"u1", "u2", "u9"};
  g.img = {"i2", "i1", "i7"};  // u9 is not evaluated: ignored
  g.line = {1, 2, 3};
  const auto gold = build_gold(g, q, t, false);
  BOOST_TEST((gold[0] == std::vector<std::uint32_t>{1}));
  BOOST_TEST((gold[1] == std::vector<std::uint32_t>{0}));

  GoldTable missing_img = g;
  missing_img.img[1] = "i5";
  try {
    build_gold(missing_img, q, t, false);
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()) == "utt2img: line 2: gold image 'i5' of 'u2' is not in t.sbt");
  }
  GoldTable no_entry = g;
  no_entry.utt[1] = "u8";
  try {
    build_gold(no_entry, q, t, false);
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()) == "q.sbt: record 2 (u2): no entry in utt2img");
  }
  // Reverse: i1 loses its only caption.
  GoldTable both_i2 = g;
  both_i2.img = {"i2", "i2", "i7"};
  BOOST_CHECK_THROW(build_gold(both_i2, t, q, true), Error);
}

// ----------------------------------------------------------- levenshtein --

BOOST_AUTO_TEST_CASE(levenshtein_known_distances) {
  auto enc = [](std::vector<std::string> s) { return encode_strings(s); };
  const auto e = enc({"kitten", "sitting", "", "flaw", "lawn", "naïve café", "naive cafe"});
  auto dist = [&](std::size_t i, std::size_t j) {
    const std::size_t d = levenshtein_dp(e.strings[i], e.strings[j]);
    BOOST_TEST(MyersPattern(e.strings[i], e.alphabet).distance(e.strings[j]) == d);
    BOOST_TEST(MyersPattern(e.strings[j], e.alphabet).distance(e.strings[i]) == d);
    return d;
  };
  BOOST_TEST(dist(0, 1) == 3u);
  BOOST_TEST(dist(0, 2) == 6u);
  BOOST_TEST(dist(2, 2) == 0u);
  BOOST_TEST(dist(3, 4) == 2u);
  BOOST_TEST(dist(5, 6) == 2u);  // code points, not bytes: ï and é are one symbol each
  BOOST_TEST(e.strings[5].size() == 10u);
}

BOOST_AUTO_TEST_CASE(bit_parallel_equals_dp_across_word_boundaries) {
  std::mt19937 g(11);
  for (int trial = 0; trial < 600; ++trial) {
    const std::size_t alphabet = 1 + g() % (trial % 2 ? 3 : 30);
    // Lengths around 0, 63/64/65, 127/128/129 and up to 300.
    static const std::size_t lens[] = {0, 1, 2, 31, 63, 64, 65, 100, 127, 128, 129, 191, 192, 193, 300};
    const std::size_t la = lens[g() % 15] + (trial % 5 == 0 ? g() % 3 : 0);
    const std::size_t lb = lens[g() % 15];
    Symbols a(la), b(lb);
    for (auto& c : a) c = g() % alphabet;
    for (auto& c : b) c = g() % alphabet;
    if (trial % 7 == 0 && lb <= la) std::copy(a.begin(), a.begin() + lb, b.begin());  // long common part
    const std::size_t d = levenshtein_dp(a, b);
    BOOST_TEST(MyersPattern(a, alphabet).distance(b) == d, "lengths " << la << "," << lb);
    BOOST_TEST(MyersPattern(b, alphabet).distance(a) == d);
  }
}

// ------------------------------------------------------------------- rsa --

BOOST_AUTO_TEST_CASE(text_similarity_definition) {
  // 1 - lev / max: (a,ab) = 1/2, (a,abc) = 1/3, (ab,abc) = 2/3; empty pairs.
  const TextSimilarity t({"a", "ab", "abc", "", ""});
  const auto tri = upper_triangle(t, 1);
  const std::vector<float> want = {0.5f, 1.0f / 3, 0.0f, 0.0f, 2.0f / 3, 0, 0, 0, 0, 1};
  BOOST_REQUIRE_EQUAL(tri.size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k) BOOST_TEST(tri[k] == want[k], "pair " << k);
  const TextSimilarity dp({"a", "ab", "abc", "", ""}, LevenshteinAlgorithm::Dp);
  BOOST_TEST((upper_triangle(dp, 2) == tri));
}

BOOST_AUTO_TEST_CASE(rsa_known_correlations) {
  // x1=(1,0), x2=(0,1), x3=(1,1): cosines (0, .7071, .7071); against the
  // strings' (1/2, 1/3, 2/3): r = -0.5 exactly (centred: (-1,1,1)x(0,-1,1)/..)
  const std::vector<float> x = {1, 0, 0, 1, 1, 1};
  const CosineSimilarity cos3(x.data(), 3, 2);
  const TextSimilarity text3({"a", "ab", "abc"});
  BOOST_TEST(rsa(cos3, text3, {}).r == 0.0, boost::test_tools::tolerance(1e-6));
  // Identical similarities: r = 1; negated: r = -1.
  const std::size_t n = 9;
  const auto m = random_symmetric(n, 5);
  std::vector<float> neg(m);
  for (auto& v : neg) v = -v;
  BOOST_TEST(rsa(MatrixSimilarity(n, m), MatrixSimilarity(n, m), {}).r ==
             1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rsa(MatrixSimilarity(n, m), MatrixSimilarity(n, neg), {}).r ==
             -1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rsa(MatrixSimilarity(n, m), MatrixSimilarity(n, neg), {}).pairs == 36u);
  // Constant similarity and too few items are errors, not NaN.
  BOOST_CHECK_THROW(rsa(MatrixSimilarity(n, m), MatrixSimilarity(n, std::vector<float>(n * n, 0.5f)), {}),
                    Error);
  BOOST_CHECK_THROW(rsa(text3, TextSimilarity({"x", "y"}), {}), Error);
}

BOOST_AUTO_TEST_CASE(rsa_hand_worked_pearson) {
  // Pairs (12, 13, 23): A = (1, 2, 3), B = (1, 3, 2):
  // centred (-1,0,1)·(-1,1,0) = 1, norms sqrt(2) sqrt(2): r = 0.5.
  const std::vector<float> a = {0, 1, 2, 1, 0, 3, 2, 3, 0};
  const std::vector<float> b = {0, 1, 3, 1, 0, 2, 3, 2, 0};
  RsaOptions o;
  BOOST_TEST(rsa(MatrixSimilarity(3, a), MatrixSimilarity(3, b), o).r == 0.5,
             boost::test_tools::tolerance(1e-12));
  o.spearman = true;  // ranks equal the values here
  BOOST_TEST(rsa(MatrixSimilarity(3, a), MatrixSimilarity(3, b), o).r == 0.5,
             boost::test_tools::tolerance(1e-7));
}

BOOST_AUTO_TEST_CASE(rsa_streaming_equals_naive_for_any_thread_count) {
  const std::size_t n = 61;
  const auto ma = random_symmetric(n, 1), mb = random_symmetric(n, 2);
  std::vector<float> mix(n * n);
  for (std::size_t k = 0; k < n * n; ++k) mix[k] = ma[k] + 0.5f * mb[k];
  const double want = naive_pearson(triangle_of(ma, n), triangle_of(mix, n));
  RsaOptions one, four;
  one.threads = 1;
  four.threads = 4;
  const double r1 = rsa(MatrixSimilarity(n, ma), MatrixSimilarity(n, mix), one).r;
  const double r4 = rsa(MatrixSimilarity(n, ma), MatrixSimilarity(n, mix), four).r;
  BOOST_TEST(r1 == want, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r1 == r4);  // bit-identical: blocks merged in a fixed order
  // The stored path (used by --spearman/--permutations) agrees too.
  RsaOptions stored;
  stored.permutations = 1;
  BOOST_TEST(rsa(MatrixSimilarity(n, ma), MatrixSimilarity(n, mix), stored).r == want,
             boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(cosine_rsa_equals_naive) {
  const std::size_t n = 70, da = 6, db = 3;
  std::mt19937 g(9);
  std::vector<float> xa(n * da), xb(n * db);
  for (auto& v : xa) v = static_cast<float>(g() % 1000) / 500.0f - 1;
  for (auto& v : xb) v = static_cast<float>(g() % 1000) / 500.0f - 1;
  auto cos_matrix = [&](const std::vector<float>& x, std::size_t d) {
    std::vector<float> m(n * n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double s = 0, ni = 0, nj = 0;
        for (std::size_t c = 0; c < d; ++c) {
          s += double(x[i * d + c]) * x[j * d + c];
          ni += double(x[i * d + c]) * x[i * d + c];
          nj += double(x[j * d + c]) * x[j * d + c];
        }
        m[i * n + j] = static_cast<float>(s / std::sqrt(ni * nj));
      }
    return m;
  };
  const double want = naive_pearson(triangle_of(cos_matrix(xa, da), n), triangle_of(cos_matrix(xb, db), n));
  BOOST_TEST(rsa(CosineSimilarity(xa.data(), n, da), CosineSimilarity(xb.data(), n, db), {}).r == want,
             boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(spearman_and_rank_transform) {
  std::vector<float> v = {3, 1, 2, 2, -0.0f, 0.0f};
  rank_transform(v);
  BOOST_TEST((v == std::vector<float>{6, 3, 4.5f, 4.5f, 1.5f, 1.5f}));
  // A strictly monotone transform leaves Spearman's rho at 1 (not Pearson's r).
  const std::size_t n = 12;
  const auto m = random_symmetric(n, 4);
  std::vector<float> cube(m);
  for (auto& x : cube) x = x * x * x;
  RsaOptions sp;
  sp.spearman = true;
  BOOST_TEST(rsa(MatrixSimilarity(n, m), MatrixSimilarity(n, cube), sp).r == 1.0,
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(rsa(MatrixSimilarity(n, m), MatrixSimilarity(n, cube), {}).r < 0.99);
  // With ties: equals Pearson of the hand-ranked triangles.
  const auto ta = random_symmetric(n, 6, 4), tb = random_symmetric(n, 7, 3);
  auto tra = triangle_of(ta, n), trb = triangle_of(tb, n);
  std::vector<float> fa(tra.begin(), tra.end()), fb(trb.begin(), trb.end());
  rank_transform(fa);
  rank_transform(fb);
  const double want = naive_pearson({fa.begin(), fa.end()}, {fb.begin(), fb.end()});
  BOOST_TEST(rsa(MatrixSimilarity(n, ta), MatrixSimilarity(n, tb), sp).r == want,
             boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(mantel_test_counts_permutations) {
  const std::size_t n = 10;
  const auto ma = random_symmetric(n, 21), mb = random_symmetric(n, 22);
  RsaOptions o;
  o.permutations = 199;
  o.seed = 5;
  o.threads = 3;
  const RsaResult res = rsa(MatrixSimilarity(n, ma), MatrixSimilarity(n, mb), o);
  // Recount by hand with the same permutations (RandomState(5), in turn).
  NumpyRandom rng(5);
  const auto ta = triangle_of(ma, n);
  std::size_t at_least = 0;
  for (std::size_t k = 0; k < o.permutations; ++k) {
    const auto p = rng.permutation(n);
    std::vector<double> tb;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j) tb.push_back(mb[p[i] * n + p[j]]);
    at_least += naive_pearson(ta, tb) >= res.r - 1e-9;
  }
  BOOST_TEST(res.at_least == at_least);
  BOOST_TEST(res.p_value == (1.0 + double(at_least)) / 200.0);
  o.threads = 1;
  BOOST_TEST(rsa(MatrixSimilarity(n, ma), MatrixSimilarity(n, mb), o).at_least == at_least);
  // A matrix against itself: almost no permutation does as well.
  const RsaResult self = rsa(MatrixSimilarity(n, ma), MatrixSimilarity(n, ma), o);
  BOOST_TEST(self.p_value <= 0.02);
}

// ----------------------------------------------------------------- probe --

BOOST_AUTO_TEST_CASE(frame_map_formula) {
  FrameMap id;  // MFCC frames: frame f is centred at (f + 1/2) hop
  BOOST_TEST((id.frames(0.53, 0.61, 1000) == std::pair<std::size_t, std::size_t>{53, 61}));
  BOOST_TEST((id.frames(0.0, 0.005, 1000) == std::pair<std::size_t, std::size_t>{0, 0}));
  BOOST_TEST((id.frames(0.0, 0.0051, 1000) == std::pair<std::size_t, std::size_t>{0, 1}));
  BOOST_TEST((id.frames(0.004, 0.016, 1000) == std::pair<std::size_t, std::size_t>{0, 2}));
  BOOST_TEST((id.frames(0.95, 1.20, 100) == std::pair<std::size_t, std::size_t>{95, 100}));  // clamped to T
  BOOST_TEST((id.frames(2.0, 2.5, 100) == std::pair<std::size_t, std::size_t>{100, 100}));  // no frame
  // The paper's conv: kernel 6, stride 2, padding 6: output o reads input
  // frames 2o-6 .. 2o-1, centred at time (2o - 3) hop. Phone [0.10, 0.20) s:
  // 10 <= 2o - 3 < 20 -> o in [7, 12). A 10 ms phone at an even frame owns
  // no output frame (stride 2 puts centres on odd frame boundaries).
  const FrameMap conv = FrameMap::parse("6,2,6", "--frame-map");
  BOOST_TEST((conv.frames(0.10, 0.20, 1000) == std::pair<std::size_t, std::size_t>{7, 12}));
  BOOST_TEST((conv.frames(0.0, 0.01, 1000) == std::pair<std::size_t, std::size_t>{2, 2}));
  BOOST_TEST((conv.frames(0.01, 0.02, 1000) == std::pair<std::size_t, std::size_t>{2, 3}));
  BOOST_CHECK_THROW(FrameMap::parse("6,2", "--frame-map"), UsageError);
  BOOST_CHECK_THROW(FrameMap::parse("6,0,1", "--frame-map"), UsageError);
}

BOOST_AUTO_TEST_CASE(ctm_and_phone_means) {
  const std::string path = "test_eval_ali.ctm";
  {
    std::ofstream f(path);
    f << ";; comment\n"
         "u1 1 0.00 0.02 a\n"
         "u1 1 0.02 0.01 b\n"
         "u1 1 0.03 0.00 c\n"  // zero duration: no frame
         "\n"
         "u2 1 0.00 0.01 a 0.9\n"
         "u3 1 0.00 0.01 b\n";  // never fed
  }
  const auto ctm = read_ctm(path);
  BOOST_REQUIRE_EQUAL(ctm.size(), 5u);
  BOOST_TEST(ctm[1].line == 3u);
  PhoneAverager avg(ctm, FrameMap{});
  const std::vector<float> u1 = {1, 10, 3, 30, 5, 50};  // 3 frames x 2
  const std::vector<float> u2 = {7, 70};
  BOOST_TEST(avg.add("u1", u1.data(), 3, 2, "x"));
  BOOST_TEST(avg.add("u2", u2.data(), 1, 2, "x"));
  BOOST_TEST(!avg.add("u9", u2.data(), 1, 2, "x"));
  BOOST_CHECK_THROW(avg.add("u1", u1.data(), 3, 2, "x"), Error);  // twice
  BOOST_TEST(avg.without_frames() == 1u);
  BOOST_TEST(avg.segments_of_unfed() == 1u);
  // Skip reports name what they skipped.
  BOOST_TEST(avg.without_frames_message() ==
             "1 phone segments cover no frame; skipped (line 4: u1 'c' 0.03 s + 0 s)");
  BOOST_TEST(avg.unfed_message() == "1 segments of 1 aligned utterances without activations; skipped (u3)");
  BOOST_TEST(avg.unaligned() == 1u);
  BOOST_TEST(avg.unaligned_message("a.sbt") == "1 utterances of a.sbt have no alignment; skipped (u9)");
  const ProbeData d = avg.take();
  BOOST_TEST((d.x == std::vector<float>{2, 20, 5, 50, 7, 70}));
  BOOST_TEST((d.classes == std::vector<std::string>{"a", "b"}));
  BOOST_TEST((d.y == std::vector<std::uint32_t>{0, 1, 0}));
  BOOST_TEST((d.group == std::vector<std::uint32_t>{0, 0, 1}));  // u1, u1, u2

  {
    std::ofstream f(path);
    f << "u1 1 0.00 0.02 a\nu1 1 zero 0.01 b\n";
  }
  try {
    read_ctm(path);
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()) == path + ": line 2: bad start time 'zero'");
  }
  // Huge times would overflow the frame arithmetic (5e12 s gave wrong
  // segment counts with exit 0): refused, naming the line.
  {
    std::ofstream f(path);
    f << "u1 1 5e12 0.02 a\n";
  }
  try {
    read_ctm(path);
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()) == path + ": line 1: start time '5e12' is out of range (0 to 1e+07 s)");
  }
  {
    std::ofstream f(path);
    f << "u1 1 0 inf a\n";
  }
  BOOST_CHECK_THROW(read_ctm(path), Error);
  BOOST_CHECK_THROW(FrameMap::parse("6,2,100000000000", "--frame-map"), UsageError);
  BOOST_CHECK_THROW(FrameMap::parse("9223372036854775807,2,6", "--frame-map"), UsageError);
  std::remove(path.c_str());
}

#if SB_HAVE_LIBLINEAR
namespace {
ProbeData blobs(std::size_t per_class, std::size_t classes, double spread, std::uint32_t seed,
                bool random_labels) {
  std::mt19937 g(seed);
  std::normal_distribution<double> noise(0.0, spread);
  ProbeData d;
  d.dim = 4;
  std::vector<std::string> labels;
  for (std::size_t c = 0; c < classes; ++c)
    for (std::size_t i = 0; i < per_class; ++i) {
      for (std::size_t k = 0; k < d.dim; ++k)
        d.x.push_back(static_cast<float>((k == c % d.dim ? 3.0 : 0.0) + (c >= d.dim ? -3.0 : 0.0) + noise(g)));
      labels.push_back(random_labels ? std::string(1, char('a' + g() % classes))
                                     : std::string(1, char('a' + c)));
    }
  set_labels(d, labels);
  return d;
}
}  // namespace

BOOST_AUTO_TEST_CASE(probe_separable_data_is_decoded_perfectly) {
  ProbeOptions o = ProbeOptions::speaker();
  const auto res = run_probe(blobs(40, 5, 0.3, 1, false), o);
  BOOST_TEST(res.items == 200u);
  BOOST_TEST(res.classes == 5u);
  BOOST_TEST(res.accuracy == 1.0);
  BOOST_TEST(res.folds[0].test == 50u);
  BOOST_TEST(res.majority < 0.35);
  // Two classes take the binary path.
  BOOST_TEST(run_probe(blobs(30, 2, 0.3, 2, false), ProbeOptions::phone()).accuracy == 1.0);
  o.folds = 4;
  const auto cv = run_probe(blobs(40, 3, 0.3, 3, false), o);
  BOOST_TEST(cv.folds.size() == 4u);
  BOOST_TEST(cv.accuracy == 1.0);
}

BOOST_AUTO_TEST_CASE(probe_inseparable_data_stays_near_chance) {
  // Labels drawn independently of the features: nothing to learn.
  ProbeOptions o;
  o.C = 1;
  o.test_fraction = 0.5;
  const auto res = run_probe(blobs(150, 4, 1.0, 4, true), o);
  BOOST_TEST(res.accuracy < 0.40);  // chance is 0.25
  BOOST_TEST(res.accuracy > 0.10);
}

BOOST_AUTO_TEST_CASE(probe_majority_baseline_and_unseen_classes) {
  // Class 'a' dominates; one item of class 'z' cannot be in both parts.
  ProbeData d;
  d.dim = 1;
  std::vector<std::string> labels;
  for (int i = 0; i < 30; ++i) {
    d.x.push_back(static_cast<float>(i % 3 == 0 ? 5 : -5));
    labels.push_back(i % 3 == 0 ? "b" : "a");
  }
  d.x.push_back(0);
  labels.push_back("z");
  set_labels(d, labels);
  Split s;
  for (std::size_t i = 0; i < 20; ++i) s.train.push_back(i);
  for (std::size_t i = 20; i < 31; ++i) s.test.push_back(i);
  const FoldResult f = fit_and_score(d, s, ProbeOptions::speaker());
  // Test items 20..29 (7 a, 3 b, decoded) and z (never trained, never predicted).
  BOOST_TEST(f.correct == 10u);
  BOOST_TEST(f.majority_correct == 7u);
  BOOST_TEST(f.train_classes == 2u);
}
#endif

BOOST_AUTO_TEST_CASE(skip_reports_name_the_first_three) {
  std::vector<CtmSegment> ctm;
  for (int i = 0; i < 5; ++i) ctm.push_back({"u" + std::to_string(i), "p", 0.0, 0.0, static_cast<std::size_t>(i + 1)});
  PhoneAverager avg(ctm, FrameMap{});
  const std::vector<float> x = {1, 2};
  for (int i = 0; i < 5; ++i) BOOST_TEST(avg.add("u" + std::to_string(i), x.data(), 1, 2, "x"));
  for (int i = 0; i < 4; ++i) BOOST_TEST(!avg.add("v" + std::to_string(i), x.data(), 1, 2, "x"));
  BOOST_TEST(avg.without_frames() == 5u);
  BOOST_TEST(avg.without_frames_message() ==
             "5 phone segments cover no frame; skipped (line 1: u0 'p' 0 s + 0 s, line 2: u1 'p' 0 s + 0 s, "
             "line 3: u2 'p' 0 s + 0 s and 2 more)");
  BOOST_TEST(avg.unaligned_message("f") == "4 utterances of f have no alignment; skipped (v0, v1, v2 and 1 more)");
}
