// Elementwise kernels of the CUDA backend: fill, axpy, scale, bias rows,
// padding masks, tanh. Host launchers (callable from g++ code); every
// pointer is device memory, including `lengths`, which the backend has
// copied from the host. All launches go to `stream` and return at once.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace sb::cuda {

// Whether this build has machine code for the current device: the status of
// looking up one of its kernels (cudaErrorInvalidDeviceFunction or
// cudaErrorNoKernelImageForDevice when the GPU is not among -Dgpu_arch).
cudaError_t probe_kernel_image();

void fill(float* x, std::size_t n, float value, cudaStream_t stream);
void axpy(std::size_t n, float alpha, const float* x, float* y, cudaStream_t stream);
void scale(std::size_t n, float alpha, float* x, cudaStream_t stream);
// c[r, :cols] = beta c[r, :cols] for a rows x cols matrix with leading
// dimension ld; beta == 0 writes zeros (BLAS: C is then not read).
void scale_matrix(float* c, std::size_t rows, std::size_t cols, std::size_t ld, float beta,
                  cudaStream_t stream);
void add_row_vector(float* y, std::size_t rows, std::size_t cols, const float* bias,
                    cudaStream_t stream);
void mask_padding(float* x, int T, int B, std::size_t D, const int* lengths,
                  cudaStream_t stream);
void tanh_forward(const float* x, float* y, std::size_t n, cudaStream_t stream);
void tanh_backward(const float* y, const float* dy, float* dx, std::size_t n,
                   cudaStream_t stream);

}  // namespace sb::cuda
