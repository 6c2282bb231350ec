#include "eval/rsa.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <numeric>
#include <thread>

#include "core/error.h"
#include "core/gemm.h"
#include "eval/levenshtein.h"
#include "eval/random.h"
#include "eval/vectors.h"

namespace sb::eval {

CosineSimilarity::CosineSimilarity(const float* rows, std::size_t n, std::size_t dim)
    : n_(n), dim_(dim), x_(rows, rows + n * dim) {
  normalize_rows(x_.data(), n_, dim_);
}

void CosineSimilarity::block(std::size_t r0, std::size_t r1, std::size_t c0, float* out,
                             std::size_t ld) const {
  if (r1 <= r0 || c0 >= n_) return;
  sgemm(Trans::No, Trans::Yes, r1 - r0, n_ - c0, dim_, 1.0f, x_.data() + r0 * dim_, dim_,
        x_.data() + c0 * dim_, dim_, 0.0f, out, ld);
}

TextSimilarity::TextSimilarity(const std::vector<std::string>& utf8,
                               LevenshteinAlgorithm algorithm)
    : algorithm_(algorithm) {
  EncodedStrings e = encode_strings(utf8);
  strings_ = std::move(e.strings);
  alphabet_ = e.alphabet;
  if (algorithm_ != LevenshteinAlgorithm::BitParallel) return;
  by_length_.resize(strings_.size());
  std::iota(by_length_.begin(), by_length_.end(), 0u);
  std::stable_sort(by_length_.begin(), by_length_.end(), [&](std::uint32_t x, std::uint32_t y) {
    return strings_[x].size() < strings_[y].size();
  });
  std::size_t n_short = 0;
  for (const auto& s : strings_) n_short += s.size() <= 64;
  if (n_short * std::max<std::size_t>(alphabet_, 1) * 8 > (std::size_t{256} << 20)) return;
  short_.resize(strings_.size());
  for (std::size_t i = 0; i < strings_.size(); ++i)
    if (strings_[i].size() <= 64) short_[i].emplace(strings_[i], alphabet_);
}

void TextSimilarity::block(std::size_t r0, std::size_t r1, std::size_t c0, float* out,
                           std::size_t ld) const {
  const std::size_t n = strings_.size();
  for (std::size_t i = r0; i < r1; ++i) {
    float* row = out + (i - r0) * ld;
    const auto& a = strings_[i];
    const std::size_t j0 = std::max(c0, i + 1);
    auto sim = [&](std::size_t j, std::size_t d) {
      const std::size_t m = std::max(a.size(), strings_[j].size());
      row[j - c0] = m == 0 ? 1.0f
                           : static_cast<float>(1.0 - static_cast<double>(d) /
                                                          static_cast<double>(m));
    };
    if (algorithm_ == LevenshteinAlgorithm::Dp) {
      for (std::size_t j = j0; j < n; ++j) sim(j, levenshtein_dp(a, strings_[j]));
      continue;
    }
    std::optional<MyersPattern> own;
    const MyersPattern* p = nullptr;
    if (!short_.empty() && short_[i]) {
      p = &*short_[i];
    } else {
      own.emplace(a, alphabet_);
      p = &*own;
    }
    // Pairs go four at a time through myers_distance4. The pattern is the
    // shorter string when one fits a word: lev is symmetric.
    const MyersPattern* pat[4];
    std::span<const std::uint32_t> txt[4];
    std::size_t col[4], d[4];
    int queued = 0;
    auto flush = [&] {
      for (int l = queued; l < 4; ++l) {  // pad with a copy of the first pair
        pat[l] = pat[0];
        txt[l] = txt[0];
      }
      myers_distance4(pat, txt, d);
      for (int l = 0; l < queued; ++l) sim(col[l], d[l]);
      queued = 0;
    };
    for (const std::uint32_t jj : by_length_) {
      const std::size_t j = jj;
      if (j < j0) continue;
      const MyersPattern* q = p;
      std::span<const std::uint32_t> t = strings_[j];
      if (p->words() > 1 && !short_.empty() && short_[j]) {
        q = &*short_[j];
        t = a;
      }
      if (q->words() == 0) {  // an empty pattern: the distance is the text's length
        sim(j, t.size());
        continue;
      }
      if (q->words() > 1) {
        sim(j, q->distance(t));
        continue;
      }
      pat[queued] = q;
      txt[queued] = t;
      col[queued] = j;
      if (++queued == 4) flush();
    }
    if (queued) flush();
  }
}

namespace {

// Count, means and centred sums of squares/products of (a, b) pairs.
struct Moments {
  double n = 0, ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;

  static Moments of(const float* a, const float* b, std::size_t len) {
    Moments m;
    if (len == 0) return m;
    double sa = 0, sb_ = 0;
    for (std::size_t k = 0; k < len; ++k) {
      sa += a[k];
      sb_ += b[k];
    }
    m.n = static_cast<double>(len);
    m.ma = sa / m.n;
    m.mb = sb_ / m.n;
    for (std::size_t k = 0; k < len; ++k) {
      const double da = a[k] - m.ma, db = b[k] - m.mb;
      m.saa += da * da;
      m.sbb += db * db;
      m.sab += da * db;
    }
    return m;
  }

  // Chan, Golub & LeVeque's pairwise update: exact merging of two sets.
  void merge(const Moments& o) {
    if (o.n == 0) return;
    if (n == 0) {
      *this = o;
      return;
    }
    const double total = n + o.n, da = o.ma - ma, db = o.mb - mb, w = n * o.n / total;
    saa += o.saa + da * da * w;
    sbb += o.sbb + db * db * w;
    sab += o.sab + da * db * w;
    ma += da * o.n / total;
    mb += db * o.n / total;
    n = total;
  }
};

// Runs fn(index, r0, r1, A-block, B-block, ld) over blocks of rows, in
// parallel; block i covers rows [i*rows, ...) and columns j > r0.
using BlockFn = std::function<void(std::size_t, std::size_t, std::size_t, const float*,
                                   const float*, std::size_t)>;

std::size_t visit_blocks(const Similarity& a, const Similarity* b, int threads,
                         std::size_t& rows_out, const BlockFn& fn) {
  const std::size_t n = a.size();
  const std::size_t budget = std::size_t{64} << 20;  // bytes of scores per worker
  const std::size_t pref =
      std::min(a.preferred_rows(), b ? b->preferred_rows() : a.preferred_rows());
  const std::size_t rows = std::clamp<std::size_t>(budget / (8 * std::max<std::size_t>(n, 1)),
                                                   1, std::max<std::size_t>(pref, 1));
  rows_out = rows;
  const std::size_t blocks = (n + rows - 1) / rows;
  const unsigned workers =
      static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(thread_count(threads), blocks)));
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      std::vector<float> sa(rows * n), sb_(b ? rows * n : 0);
      for (std::size_t k; (k = next.fetch_add(1)) < blocks;) {
        const std::size_t r0 = k * rows, r1 = std::min(n, r0 + rows);
        const std::size_t c0 = r0 + 1, ld = n - std::min(n, c0);
        if (ld == 0) {
          fn(k, r0, r1, sa.data(), sb_.data(), 0);
          continue;
        }
        a.block(r0, r1, c0, sa.data(), ld);
        if (b) b->block(r0, r1, c0, sb_.data(), ld);
        fn(k, r0, r1, sa.data(), sb_.data(), ld);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = blocks;
    }
  };
  if (workers <= 1 && threads != 1) {
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
  return blocks;
}

inline std::size_t row_offset(std::size_t n, std::size_t i) {
  return i * (2 * n - i - 1) / 2;  // pairs in rows 0..i-1
}

double correlation(double sab, double saa, double sbb, const char* what_constant) {
  if (saa <= 0) fail("the first similarity is constant over all pairs", what_constant);
  if (sbb <= 0) fail("the second similarity is constant over all pairs", what_constant);
  return sab / std::sqrt(saa * sbb);
}

}  // namespace

std::vector<float> upper_triangle(const Similarity& s, int threads) {
  const std::size_t n = s.size();
  std::vector<float> tri(n < 2 ? 0 : n * (n - 1) / 2);
  std::size_t rows = 0;
  visit_blocks(s, nullptr, threads, rows,
               [&](std::size_t, std::size_t r0, std::size_t r1, const float* a, const float*,
                   std::size_t ld) {
                 for (std::size_t i = r0; i < r1; ++i) {
                   const std::size_t len = n - i - 1;
                   // Row i of the block starts at column r0 + 1; its pairs at column i + 1.
                   std::memcpy(tri.data() + row_offset(n, i), a + (i - r0) * ld + (i - r0),
                               len * sizeof(float));
                 }
               });
  return tri;
}

void rank_transform(std::vector<float>& v) {
  // Sort (value, index) as one 64-bit key: the float's bits made
  // order-preserving as an unsigned integer, then the index.
  const std::size_t n = v.size();
  if (n >= (std::uint64_t{1} << 32)) fail("too many pairs to rank (", n, ")");
  std::vector<std::uint64_t> key(n);
  for (std::size_t k = 0; k < n; ++k) {
    std::uint32_t bits;
    std::memcpy(&bits, &v[k], 4);
    bits = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
    if (v[k] == 0.0f) bits = 0x80000000u;  // -0 and +0 tie
    key[k] = (std::uint64_t{bits} << 32) | k;
  }
  std::sort(key.begin(), key.end());
  for (std::size_t s = 0; s < n;) {
    std::size_t e = s + 1;
    while (e < n && (key[e] >> 32) == (key[s] >> 32)) ++e;
    const float rank = static_cast<float>((static_cast<double>(s) + static_cast<double>(e - 1)) / 2 + 1);
    for (std::size_t k = s; k < e; ++k) v[key[k] & 0xffffffffu] = rank;
    s = e;
  }
}

RsaResult rsa(const Similarity& a, const Similarity& b, const RsaOptions& opt) {
  const std::size_t n = a.size();
  if (b.size() != n) fail("RSA needs the same items on both sides (", n, " and ", b.size(), ")");
  if (n < 3) fail("RSA needs at least 3 items, got ", n);
  RsaResult res;
  res.pairs = static_cast<std::uint64_t>(n) * (n - 1) / 2;

  if (!opt.spearman && opt.permutations == 0) {
    std::vector<Moments> per_block(n);  // there are at most n blocks of rows
    std::size_t rows = 0;
    visit_blocks(a, &b, opt.threads, rows,
                 [&](std::size_t k, std::size_t r0, std::size_t r1, const float* sa,
                     const float* sb_, std::size_t ld) {
                   Moments acc;
                   for (std::size_t i = r0; i < r1 && ld > 0; ++i) {
                     const std::size_t off = (i - r0) * ld + (i - r0);
                     acc.merge(Moments::of(sa + off, sb_ + off, n - i - 1));
                   }
                   per_block[k] = acc;
                 });
    Moments total;
    for (const auto& mm : per_block) total.merge(mm);  // fixed order: thread-count independent
    res.r = correlation(total.sab, total.saa, total.sbb, "");
    return res;
  }

  std::vector<float> ta = upper_triangle(a, opt.threads);
  std::vector<float> tb = upper_triangle(b, opt.threads);
  if (opt.spearman) {
    rank_transform(ta);
    rank_transform(tb);
  }
  // Centre both triangles (means in double), keep the sums of squares.
  auto centre = [](std::vector<float>& t) {
    double s = 0;
    for (float x : t) s += x;
    const double mean = s / static_cast<double>(t.size());
    double ss = 0;
    for (float& x : t) {
      const double d = x - mean;
      x = static_cast<float>(d);
      ss += static_cast<double>(x) * x;
    }
    return ss;
  };
  const double saa = centre(ta), sbb = centre(tb);
  auto cross = [&](const std::vector<std::uint32_t>* perm) {
    double s = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const float* ra = ta.data() + row_offset(n, i);
      double row = 0;
      if (!perm) {
        const float* rb = tb.data() + row_offset(n, i);
        for (std::size_t j = i + 1; j < n; ++j) row += static_cast<double>(ra[j - i - 1]) * rb[j - i - 1];
      } else {
        const std::size_t pi = (*perm)[i];
        for (std::size_t j = i + 1; j < n; ++j) {
          const std::size_t pj = (*perm)[j];
          const std::size_t lo = std::min(pi, pj), hi = std::max(pi, pj);
          row += static_cast<double>(ra[j - i - 1]) * tb[row_offset(n, lo) + hi - lo - 1];
        }
      }
      s += row;
    }
    return s;
  };
  res.r = correlation(cross(nullptr), saa, sbb, opt.spearman ? " (in ranks)" : "");
  if (opt.permutations == 0) return res;

  // Permutations are drawn one after another from one stream (so the k-th is
  // the same for any thread count) and evaluated a batch at a time.
  NumpyRandom rng(opt.seed);
  const unsigned workers = thread_count(opt.threads);
  std::vector<std::vector<std::uint32_t>> batch(workers);
  std::vector<double> r_perm(workers);
  std::size_t done = 0;
  const double denom = std::sqrt(saa * sbb);
  while (done < opt.permutations) {
    const std::size_t now = std::min<std::size_t>(workers, opt.permutations - done);
    for (std::size_t w = 0; w < now; ++w) {
      batch[w].resize(n);
      std::iota(batch[w].begin(), batch[w].end(), 0u);
      rng.shuffle(batch[w]);
    }
    std::vector<std::thread> pool;
    for (std::size_t w = 1; w < now; ++w)
      pool.emplace_back([&, w] { r_perm[w] = cross(&batch[w]) / denom; });
    r_perm[0] = cross(&batch[0]) / denom;
    for (auto& t : pool) t.join();
    // A permutation that reproduces r must count; allow for summation order.
    for (std::size_t w = 0; w < now; ++w) res.at_least += r_perm[w] >= res.r - 1e-12;
    done += now;
  }
  res.permutations = opt.permutations;
  res.p_value = (1.0 + static_cast<double>(res.at_least)) /
                (1.0 + static_cast<double>(opt.permutations));
  return res;
}

}  // namespace sb::eval
