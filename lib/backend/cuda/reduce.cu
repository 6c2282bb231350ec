// Reductions in a fixed order: the same inputs give the same bits on every
// run (no atomics, no order that depends on scheduling).
#include "backend/cuda/check.h"
#include "backend/cuda/common.cuh"
#include "backend/cuda/reduce.cuh"

namespace sb::cuda {
namespace {

// One thread per column, adding the rows in order from the scaled start
// value: the CPU's order, hence its bits. Neighbouring threads read
// neighbouring columns, so every row is one coalesced load.
__global__ void sum_rows_kernel(const float* x, std::size_t rows, std::size_t cols, float beta,
                                float* out) {
  for (std::size_t c = global_thread(); c < cols; c += grid_stride()) {
    float acc = beta == 0.0f ? 0.0f : (beta == 1.0f ? out[c] : out[c] * beta);
    for (std::size_t r = 0; r < rows; ++r) acc += x[r * cols + c];
    out[c] = acc;
  }
}

// Launched with kSumSquaresBlocks x kSumSquaresThreads exactly: thread g
// adds the elements g, g + G, g + 2G, ... (G = all threads) in double, then
// each block folds its threads in a fixed tree.
__global__ void sum_squares_kernel(const float* x, std::size_t n, double* partials) {
  __shared__ double part[kSumSquaresThreads];
  double acc = 0.0;
  for (std::size_t i = global_thread(); i < n; i += grid_stride())
    acc += static_cast<double>(x[i]) * x[i];
  part[threadIdx.x] = acc;
  __syncthreads();
  for (unsigned s = kSumSquaresThreads / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = part[0];
}

// Threads that find a non-finite value all store the same 1: a benign race
// whose outcome does not depend on the order.
__global__ void all_finite_kernel(const float* x, std::size_t n, int* flag) {
  for (std::size_t i = global_thread(); i < n; i += grid_stride())
    if (!isfinite(x[i])) *flag = 1;
}

// One block per row: the norm is the CPU's fixed-order dot product, then
// every thread divides its share of the row. y may alias x.
__global__ void l2norm_rows_kernel(const float* x, float* y, float* norms, std::size_t rows,
                                   std::size_t dim, float eps) {
  for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * dim;
    const float s = sqrtf(block_dot_fixed(xr, xr, dim));
    const float nrm = s < eps ? eps : s;  // std::max(s, eps), NaN kept
    if (threadIdx.x == 0) norms[r] = nrm;
    float* yr = y + r * dim;
    for (std::size_t d = threadIdx.x; d < dim; d += blockDim.x) yr[d] = xr[d] / nrm;
  }
}

// dx may alias dy: the projection is complete before any write.
__global__ void l2norm_rows_backward_kernel(const float* y, const float* norms,
                                            const float* dy, float* dx, std::size_t rows,
                                            std::size_t dim) {
  for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* yr = y + r * dim;
    const float* g = dy + r * dim;
    const float proj = block_dot_fixed(yr, g, dim);
    const float inv = 1.0f / norms[r];
    float* o = dx + r * dim;
    for (std::size_t d = threadIdx.x; d < dim; d += blockDim.x)
      o[d] = (g[d] - yr[d] * proj) * inv;
  }
}

}  // namespace

void sum_rows(const float* x, std::size_t rows, std::size_t cols, float beta, float* out,
              cudaStream_t stream) {
  if (cols == 0) return;
  SB_CUDA_LAUNCH(sum_rows_kernel, grid_for(cols), kBlock, stream, x, rows, cols, beta, out);
}

double sum_squares(const float* x, std::size_t n, double* partials, cudaStream_t stream) {
  if (n == 0) return 0.0;
  SB_CUDA_LAUNCH(sum_squares_kernel, kSumSquaresBlocks, kSumSquaresThreads, stream, x, n,
                 partials);
  double host[kSumSquaresBlocks];
  SB_CUDA_CHECK(cudaMemcpyAsync(host, partials, sizeof host, cudaMemcpyDeviceToHost, stream));
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  double total = 0.0;
  for (double p : host) total += p;
  return total;
}

bool all_finite(const float* x, std::size_t n, int* flag, cudaStream_t stream) {
  if (n == 0) return true;
  SB_CUDA_CHECK(cudaMemsetAsync(flag, 0, sizeof(int), stream));
  SB_CUDA_LAUNCH(all_finite_kernel, grid_for(n), kBlock, stream, x, n, flag);
  int host = 0;
  SB_CUDA_CHECK(cudaMemcpyAsync(&host, flag, sizeof host, cudaMemcpyDeviceToHost, stream));
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  return host == 0;
}

void l2norm_rows(const float* x, float* y, float* norms, std::size_t rows, std::size_t dim,
                 float eps, cudaStream_t stream) {
  if (rows == 0) return;
  SB_CUDA_LAUNCH(l2norm_rows_kernel, grid_rows(rows), kBlock, stream, x, y, norms, rows, dim,
                 eps);
}

void l2norm_rows_backward(const float* y, const float* norms, const float* dy, float* dx,
                          std::size_t rows, std::size_t dim, cudaStream_t stream) {
  if (rows == 0) return;
  SB_CUDA_LAUNCH(l2norm_rows_backward_kernel, grid_rows(rows), kBlock, stream, y, norms, dy,
                 dx, rows, dim);
}

}  // namespace sb::cuda
