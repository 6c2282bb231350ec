// Adam on the CUDA backend (Backend::adam_update); every pointer is device
// memory.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace sb::cuda {

void adam_update(float* p, const float* g, float* m, float* v, std::size_t n, float lr,
                 float beta1, float beta2, float eps, float bc1, float bc2,
                 cudaStream_t stream);

}  // namespace sb::cuda
