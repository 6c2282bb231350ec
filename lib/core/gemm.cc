#include "core/gemm.h"
#include "core/gemm_tiles.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "sb_config.h"
#if SB_HAVE_BLAS
#include <cblas.h>
#endif

namespace sb {

bool have_blas() { return SB_HAVE_BLAS; }

namespace {

detail::TileKernel tile_kernel() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const detail::TileKernel k = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && std::getenv("SB_NO_AVX512") == nullptr)
      return &detail::gemm_tiles_avx512;
    if (__builtin_cpu_supports("avx2")) return &detail::gemm_tiles_avx2;
    return &detail::gemm_tiles_baseline;
  }();
  return k;
#else
  return &detail::gemm_tiles_baseline;
#endif
}

// C = beta C, with beta == 0 overwriting NaN garbage as BLAS does.
void scale_c(std::size_t m, std::size_t n, float beta, float* c, std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f)
      std::fill(ci, ci + n, 0.0f);
    else if (beta != 1.0f)
      for (std::size_t j = 0; j < n; ++j) ci[j] *= beta;
  }
}

}  // namespace

const char* sgemm_plain_isa() {
#if defined(__x86_64__)
  const auto k = tile_kernel();
  return k == &detail::gemm_tiles_avx512 ? "AVX-512" : k == &detail::gemm_tiles_avx2 ? "AVX2" : "SSE2";
#elif defined(__aarch64__) || defined(__ARM_NEON)
  return "NEON";
#else
  return "generic";
#endif
}

std::size_t sgemm_plain_packed_size(std::size_t k, std::size_t n) {
  return detail::tile_packed_size(k, n);
}

void sgemm_plain_pack(Trans tb, std::size_t k, std::size_t n, const float* b,
                      std::size_t ldb, float* packed) {
  constexpr std::size_t w = detail::kTilePanel;
  for (std::size_t p = 0; p < detail::tile_panel_count(n); ++p) {
    const std::size_t j0 = p * w;
    const std::size_t cols = std::min(w, n - j0);
    float* o = packed + p * k * w;
    if (tb == Trans::Yes) {  // column j of op(B) is row j of B, read along
      for (std::size_t c = 0; c < cols; ++c) {
        const float* src = b + (j0 + c) * ldb;
        for (std::size_t kk = 0; kk < k; ++kk) o[kk * w + c] = src[kk];
      }
    } else {
      for (std::size_t kk = 0; kk < k; ++kk) std::copy_n(b + kk * ldb + j0, cols, o + kk * w);
    }
    if (cols < w)
      for (std::size_t kk = 0; kk < k; ++kk) std::fill(o + kk * w + cols, o + (kk + 1) * w, 0.0f);
  }
}

void sgemm_plain_packed(Trans ta, std::size_t m, std::size_t n, std::size_t k,
                        float alpha, const float* a, std::size_t lda,
                        const float* packed, float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {  // as BLAS: A and B are not read
    scale_c(m, n, beta, c, ldc);
    return;
  }
  tile_kernel()(ta == Trans::Yes, m, n, k, alpha, a, lda, packed, beta, c, ldc);
}

void sgemm_plain(Trans ta, Trans tb, std::size_t m, std::size_t n,
                 std::size_t k, float alpha, const float* a, std::size_t lda,
                 const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  thread_local std::vector<float> packed;
  const std::size_t need = sgemm_plain_packed_size(k, n);
  if (packed.size() < need) packed.resize(need);
  sgemm_plain_pack(tb, k, n, b, ldb, packed.data());
  sgemm_plain_packed(ta, m, n, k, alpha, a, lda, packed.data(), beta, c, ldc);
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
