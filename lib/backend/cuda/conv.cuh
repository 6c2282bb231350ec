// im2col / col2im over time for the 1-d convolution on the CUDA backend.
// Same arguments as the Backend methods; every pointer is device memory
// (`lengths`: B input lengths, `out_lengths`: B output lengths, copied from
// the host by the caller); stride >= 1 (checked by the caller).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace sb::cuda {

void im2col_time(const float* x, int B, std::size_t F, const int* lengths, int K, int stride,
                 int pad, float* col, int T_out, const int* out_lengths, cudaStream_t stream);
void col2im_time(const float* dcol, int T, int B, std::size_t F, const int* lengths, int K,
                 int stride, int pad, float* dx, int T_out, const int* out_lengths,
                 cudaStream_t stream);

}  // namespace sb::cuda
