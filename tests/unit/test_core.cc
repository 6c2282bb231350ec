// lib/core: sgemm (BLAS and plain agree with a naive product), UTF-8, parsing.
#define BOOST_TEST_MODULE core
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/gemm.h"
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
