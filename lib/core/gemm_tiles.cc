// The plain product's register-tile kernel (see gemm_tiles.h). This file is
// compiled once per instruction set, with SB_TILE_FUNCTION naming the entry
// point and -mavx2 / -mavx512f where it applies; the vector width follows
// the flags the compiler was given. GCC's generic vectors of the machine's
// own width are used, not wider ones: a 64-byte vector on a 32-byte machine
// is lowered through memory (measured 10x slower). Like backend/cpu/gemm_avx512.cc it uses no
// standard-library templates, since an inline template instantiated here
// could be the copy the linker keeps for the whole program.
#include "core/gemm_tiles.h"

#ifndef SB_TILE_FUNCTION
#error "SB_TILE_FUNCTION must name the entry point (lib/core/meson.build)"
#endif

namespace sb::detail {
namespace {

// W floats per vector register; R rows per tile, as many as fit the
// register file with the 16/W vectors of the panel row: AVX-512 (32
// registers of 16), AVX2 (16 of 8), NEON (32 of 4), SSE2 (16 of 4).
#if defined(__AVX512F__)
constexpr int kWidth = 16, kRows = 8;
#elif defined(__AVX2__)
constexpr int kWidth = 8, kRows = 6;
#elif defined(__aarch64__) || defined(__ARM_NEON)
constexpr int kWidth = 4, kRows = 6;
#else
constexpr int kWidth = 4, kRows = 4;
#endif
constexpr int kVecs = static_cast<int>(kTilePanel) / kWidth;

typedef float vec __attribute__((vector_size(kWidth * sizeof(float))));
// The same vector read from or written to floats at any 4-byte boundary.
// Not memcpy: GCC then moves the vector through the stack in halves (a
// store-forwarding stall on every load, measured 5x slower).
typedef float vec_at_float __attribute__((vector_size(kWidth * sizeof(float)), aligned(4), may_alias));

inline vec load(const float* p) { return *reinterpret_cast<const vec_at_float*>(p); }
inline void store(float* p, vec v) { *reinterpret_cast<vec_at_float*>(p) = v; }

// R rows (1..kRows) of C, starting at row i, against one panel.
template <int R, bool TA>
inline void tile(const float* a, std::size_t lda, std::size_t i, const float* panel,
                 std::size_t k, float alpha, float beta, float* c, std::size_t ldc,
                 std::size_t cols) {
  vec acc[R][kVecs];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < kVecs; ++v) acc[r][v] = vec{};
  for (std::size_t kk = 0; kk < k; ++kk) {
    vec b[kVecs];
    for (int v = 0; v < kVecs; ++v) b[v] = load(panel + kk * kTilePanel + v * kWidth);
    for (int r = 0; r < R; ++r) {
      const float s = TA ? a[kk * lda + i + r] : a[(i + r) * lda + kk];
      for (int v = 0; v < kVecs; ++v) acc[r][v] = acc[r][v] + s * b[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    float out[kTilePanel];
    for (int v = 0; v < kVecs; ++v) store(out + v * kWidth, acc[r][v]);
    float* cr = c + (i + r) * ldc;
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
void rows_by_panels(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                    std::size_t lda, const float* packed, float beta, float* c,
                    std::size_t ldc) {
  // Cache blocking: rows in groups of about 128 KB of A, which stay in L2
  // while every panel (k x 16, 64 KB at k = 1024) passes under them; a
  // panel is reused from L1/L2 by each tile of the group. Groups split M
  // only, never k, so they do not touch the order of a sum.
  std::size_t group = 32768 / (k ? k : 1);
  group = group / kRows * kRows;
  if (group < static_cast<std::size_t>(kRows)) group = kRows;
  const std::size_t panels = tile_panel_count(n);
  for (std::size_t g0 = 0; g0 < m; g0 += group) {
    const std::size_t g1 = g0 + group < m ? g0 + group : m;
    for (std::size_t p = 0; p < panels; ++p) {
      const float* panel = packed + p * k * kTilePanel;
      const std::size_t cols = n - p * kTilePanel < kTilePanel ? n - p * kTilePanel : kTilePanel;
      float* cp = c + p * kTilePanel;
      std::size_t i = g0;
      for (; i + kRows <= g1; i += kRows)
        tile<kRows, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols);
      switch (g1 - i) {
        case 7: tile<7 < kRows ? 7 : 1, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 6: tile<6 < kRows ? 6 : 1, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 5: tile<5, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 4: tile<4, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 3: tile<3, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 2: tile<2, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        case 1: tile<1, TA>(a, lda, i, panel, k, alpha, beta, cp, ldc, cols); break;
        default: break;
      }
    }
  }
}

}  // namespace

void SB_TILE_FUNCTION(bool ta, std::size_t m, std::size_t n, std::size_t k, float alpha,
                      const float* a, std::size_t lda, const float* packed, float beta, float* c,
                      std::size_t ldc) {
  if (ta)
    rows_by_panels<true>(m, n, k, alpha, a, lda, packed, beta, c, ldc);
  else
    rows_by_panels<false>(m, n, k, alpha, a, lda, packed, beta, c, ldc);
}

}  // namespace sb::detail
