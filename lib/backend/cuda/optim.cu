// One Adam step, one thread per parameter element, in torch.optim.Adam's
// (foreach=False) formulation exactly as the CPU's adam_rows: the scalar
// constants are computed once on the host with the CPU's expressions.
#include <cmath>

#include "backend/cuda/check.h"
#include "backend/cuda/common.cuh"
#include "backend/cuda/optim.cuh"

namespace sb::cuda {
namespace {

__global__ void adam_kernel(float* p, const float* g, float* m, float* v, std::size_t n,
                            float step_size, float beta1, float beta2, float one_m_b1,
                            float one_m_b2, float bc2_sqrt, float eps) {
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) {
    const float gi = g[i];
    const float mi = m[i] * beta1 + gi * one_m_b1;
    const float vi = v[i] * beta2 + gi * gi * one_m_b2;
    m[i] = mi;
    v[i] = vi;
    p[i] -= step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
  }
}

}  // namespace

void adam_update(float* p, const float* g, float* m, float* v, std::size_t n, float lr,
                 float beta1, float beta2, float eps, float bc1, float bc2,
                 cudaStream_t stream) {
  if (n == 0) return;
  const float step_size = lr / bc1;
  const float bc2_sqrt = std::sqrt(bc2);
  const float one_m_b1 = 1.0f - beta1, one_m_b2 = 1.0f - beta2;
  SB_CUDA_LAUNCH(adam_kernel, grid_for(n), kBlock, stream, p, g, m, v, n, step_size, beta1,
                 beta2, one_m_b1, one_m_b2, bc2_sqrt, eps);
}

}  // namespace sb::cuda
