// Internal to lib/core: the plain product's packed layout and its
// register-tile kernel, built once per instruction set (gemm_tiles.cc).
//
// op(B) (k x n) is packed into column panels of 16: panel p holds columns
// 16p..16p+15, row kk at out[(p*k + kk)*16 + c], zero past column n. The
// kernel keeps a tile of rows x 16 columns of C in registers while it runs
// over the whole of k, so every element of C is one sum over k in
// increasing order, acc = acc + a_ik * b_kj (a multiply and an add, no
// fused multiply-add: -ffp-contract=off), started from 0 and finished as
// alpha acc (+ beta c). That is the arithmetic of the CPU backend's AVX-512
// panel kernel, element for element, so the two give the same bits; tile
// height, vector width and row grouping change which elements are computed
// together, never how one is computed, so row i of C does not depend on
// the other rows of A or on the machine.
#pragma once
#include <cstddef>

namespace sb::detail {

constexpr std::size_t kTilePanel = 16;

inline std::size_t tile_panel_count(std::size_t n) { return (n + kTilePanel - 1) / kTilePanel; }
inline std::size_t tile_packed_size(std::size_t k, std::size_t n) {
  return tile_panel_count(n) * k * kTilePanel;
}

// C = alpha op(A) P + beta C for m x n, P packed as above, alpha != 0.
using TileKernel = void (*)(bool ta, std::size_t m, std::size_t n, std::size_t k, float alpha,
                            const float* a, std::size_t lda, const float* packed, float beta,
                            float* c, std::size_t ldc);

// One per build of gemm_tiles.cc (see lib/core/meson.build): x86-64 has
// baseline SSE2, AVX2 and AVX-512F builds; other machines (aarch64: NEON)
// the baseline one.
void gemm_tiles_baseline(bool, std::size_t, std::size_t, std::size_t, float, const float*,
                         std::size_t, const float*, float, float*, std::size_t);
#if defined(__x86_64__)
void gemm_tiles_avx2(bool, std::size_t, std::size_t, std::size_t, float, const float*,
                     std::size_t, const float*, float, float*, std::size_t);
void gemm_tiles_avx512(bool, std::size_t, std::size_t, std::size_t, float, const float*,
                       std::size_t, const float*, float, float*, std::size_t);
#endif

}  // namespace sb::detail
