// Packing and dispatch for the CPU backend's own product kernel.
#include <cstdlib>

#include "backend/cpu/gemm_kernels.h"

namespace sb::cpu {

bool panel_gemm_usable() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool usable = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && std::getenv("SB_NO_AVX512") == nullptr;
  }();
  return usable;
#else
  return false;
#endif
}

void pack_panels(bool tb, std::size_t k, std::size_t n, const float* b, std::size_t ldb,
                 float* out, std::size_t p0, std::size_t p1) {
  for (std::size_t p = p0; p < p1; ++p) {
    const std::size_t j0 = p * kPanel;
    const std::size_t cols = n - j0 < kPanel ? n - j0 : kPanel;
    float* o = out + p * k * kPanel;
    if (tb) {  // op(B) = B^T: column j of the panel is row j0 + c of B, read along
      for (std::size_t c = 0; c < cols; ++c) {
        const float* src = b + (j0 + c) * ldb;
        for (std::size_t kk = 0; kk < k; ++kk) o[kk * kPanel + c] = src[kk];
      }
    } else {
      for (std::size_t kk = 0; kk < k; ++kk) {
        const float* src = b + kk * ldb + j0;
        for (std::size_t c = 0; c < cols; ++c) o[kk * kPanel + c] = src[c];
      }
    }
    if (cols < kPanel)
      for (std::size_t kk = 0; kk < k; ++kk)
        for (std::size_t c = cols; c < kPanel; ++c) o[kk * kPanel + c] = 0.0f;
  }
}

}  // namespace sb::cpu
