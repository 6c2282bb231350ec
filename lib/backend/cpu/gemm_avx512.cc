// The AVX-512 product kernel of the CPU backend. This file alone is compiled
// with -mavx512f and is only called after a run-time check, so it uses no
// standard-library templates (an inline template instantiated here could be
// the copy the linker keeps for the whole program).
//
// C = alpha * op(A) * P + beta * C, where P is op(B) packed by pack_panels
// (gemm.cc) into column panels of 32. Every element of C is one sum over k
// in increasing order, acc = acc + a_ik * b_kj (a multiply and an add, no
// fused multiply-add: -ffp-contract=off), started from 0 and finished with
// alpha and beta. No blocking or thread split changes that order, so a row's
// result does not depend on the other rows, on its position, on the thread
// count or on the machine's vector width.
#include "backend/cpu/gemm_kernels.h"

namespace sb::cpu {
namespace {

typedef float v16 __attribute__((vector_size(64), aligned(4)));

inline v16 load(const float* p) { return *reinterpret_cast<const v16*>(p); }

// R rows (1..8) of C against one panel of 32 columns.
template <int R, bool TA>
inline void block(const float* a, std::size_t lda, std::size_t i, const float* panel,
                  std::size_t k, float alpha, float beta, float* c, std::size_t ldc,
                  std::size_t cols) {
  v16 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = v16{};
  for (std::size_t kk = 0; kk < k; ++kk) {
    const v16 b0 = load(panel + kk * 32);
    const v16 b1 = load(panel + kk * 32 + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const float s = TA ? a[kk * lda + i + r] : a[(i + r) * lda + kk];
      acc[r][0] = acc[r][0] + s * b0;
      acc[r][1] = acc[r][1] + s * b1;
    }
  }
  for (int r = 0; r < R; ++r) {
    float* cr = c + (i + r) * ldc;
    float out[32];
    *reinterpret_cast<v16*>(out) = acc[r][0];
    *reinterpret_cast<v16*>(out + 16) = acc[r][1];
    if (beta == 0.0f) {
      if (alpha == 1.0f)
        for (std::size_t j = 0; j < cols; ++j) cr[j] = out[j];
      else
        for (std::size_t j = 0; j < cols; ++j) cr[j] = alpha * out[j];
    } else {
      for (std::size_t j = 0; j < cols; ++j) cr[j] = alpha * out[j] + beta * cr[j];
    }
  }
}

template <bool TA>
void rows_panels(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                 std::size_t lda, const float* packed, float beta, float* c, std::size_t ldc,
                 std::size_t p0, std::size_t p1) {
  // Rows in groups that stay in L2 (about 256 KB of A) while the panels
  // pass; within a group, blocks of 8 rows against each panel.
  std::size_t group = (65536 / (k ? k : 1)) / 8 * 8;
  if (group < 8) group = 8;
  if (group > 256) group = 256;
  for (std::size_t g0 = 0; g0 < m; g0 += group) {
    const std::size_t g1 = g0 + group < m ? g0 + group : m;
    for (std::size_t p = p0; p < p1; ++p) {
      const float* panel = packed + p * k * 32;
      const std::size_t cols = n - p * 32 < 32 ? n - p * 32 : 32;
      float* cp = c + p * 32;
      std::size_t i = g0;
      for (; i + 8 <= g1; i += 8) block<8, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols);
      switch (g1 - i) {
        case 7: block<7, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 6: block<6, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 5: block<5, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 4: block<4, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 3: block<3, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 2: block<2, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 1: block<1, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        default: break;
      }
    }
  }
}

}  // namespace

void gemm_panels_avx512(bool ta, std::size_t m, std::size_t n, std::size_t k, float alpha,
                        const float* a, std::size_t lda, const float* packed, float beta,
                        float* c, std::size_t ldc, std::size_t p0, std::size_t p1) {
  if (ta)
    rows_panels<true>(m, n, k, alpha, a, lda, packed, beta, c, ldc, p0, p1);
  else
    rows_panels<false>(m, n, k, alpha, a, lda, packed, beta, c, ldc, p0, p1);
}

}  // namespace sb::cpu
