// Reductions of the CUDA backend: column sums (bias gradients), the sum of
// squares and the finiteness test (gradient norms, NaN checks), and the row
// L2 normalisation with its backward. Every pointer is device memory.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace sb::cuda {

void sum_rows(const float* x, std::size_t rows, std::size_t cols, float beta, float* out,
              cudaStream_t stream);

// The sum of squares is reduced by exactly kSumSquaresBlocks blocks of
// kSumSquaresThreads threads whatever the device, then the block partials
// are added on the host in order: the result depends on n only, not on the
// GPU model. `partials` holds kSumSquaresBlocks doubles. Waits for the stream.
constexpr unsigned kSumSquaresBlocks = 256;
constexpr unsigned kSumSquaresThreads = 256;
double sum_squares(const float* x, std::size_t n, double* partials, cudaStream_t stream);

// `flag` is one int of scratch. Waits for the stream.
bool all_finite(const float* x, std::size_t n, int* flag, cudaStream_t stream);

void l2norm_rows(const float* x, float* y, float* norms, std::size_t rows, std::size_t dim,
                 float eps, cudaStream_t stream);
void l2norm_rows_backward(const float* y, const float* norms, const float* dy, float* dx,
                          std::size_t rows, std::size_t dim, cudaStream_t stream);

}  // namespace sb::cuda
