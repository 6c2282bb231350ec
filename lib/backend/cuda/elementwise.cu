// Elementwise kernels: one thread per element, grid-stride loops. Each
// output element is computed exactly as the CPU backend computes it.
#include "backend/cuda/check.h"
#include "backend/cuda/common.cuh"
#include "backend/cuda/elementwise.cuh"

namespace sb::cuda {
namespace {

__global__ void fill_kernel(float* x, std::size_t n, float value) {
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) x[i] = value;
}

__global__ void axpy_kernel(std::size_t n, float alpha, const float* x, float* y) {
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) y[i] += alpha * x[i];
}

__global__ void scale_kernel(std::size_t n, float alpha, float* x) {
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) x[i] *= alpha;
}

__global__ void scale_matrix_kernel(float* c, std::size_t rows, std::size_t cols,
                                    std::size_t ld, float beta) {
  const std::size_t n = rows * cols;
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) {
    float* e = c + (i / cols) * ld + i % cols;
    *e = beta == 0.0f ? 0.0f : *e * beta;
  }
}

__global__ void add_row_vector_kernel(float* y, std::size_t rows, std::size_t cols,
                                      const float* bias) {
  const std::size_t n = rows * cols;
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) y[i] += bias[i % cols];
}

__global__ void mask_padding_kernel(float* x, int T, int B, std::size_t D,
                                    const int* lengths) {
  const std::size_t n = static_cast<std::size_t>(T) * static_cast<std::size_t>(B) * D;
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) {
    const std::size_t row = i / D;  // t * B + b
    const int t = static_cast<int>(row / static_cast<std::size_t>(B));
    const int b = static_cast<int>(row % static_cast<std::size_t>(B));
    if (t >= lengths[b]) x[i] = 0.0f;
  }
}

__global__ void tanh_forward_kernel(const float* x, float* y, std::size_t n) {
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) y[i] = tanh_f(x[i]);
}

// dx may alias dy: each thread reads its element before writing it.
__global__ void tanh_backward_kernel(const float* y, const float* dy, float* dx,
                                     std::size_t n) {
  for (std::size_t i = global_thread(); i < n; i += grid_stride())
    dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

}  // namespace

cudaError_t probe_kernel_image() {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, fill_kernel);
}

void fill(float* x, std::size_t n, float value, cudaStream_t stream) {
  if (n == 0) return;
  SB_CUDA_LAUNCH(fill_kernel, grid_for(n), kBlock, stream, x, n, value);
}

void axpy(std::size_t n, float alpha, const float* x, float* y, cudaStream_t stream) {
  if (n == 0) return;
  SB_CUDA_LAUNCH(axpy_kernel, grid_for(n), kBlock, stream, n, alpha, x, y);
}

void scale(std::size_t n, float alpha, float* x, cudaStream_t stream) {
  if (n == 0) return;
  SB_CUDA_LAUNCH(scale_kernel, grid_for(n), kBlock, stream, n, alpha, x);
}

void scale_matrix(float* c, std::size_t rows, std::size_t cols, std::size_t ld, float beta,
                  cudaStream_t stream) {
  if (rows == 0 || cols == 0 || beta == 1.0f) return;
  SB_CUDA_LAUNCH(scale_matrix_kernel, grid_for(rows * cols), kBlock, stream, c, rows, cols,
                 ld, beta);
}

void add_row_vector(float* y, std::size_t rows, std::size_t cols, const float* bias,
                    cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  SB_CUDA_LAUNCH(add_row_vector_kernel, grid_for(rows * cols), kBlock, stream, y, rows, cols,
                 bias);
}

void mask_padding(float* x, int T, int B, std::size_t D, const int* lengths,
                  cudaStream_t stream) {
  if (T <= 0 || B <= 0 || D == 0) return;
  const std::size_t n = static_cast<std::size_t>(T) * static_cast<std::size_t>(B) * D;
  SB_CUDA_LAUNCH(mask_padding_kernel, grid_for(n), kBlock, stream, x, T, B, D, lengths);
}

void tanh_forward(const float* x, float* y, std::size_t n, cudaStream_t stream) {
  if (n == 0) return;
  SB_CUDA_LAUNCH(tanh_forward_kernel, grid_for(n), kBlock, stream, x, y, n);
}

void tanh_backward(const float* y, const float* dy, float* dx, std::size_t n,
                   cudaStream_t stream) {
  if (n == 0) return;
  SB_CUDA_LAUNCH(tanh_backward_kernel, grid_for(n), kBlock, stream, y, dy, dx, n);
}

}  // namespace sb::cuda
