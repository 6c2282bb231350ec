// Attention kernels. B (the batch) is small and T a few hundred, so the
// softmax runs one thread per sequence, looping over time exactly as the CPU
// does (double sums included); neighbouring threads read neighbouring
// columns of the T x B score matrix, so the loads still coalesce.
#include "backend/cuda/attention.cuh"
#include "backend/cuda/check.h"
#include "backend/cuda/common.cuh"

namespace sb::cuda {
namespace {

__global__ void softmax_time_kernel(const float* scores, float* weights, int T, int B,
                                    const int* lengths) {
  const auto Bs = static_cast<std::size_t>(B);
  for (std::size_t b = global_thread(); b < Bs; b += grid_stride()) {
    const int L = lengths[b];
    // std::max(mx, s) of the CPU: a NaN in front sticks, a later one does not.
    float mx = scores[b];
    for (int t = 1; t < L; ++t) {
      const float s = scores[t * Bs + b];
      mx = mx < s ? s : mx;
    }
    if (mx != mx) mx = 0.0f;  // NaN still propagates through exp
    double sum = 0.0;
    for (int t = 0; t < L; ++t) {
      const float e = expf(scores[t * Bs + b] - mx);
      weights[t * Bs + b] = e;
      sum += e;
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int t = 0; t < L; ++t) weights[t * Bs + b] *= inv;
    for (int t = L; t < T; ++t) weights[t * Bs + b] = 0.0f;
  }
}

// dscores may alias dweights: the dot product is complete before any write.
__global__ void softmax_time_backward_kernel(const float* w, const float* dw, float* ds,
                                             int T, int B, const int* lengths) {
  const auto Bs = static_cast<std::size_t>(B);
  for (std::size_t b = global_thread(); b < Bs; b += grid_stride()) {
    const int L = lengths[b];
    double dot = 0.0;
    for (int t = 0; t < L; ++t)
      dot += static_cast<double>(w[t * Bs + b]) * dw[t * Bs + b];
    const float fdot = static_cast<float>(dot);
    for (int t = 0; t < L; ++t) ds[t * Bs + b] = w[t * Bs + b] * (dw[t * Bs + b] - fdot);
    for (int t = L; t < T; ++t) ds[t * Bs + b] = 0.0f;
  }
}

// One thread per output element (b, d), adding frames in time order from
// zero, as the CPU's loop over t does for each element.
__global__ void weighted_sum_time_kernel(const float* x, const float* w, float* out, int T,
                                         int B, std::size_t D, const int* lengths) {
  const auto Bs = static_cast<std::size_t>(B);
  const std::size_t n = Bs * D;
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) {
    const std::size_t b = i / D, d = i % D;
    const int L = lengths[b] < T ? lengths[b] : T;
    float acc = 0.0f;
    for (int t = 0; t < L; ++t) {
      const std::size_t row = t * Bs + b;
      acc += w[row] * x[row * D + d];
    }
    out[i] = acc;
  }
}

// One block per frame (t, b): dw[t, b] is the CPU's fixed-order dot product
// of the frame with dout[b], dx the frame's share of dout.
__global__ void weighted_sum_time_backward_kernel(const float* x, const float* w,
                                                  const float* dout, float* dx, float* dw,
                                                  int T, int B, std::size_t D,
                                                  const int* lengths) {
  const auto Bs = static_cast<std::size_t>(B);
  const std::size_t rows = static_cast<std::size_t>(T) * Bs;
  // `row` is the same for every thread of the block, so the branches below
  // and the barriers inside block_dot_fixed are uniform.
  for (std::size_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const std::size_t t = row / Bs, b = row % Bs;
    float* dxr = dx + row * D;
    if (static_cast<int>(t) >= lengths[b]) {
      for (std::size_t d = threadIdx.x; d < D; d += blockDim.x) dxr[d] = 0.0f;
      if (threadIdx.x == 0) dw[row] = 0.0f;
      continue;
    }
    const float* g = dout + b * D;
    const float dot = block_dot_fixed(x + row * D, g, D);
    if (threadIdx.x == 0) dw[row] = dot;
    const float wt = w[row];
    for (std::size_t d = threadIdx.x; d < D; d += blockDim.x) dxr[d] = wt * g[d];
  }
}

}  // namespace

void softmax_time(const float* scores, float* weights, int T, int B, const int* lengths,
                  cudaStream_t stream) {
  if (B <= 0) return;
  const auto Bs = static_cast<std::size_t>(B);
  SB_CUDA_LAUNCH(softmax_time_kernel, grid_for(Bs, 64), 64, stream, scores, weights, T, B,
                 lengths);
}

void softmax_time_backward(const float* weights, const float* dweights, float* dscores,
                           int T, int B, const int* lengths, cudaStream_t stream) {
  if (B <= 0) return;
  const auto Bs = static_cast<std::size_t>(B);
  SB_CUDA_LAUNCH(softmax_time_backward_kernel, grid_for(Bs, 64), 64, stream, weights,
                 dweights, dscores, T, B, lengths);
}

void weighted_sum_time(const float* x, const float* w, float* out, int T, int B,
                       std::size_t D, const int* lengths, cudaStream_t stream) {
  if (B <= 0 || D == 0) return;
  const std::size_t n = static_cast<std::size_t>(B) * D;
  SB_CUDA_LAUNCH(weighted_sum_time_kernel, grid_for(n), kBlock, stream, x, w, out, T, B, D,
                 lengths);
}

void weighted_sum_time_backward(const float* x, const float* w, const float* dout,
                                float* dx, float* dw, int T, int B, std::size_t D,
                                const int* lengths, cudaStream_t stream) {
  if (T <= 0 || B <= 0) return;
  const std::size_t rows = static_cast<std::size_t>(T) * static_cast<std::size_t>(B);
  SB_CUDA_LAUNCH(weighted_sum_time_backward_kernel, grid_rows(rows), kBlock, stream, x, w,
                 dout, dx, dw, T, B, D, lengths);
}

}  // namespace sb::cuda
