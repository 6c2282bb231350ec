// Representational similarity analysis (sb-rsa; paper section 3.7).
//
// Two similarity functions over the same n items are compared by Pearson's
// r over the n (n - 1) / 2 pairs i < j (the upper triangle without the
// diagonal), or by Spearman's rho (Pearson's r of the pairs' ranks, ties
// given their average rank). A Mantel test permutes the items of the second
// matrix (rows and columns together) and reports
//   p = (1 + #{permutations with r_perm >= r}) / (1 + permutations).
//
// Memory: Pearson's r alone is streamed. Blocks of rows of both matrices
// are computed on the fly and reduced to counts, means and centred sums of
// squares and products, merged block by block in a fixed order (Chan et
// al.), so the result is the same for any thread count and nothing of size
// n^2 is held. Spearman and permutations need every pair at once: each
// matrix is kept as a float upper triangle, 4 n (n - 1) / 2 bytes
// (20,000 items: 0.8 GB per matrix), plus 8 bytes a pair while ranking.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/options_itf.h"
#include "eval/levenshtein.h"

namespace sb::eval {

class Similarity {
 public:
  virtual ~Similarity() = default;
  virtual std::size_t size() const = 0;
  // Writes sim(i, j) to out[(i - r0) * ld + (j - c0)] for r0 <= i < r1 and
  // max(c0, i + 1) <= j < size(); other cells may be anything. Called from
  // several threads at once.
  virtual void block(std::size_t r0, std::size_t r1, std::size_t c0, float* out,
                     std::size_t ld) const = 0;
  // At most this many rows per block (fewer when n is large, to keep a
  // block under 64 MB): small for costly similarities, so that threads
  // share the work evenly.
  virtual std::size_t preferred_rows() const { return 64; }
};

// Cosine similarity of vectors (rows are copied and L2-normalised; a zero
// vector has cosine 0 with everything).
class CosineSimilarity final : public Similarity {
 public:
  CosineSimilarity(const float* rows, std::size_t n, std::size_t dim);
  std::size_t size() const override { return n_; }
  void block(std::size_t r0, std::size_t r1, std::size_t c0, float* out,
             std::size_t ld) const override;

 private:
  std::size_t n_, dim_;
  std::vector<float> x_;
};

enum class LevenshteinAlgorithm { BitParallel, Dp };

// 1 - lev(a, b) / max(|a|, |b|) over Unicode code points (1 for two empty strings).
// The bit-parallel path takes the shorter string of a pair as the pattern
// when it fits one machine word (captions mostly do), and compares a row's
// pattern with four texts at a time.
class TextSimilarity final : public Similarity {
 public:
  explicit TextSimilarity(const std::vector<std::string>& utf8,
                          LevenshteinAlgorithm algorithm = LevenshteinAlgorithm::BitParallel);
  std::size_t size() const override { return strings_.size(); }
  void block(std::size_t r0, std::size_t r1, std::size_t c0, float* out,
             std::size_t ld) const override;
  std::size_t preferred_rows() const override { return 16; }

 private:
  std::vector<std::vector<std::uint32_t>> strings_;
  std::size_t alphabet_;
  LevenshteinAlgorithm algorithm_;
  // Single-word patterns of the strings of at most 64 symbols, built once
  // (alphabet x 8 bytes each) unless that would take more than 256 MB.
  std::vector<std::optional<MyersPattern>> short_;
  // Indices by string length: a row visits its columns in this order, so
  // that the four pairs computed together have texts of similar length.
  std::vector<std::uint32_t> by_length_;
};

struct RsaOptions {
  bool spearman = false;
  std::size_t permutations = 0;  // Mantel test; 0 = none
  std::uint32_t seed = 0;        // NumPy RandomState(seed).permutation(n), one per permutation
  int threads = 0;               // 0 = all cores

  // Kaldi's Register (the 32-bit seed is sb-rsa's, shared with --sample).
  void Register(OptionsItf& o) {
    o.add("spearman", &spearman, "Spearman's rho instead of Pearson's r");
    o.add("permutations", &permutations, "Mantel test with N permutations of B's items (0 = none)", 0,
          1000000000);
    o.add("threads", &threads, "worker threads (0 = all cores)", 0, 4096);
  }
};

struct RsaResult {
  double r = 0;
  std::uint64_t pairs = 0;
  std::size_t permutations = 0;
  std::size_t at_least = 0;  // permutations with r_perm >= r
  double p_value = std::numeric_limits<double>::quiet_NaN();
};

// Throws sb::Error when the two sizes differ, n < 3, or one similarity is
// constant over the pairs (r undefined).
RsaResult rsa(const Similarity& a, const Similarity& b, const RsaOptions& opt);

// The upper triangle (i < j, row by row) of a similarity: for tests and
// for callers that want the values.
std::vector<float> upper_triangle(const Similarity& s, int threads = 0);

// Replaces values by their 1-based ranks, ties by their average rank.
void rank_transform(std::vector<float>& v);

}  // namespace sb::eval
