// The contrastive loss as two gathers instead of the CPU's scatter:
//   - dM: one thread per element. Off the diagonal, dM[i, j] is g per active
//     hinge of the pair (i, j); on the diagonal, dM[d, d] loses g for each
//     active first hinge of a pair (i, d) and each active second hinge of a
//     pair (d, j). All its terms are the same -g, so adding them in any order
//     gives the CPU's bits.
//   - the loss: one thread per row i sums its hinges in double in the CPU's
//     order (j ascending, first hinge then second), and the host adds the
//     rows in order. The CPU keeps one running double instead; in double the
//     two differ by rounding far below float resolution.
// A hinge is active when positive, or NaN (which must reach the caller).
#include "backend/cuda/check.h"
#include "backend/cuda/common.cuh"
#include "backend/cuda/loss.cuh"

#include <vector>

namespace sb::cuda {
namespace {

__device__ inline bool active(float c) { return c > 0.0f || c != c; }

__global__ void contrastive_grad_kernel(const float* M, std::size_t n, float margin, float g,
                                        float* dM) {
  const std::size_t total = n * n;
  for (std::size_t e = global_thread(); e < total; e += grid_stride()) {
    const std::size_t i = e / n, j = e % n;
    float v = 0.0f;
    if (i != j) {
      const float mij = M[e];
      const float c1 = margin + mij - M[j * n + j];  // u_i against v_j's own match
      const float c2 = margin + mij - M[i * n + i];  // ... and against u_i's own match
      if (active(c1)) v += g;
      if (active(c2)) v += g;
    } else {
      const std::size_t d = i;
      const float mdd = M[d * n + d];
      for (std::size_t k = 0; k < n; ++k) {
        if (k == d) continue;
        if (active(margin + M[k * n + d] - mdd)) v -= g;  // first hinge of pair (k, d)
        if (active(margin + M[d * n + k] - mdd)) v -= g;  // second hinge of pair (d, k)
      }
    }
    dM[e] = v;
  }
}

__global__ void contrastive_rows_kernel(const float* M, std::size_t n, float margin,
                                        double* row_totals) {
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) {
    double total = 0.0;
    const float mii = M[i * n + i];
    for (std::size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      const float mij = M[i * n + j];
      const float c1 = margin + mij - M[j * n + j];
      const float c2 = margin + mij - mii;
      if (active(c1)) total += c1;
      if (active(c2)) total += c2;
    }
    row_totals[i] = total;
  }
}

}  // namespace

float contrastive_loss(const float* M, std::size_t n, float margin, float* dM,
                       double* row_totals, cudaStream_t stream) {
  if (n == 0) return 0.0f;
  const double scale = 1.0 / (static_cast<double>(n) * static_cast<double>(n));
  const float g = static_cast<float>(scale);
  SB_CUDA_LAUNCH(contrastive_grad_kernel, grid_for(n * n), kBlock, stream, M, n, margin, g, dM);
  SB_CUDA_LAUNCH(contrastive_rows_kernel, grid_for(n, 64), 64, stream, M, n, margin,
                 row_totals);
  std::vector<double> rows(n);
  SB_CUDA_CHECK(cudaMemcpyAsync(rows.data(), row_totals, n * sizeof(double),
                                cudaMemcpyDeviceToHost, stream));
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  double total = 0.0;
  for (double r : rows) total += r;
  return static_cast<float>(total * scale);
}

}  // namespace sb::cuda
