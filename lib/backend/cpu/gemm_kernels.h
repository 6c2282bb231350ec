// Internal to the CPU backend: the packed-panel product (gemm_avx512.cc) and
// its packing and dispatch (gemm.cc). See gemm_avx512.cc for the guarantees.
#pragma once
#include <cstddef>

namespace sb::cpu {

constexpr std::size_t kPanel = 32;  // columns per packed panel

inline std::size_t panel_count(std::size_t n) { return (n + kPanel - 1) / kPanel; }
inline std::size_t packed_size(std::size_t k, std::size_t n) { return panel_count(n) * k * kPanel; }

// True when the CPU runs AVX-512F (checked once) and SB_NO_AVX512 is unset.
bool panel_gemm_usable();

// out[(p*k + kk)*32 + c] = op(B)[kk][p*32 + c], zero past column n, for
// the panels p0..p1.
void pack_panels(bool tb, std::size_t k, std::size_t n, const float* b, std::size_t ldb,
                 float* out, std::size_t p0, std::size_t p1);

// Runs fn(ctx, part) for part = 0..parts-1 on sb's threads (the caller
// runs part 0) and returns when all are done. parts <= num_threads(). Runs
// serially when the pool is busy (a call from another thread).
void parallel_run(int parts, void (*fn)(void*, int), void* ctx);

// C[:, panels p0..p1) = alpha op(A) P + beta C (see gemm_avx512.cc).
void gemm_panels_avx512(bool ta, std::size_t m, std::size_t n, std::size_t k, float alpha,
                        const float* a, std::size_t lda, const float* packed, float beta,
                        float* c, std::size_t ldc, std::size_t p0, std::size_t p1);

}  // namespace sb::cpu
