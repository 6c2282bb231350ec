// im2col writes every element of col (zeros included) from one thread.
// col2im is a gather rather than the CPU's scatter: one thread per element
// of dx sums the col entries that map onto it, over output frames `to` in
// increasing order -- the order in which the CPU's loop adds them -- so no
// atomics are needed and the sum has the CPU's bits.
#include "backend/cuda/check.h"
#include "backend/cuda/common.cuh"
#include "backend/cuda/conv.cuh"

namespace sb::cuda {
namespace {

__global__ void im2col_time_kernel(const float* x, int B, std::size_t F, const int* lengths,
                                   int K, int stride, int pad, float* col, int T_out,
                                   const int* out_lengths) {
  const auto Bs = static_cast<std::size_t>(B);
  const std::size_t width = F * static_cast<std::size_t>(K);
  const std::size_t n = static_cast<std::size_t>(T_out) * Bs * width;
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) {
    const std::size_t row = i / width, c = i % width;  // row = to * B + b, c = f * K + k
    const int to = static_cast<int>(row / Bs);
    const std::size_t b = row % Bs;
    const std::size_t f = c / static_cast<std::size_t>(K);
    const int k = static_cast<int>(c % static_cast<std::size_t>(K));
    float v = 0.0f;
    if (to < out_lengths[b]) {
      const int t = to * stride - pad + k;
      if (t >= 0 && t < lengths[b]) v = x[(static_cast<std::size_t>(t) * Bs + b) * F + f];
    }
    col[i] = v;
  }
}

// Output frame `to` reads input frame t = to*stride - pad + k, so the frames
// `to` that reach t are those with k = t + pad - to*stride in [0, K):
//   to*stride <= t + pad   and   to*stride >= t + pad - K + 1.
__global__ void col2im_time_kernel(const float* dcol, int T, int B, std::size_t F,
                                   const int* lengths, int K, int stride, int pad, float* dx,
                                   int T_out, const int* out_lengths) {
  const auto Bs = static_cast<std::size_t>(B);
  const std::size_t width = F * static_cast<std::size_t>(K);
  const std::size_t n = static_cast<std::size_t>(T) * Bs * F;
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) {
    const std::size_t row = i / F, f = i % F;  // row = t * B + b
    const int t = static_cast<int>(row / Bs);
    const std::size_t b = row % Bs;
    float acc = 0.0f;
    const int hi = t + pad;
    if (t < lengths[b] && hi >= 0) {
      const int lo = hi - K + 1;
      const int to_first = lo <= 0 ? 0 : (lo + stride - 1) / stride;  // ceil(lo / stride)
      int to_last = hi / stride;                                      // floor(hi / stride)
      if (to_last > out_lengths[b] - 1) to_last = out_lengths[b] - 1;
      if (to_last > T_out - 1) to_last = T_out - 1;
      for (int to = to_first; to <= to_last; ++to) {
        const int k = hi - to * stride;
        if (k < 0 || k >= K) continue;  // cannot happen; keeps the read in bounds regardless
        acc += dcol[(static_cast<std::size_t>(to) * Bs + b) * width +
                    f * static_cast<std::size_t>(K) + static_cast<std::size_t>(k)];
      }
    }
    dx[i] = acc;
  }
}

}  // namespace

void im2col_time(const float* x, int B, std::size_t F, const int* lengths, int K, int stride,
                 int pad, float* col, int T_out, const int* out_lengths, cudaStream_t stream) {
  if (T_out <= 0 || B <= 0 || F == 0 || K <= 0) return;
  const std::size_t n = static_cast<std::size_t>(T_out) * static_cast<std::size_t>(B) * F *
                        static_cast<std::size_t>(K);
  SB_CUDA_LAUNCH(im2col_time_kernel, grid_for(n), kBlock, stream, x, B, F, lengths, K, stride,
                 pad, col, T_out, out_lengths);
}

void col2im_time(const float* dcol, int T, int B, std::size_t F, const int* lengths, int K,
                 int stride, int pad, float* dx, int T_out, const int* out_lengths,
                 cudaStream_t stream) {
  if (T <= 0 || B <= 0 || F == 0) return;
  const std::size_t n = static_cast<std::size_t>(T) * static_cast<std::size_t>(B) * F;
  SB_CUDA_LAUNCH(col2im_time_kernel, grid_for(n), kBlock, stream, dcol, T, B, F, lengths, K,
                 stride, pad, dx, T_out, out_lengths);
}

}  // namespace sb::cuda
