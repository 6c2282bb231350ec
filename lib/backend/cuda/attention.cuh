// Attention pooling over time on the CUDA backend: softmax over each
// sequence's frames and the weighted sum of frames, forward and backward.
// Host launchers for the Backend methods of the same names; every pointer
// is device memory (`lengths` copied from the host by the caller, every
// length already checked to be >= 1 for the softmax).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace sb::cuda {

void softmax_time(const float* scores, float* weights, int T, int B, const int* lengths,
                  cudaStream_t stream);
void softmax_time_backward(const float* weights, const float* dweights, float* dscores,
                           int T, int B, const int* lengths, cudaStream_t stream);
void weighted_sum_time(const float* x, const float* w, float* out, int T, int B,
                       std::size_t D, const int* lengths, cudaStream_t stream);
void weighted_sum_time_backward(const float* x, const float* w, const float* dout,
                                float* dx, float* dw, int T, int B, std::size_t D,
                                const int* lengths, cudaStream_t stream);

}  // namespace sb::cuda
