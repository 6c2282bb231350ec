// Row gathers of the CUDA backend (embedding lookup and its gradient).
// Every pointer is device memory; the integer side data was copied from the
// host by the caller.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace sb::cuda {

// out[i, :] = table[idx[i], :]; idx[i] < 0 gives a zero row.
void gather_rows(const float* table, std::size_t dim, const std::int32_t* idx, std::size_t n,
                 float* out, cudaStream_t stream);

// dtable[rows[k], :] += dout[pos[p], :] for p in [offsets[k], offsets[k+1]),
// in that order, for k < count. The caller groups the scatter's positions by
// target row, positions ascending within a row (see CudaBackend::
// scatter_add_rows), so each table element receives its additions in the
// CPU's order, from one thread, without atomics.
void scatter_add_rows(const float* dout, std::size_t dim, const std::int32_t* rows,
                      const std::int32_t* offsets, const std::int32_t* pos, std::size_t count,
                      float* dtable, cudaStream_t stream);

}  // namespace sb::cuda
