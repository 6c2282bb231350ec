// lib/core: sgemm (BLAS and plain agree with a naive product), UTF-8, parsing.
#define BOOST_TEST_MODULE core
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/gemm.h"
#include "core/gemm_tiles.h"
#include "core/strings.h"

using namespace sb;

namespace {
// op(X)[i][j] for a row-major matrix with leading dimension ld.
float at(const std::vector<float>& x, Trans t, std::size_t i, std::size_t j, std::size_t ld) {
  return t == Trans::No ? x[i * ld + j] : x[j * ld + i];
}
}  // namespace

BOOST_AUTO_TEST_CASE(sgemm_matches_naive_product_for_all_transposes) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  const std::size_t m = 7, n = 5, k = 300;  // k > the plain kernel's block
  for (Trans ta : {Trans::No, Trans::Yes})
    for (Trans tb : {Trans::No, Trans::Yes}) {
      const std::size_t lda = ta == Trans::No ? k + 2 : m + 1, ldb = tb == Trans::No ? n + 3 : k;
      std::vector<float> a((ta == Trans::No ? m : k) * lda), b((tb == Trans::No ? k : n) * ldb);
      for (auto& x : a) x = u(rng);
      for (auto& x : b) x = u(rng);
      std::vector<float> c0(m * n), c1(m * n), c2(m * n);
      for (auto& x : c0) x = u(rng);
      c1 = c0;
      c2 = c0;
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          double s = 0;
          for (std::size_t p = 0; p < k; ++p) s += double(at(a, ta, i, p, lda)) * at(b, tb, p, j, ldb);
          c0[i * n + j] = static_cast<float>(0.5 * s + 2.0 * c0[i * n + j]);
        }
      sgemm(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 2.0f, c1.data(), n);
      sgemm_plain(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 2.0f, c2.data(), n);
      for (std::size_t i = 0; i < m * n; ++i) {
        BOOST_TEST(std::fabs(c1[i] - c0[i]) < 1e-4f);
        BOOST_TEST(std::fabs(c2[i] - c0[i]) < 1e-4f);
      }
    }
}

BOOST_AUTO_TEST_CASE(sgemm_beta_zero_overwrites_nan) {
  std::vector<float> a = {1, 2}, b = {3, 4}, c = {NAN};
  sgemm(Trans::No, Trans::No, 1, 1, 2, 1.0f, a.data(), 2, b.data(), 1, 0.0f, c.data(), 1);
  BOOST_TEST(c[0] == 11.0f);
  c = {NAN};
  sgemm(Trans::No, Trans::No, 1, 1, 0, 1.0f, a.data(), 2, b.data(), 1, 0.0f, c.data(), 1);
  BOOST_TEST(c[0] == 0.0f);
}

BOOST_AUTO_TEST_CASE(utf8) {
  BOOST_TEST(valid_utf8("plain"));
  BOOST_TEST(valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  BOOST_TEST(!valid_utf8("\xC3"));          // cut short
  BOOST_TEST(!valid_utf8("\xC0\xAF"));      // overlong '/'
  BOOST_TEST(!valid_utf8("\xED\xA0\x80"));  // surrogate
  const auto cps = utf8_decode("a\xC3\xA9\xE2\x82\xAC");
  BOOST_TEST(cps.size() == 3u);
  BOOST_TEST(static_cast<unsigned>(cps[1]) == 0xE9u);
  BOOST_TEST(utf8_encode(0x20AC) == "\xE2\x82\xAC");
  BOOST_CHECK_THROW(utf8_decode("\xFF"), Error);
}

BOOST_AUTO_TEST_CASE(splitting_and_parsing) {
  const auto f = split_ws("  a\tbb  c \n");
  BOOST_TEST(f.size() == 3u);
  BOOST_TEST(f[1] == "bb");
  std::string_view k, r;
  BOOST_TEST(split_key("utt1   the  dog ", k, r));
  BOOST_TEST(k == "utt1");
  BOOST_TEST(r == "the  dog");
  BOOST_TEST(!split_key("   ", k, r));
  BOOST_TEST(parse_int(" 42 ", "n") == 42);
  BOOST_CHECK_THROW(parse_int("4x", "n"), UsageError);
  BOOST_TEST(parse_double("2e-4", "lr") == 2e-4);
  BOOST_CHECK_THROW(parse_double("", "lr"), UsageError);
}

// ---- the plain kernel (gemm_tiles.h) ----------------------------------------

namespace {
std::vector<float> uniform(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(n);
  for (auto& v : x) v = u(rng);
  return x;
}
}  // namespace

BOOST_AUTO_TEST_CASE(plain_kernel_matches_double_reference_on_odd_shapes) {
  // Sizes around the tile (rows 4/6/8, panels of 16) and the row groups.
  const std::size_t shapes[][3] = {{1, 1, 1},   {1, 17, 3},   {3, 1, 17},  {17, 33, 5},
                                   {5, 16, 64}, {9, 47, 100}, {1000, 3, 7}, {2, 1000, 13},
                                   {13, 31, 1000}};
  for (const auto& s : shapes)
    for (Trans ta : {Trans::No, Trans::Yes})
      for (Trans tb : {Trans::No, Trans::Yes}) {
        const std::size_t m = s[0], n = s[1], k = s[2];
        const std::size_t lda = (ta == Trans::No ? k : m) + 1, ldb = (tb == Trans::No ? n : k) + 2;
        const auto a = uniform((ta == Trans::No ? m : k) * lda, 1);
        const auto b = uniform((tb == Trans::No ? k : n) * ldb, 2);
        const auto c0 = uniform(m * (n + 3), 3);
        std::vector<float> c = c0;
        sgemm_plain(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 2.0f, c.data(), n + 3);
        double worst = 0;
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t j = 0; j < n + 3; ++j) {
            double ref = c0[i * (n + 3) + j], mag = std::fabs(ref);
            if (j < n) {
              double sum = 0, abs_sum = 0;
              for (std::size_t p = 0; p < k; ++p) {
                const double t = double(at(a, ta, i, p, lda)) * at(b, tb, p, j, ldb);
                sum += t;
                abs_sum += std::fabs(t);
              }
              ref = 0.5 * sum + 2.0 * ref;
              mag = 0.5 * abs_sum + 2.0 * mag;
            }
            // k roundings of at most 2^-24 of the running |sum| each.
            worst = std::max(worst, std::fabs(c[i * (n + 3) + j] - ref) / ((k + 2) * 6e-8 * mag + 1e-30));
          }
        BOOST_TEST_INFO("m " << m << " n " << n << " k " << k << " ta " << int(ta) << " tb " << int(tb));
        BOOST_TEST(worst <= 1.0);  // columns n.. (past the product) must equal c0 exactly: ref = c0
      }
}

BOOST_AUTO_TEST_CASE(plain_kernel_rows_are_the_same_bits_in_any_batch) {
  const std::size_t n = 70, k = 129;
  for (Trans ta : {Trans::No, Trans::Yes}) {
    const std::size_t m = 41, lda = ta == Trans::No ? k : m;
    const auto a = uniform(m * k, 4), b = uniform(n * k, 5);
    std::vector<float> all(m * n);
    sgemm_plain(ta, Trans::Yes, m, n, k, 1.0f, a.data(), lda, b.data(), k, 0.0f, all.data(), n);
    // Row r alone, and as row 0 of every smaller batch starting at r.
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t rows : {std::size_t(1), std::size_t(5), m - r}) {
        if (r + rows > m) continue;
        std::vector<float> part(rows * n);
        if (ta == Trans::No) {
          sgemm_plain(ta, Trans::Yes, rows, n, k, 1.0f, a.data() + r * k, k, b.data(), k, 0.0f,
                      part.data(), n);
        } else {  // op(A) = A^T: rows of op(A) are columns of A; copy them out
          std::vector<float> at_part(k * rows);
          for (std::size_t p = 0; p < k; ++p)
            for (std::size_t i = 0; i < rows; ++i) at_part[p * rows + i] = a[p * m + r + i];
          sgemm_plain(ta, Trans::Yes, rows, n, k, 1.0f, at_part.data(), rows, b.data(), k, 0.0f,
                      part.data(), n);
        }
        BOOST_TEST_INFO("row " << r << " of a batch of " << rows);
        BOOST_TEST(std::memcmp(part.data(), all.data() + r * n, n * sizeof(float)) == 0);
      }
  }
}

BOOST_AUTO_TEST_CASE(plain_kernel_packed_once_gives_the_same_bits) {
  const std::size_t m = 19, n = 50, k = 77;
  for (Trans tb : {Trans::No, Trans::Yes}) {
    const auto a = uniform(m * k, 6), b = uniform(k * n, 7);
    const std::size_t ldb = tb == Trans::No ? n : k;
    std::vector<float> c1(m * n, 1.0f), c2(m * n, 1.0f), packed(sgemm_plain_packed_size(k, n));
    sgemm_plain(Trans::No, tb, m, n, k, 1.5f, a.data(), k, b.data(), ldb, 0.5f, c1.data(), n);
    sgemm_plain_pack(tb, k, n, b.data(), ldb, packed.data());
    sgemm_plain_packed(Trans::No, m, n, k, 1.5f, a.data(), k, packed.data(), 0.5f, c2.data(), n);
    BOOST_TEST(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) == 0);
  }
}

BOOST_AUTO_TEST_CASE(plain_kernel_gives_the_same_bits_with_every_instruction_set) {
  // What makes arm64 (NEON) and x86-64 agree: each element is the same
  // sequence of IEEE operations whatever the vector width.
  const std::size_t m = 23, n = 45, k = 300;
  const auto a = uniform(m * k, 8), b = uniform(k * n, 9);
  std::vector<float> packed(sgemm_plain_packed_size(k, n)), base(m * n), other(m * n);
  sgemm_plain_pack(Trans::No, k, n, b.data(), n, packed.data());
  detail::gemm_tiles_baseline(false, m, n, k, 0.75f, a.data(), k, packed.data(), 0.0f, base.data(), n);
  sgemm_plain_packed(Trans::No, m, n, k, 0.75f, a.data(), k, packed.data(), 0.0f, other.data(), n);
  BOOST_TEST_MESSAGE("plain kernel: " << sgemm_plain_isa());
  BOOST_TEST(std::memcmp(base.data(), other.data(), base.size() * sizeof(float)) == 0);
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) {
    detail::gemm_tiles_avx2(false, m, n, k, 0.75f, a.data(), k, packed.data(), 0.0f, other.data(), n);
    BOOST_TEST(std::memcmp(base.data(), other.data(), base.size() * sizeof(float)) == 0);
  }
  if (__builtin_cpu_supports("avx512f")) {
    detail::gemm_tiles_avx512(false, m, n, k, 0.75f, a.data(), k, packed.data(), 0.0f, other.data(), n);
    BOOST_TEST(std::memcmp(base.data(), other.data(), base.size() * sizeof(float)) == 0);
  }
#endif
}

BOOST_AUTO_TEST_CASE(plain_kernel_agrees_with_blas_within_tolerance) {
  if (!have_blas()) {
    BOOST_TEST_MESSAGE("built without BLAS: nothing to compare with");
    return;
  }
  // The encoder's shapes, smaller m: input and hidden products of a GRU.
  const std::size_t shapes[][3] = {{32, 768, 64}, {32, 768, 256}, {7, 3072, 1024}};
  for (const auto& s : shapes) {
    const std::size_t m = s[0], n = s[1], k = s[2];
    const auto a = uniform(m * k, 10), b = uniform(n * k, 11);
    std::vector<float> c1(m * n), c2(m * n);
    sgemm(Trans::No, Trans::Yes, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c1.data(), n);
    sgemm_plain(Trans::No, Trans::Yes, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c2.data(), n);
    float worst = 0;
    for (std::size_t i = 0; i < c1.size(); ++i) worst = std::max(worst, std::fabs(c1[i] - c2[i]));
    BOOST_TEST(worst < 2e-6f * static_cast<float>(k));
  }
}
