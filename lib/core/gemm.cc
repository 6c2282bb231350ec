#include "core/gemm.h"

#include <algorithm>
#include <vector>

#include "sb_config.h"
#if SB_HAVE_BLAS
#include <cblas.h>
#endif

namespace sb {

bool have_blas() { return SB_HAVE_BLAS; }

void sgemm_plain(Trans ta, Trans tb, std::size_t m, std::size_t n,
                 std::size_t k, float alpha, const float* a, std::size_t lda,
                 const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc) {
  // Scale C first, so beta == 0 overwrites NaN garbage as BLAS does.
  for (std::size_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f)
      std::fill(ci, ci + n, 0.0f);
    else if (beta != 1.0f)
      for (std::size_t j = 0; j < n; ++j) ci[j] *= beta;
  }
  if (m == 0 || n == 0 || k == 0 || alpha == 0.0f) return;
  // Pack op(B) as k x n row-major so the inner loop runs over contiguous
  // memory and vectorises; op(A) is read one element at a time.
  std::vector<float> bp;
  const float* bk = b;
  std::size_t ldbk = ldb;
  if (tb == Trans::Yes) {
    bp.resize(k * n);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t p = 0; p < k; ++p) bp[p * n + j] = b[j * ldb + p];
    bk = bp.data();
    ldbk = n;
  }
  constexpr std::size_t kBlock = 256;
  for (std::size_t p0 = 0; p0 < k; p0 += kBlock) {
    const std::size_t p1 = std::min(k, p0 + kBlock);
    for (std::size_t i = 0; i < m; ++i) {
      float* ci = c + i * ldc;
      for (std::size_t p = p0; p < p1; ++p) {
        const float aip = alpha * (ta == Trans::No ? a[i * lda + p] : a[p * lda + i]);
        const float* bp_row = bk + p * ldbk;
        for (std::size_t j = 0; j < n; ++j) ci[j] += aip * bp_row[j];
      }
    }
  }
}

void sgemm(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k,
           float alpha, const float* a, std::size_t lda, const float* b,
           std::size_t ldb, float beta, float* c, std::size_t ldc) {
#if SB_HAVE_BLAS
  if (m == 0 || n == 0) return;
  if (k == 0) {  // cblas leaves C alone for k == 0 only when beta == 1
    sgemm_plain(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, ta == Trans::Yes ? CblasTrans : CblasNoTrans,
              tb == Trans::Yes ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
              static_cast<int>(ldc));
#else
  sgemm_plain(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

}  // namespace sb
