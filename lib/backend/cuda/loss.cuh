// The paper's contrastive loss on the CUDA backend (Backend::contrastive_loss).
// M and dM are device memory; `row_totals` is n doubles of device scratch.
// Returns the loss (waits for the stream).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace sb::cuda {

float contrastive_loss(const float* M, std::size_t n, float margin, float* dM,
                       double* row_totals, cudaStream_t stream);

}  // namespace sb::cuda
