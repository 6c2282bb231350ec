// The fused GRU step of the CUDA backend (PyTorch/cuDNN gate order r, z, n):
// host launchers for Backend::gru_step_forward/backward, same arguments,
// every pointer device memory (`active` copied from the host by the caller).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace sb::cuda {

void gru_step_forward(float* gx, const float* gh, const float* h_prev, float* h,
                      float* hn_cache, std::size_t rows, std::size_t H,
                      const unsigned char* active, cudaStream_t stream);
void gru_step_backward(const float* gates, const float* hn_cache, const float* h_prev,
                       const float* dh, float* dgx, float* dgh, float* dh_prev,
                       std::size_t rows, std::size_t H, const unsigned char* active,
                       cudaStream_t stream);

}  // namespace sb::cuda
