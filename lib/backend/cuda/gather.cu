// Gather and deterministic scatter-add of rows: one thread per output element.
#include "backend/cuda/check.h"
#include "backend/cuda/common.cuh"
#include "backend/cuda/gather.cuh"

namespace sb::cuda {
namespace {

__global__ void gather_rows_kernel(const float* table, std::size_t dim,
                                   const std::int32_t* idx, std::size_t n, float* out) {
  const std::size_t total = n * dim;
  for (std::size_t e = global_thread(); e < total; e += grid_stride()) {
    const std::size_t i = e / dim, d = e % dim;
    const std::int32_t row = idx[i];
    out[e] = row < 0 ? 0.0f : table[static_cast<std::size_t>(row) * dim + d];
  }
}

__global__ void scatter_add_rows_kernel(const float* dout, std::size_t dim,
                                        const std::int32_t* rows,
                                        const std::int32_t* offsets,
                                        const std::int32_t* pos, std::size_t count,
                                        float* dtable) {
  const std::size_t total = count * dim;
  for (std::size_t e = global_thread(); e < total; e += grid_stride()) {
    const std::size_t k = e / dim, d = e % dim;
    float* target = dtable + static_cast<std::size_t>(rows[k]) * dim + d;
    float acc = *target;
    for (std::int32_t p = offsets[k]; p < offsets[k + 1]; ++p)
      acc += dout[static_cast<std::size_t>(pos[p]) * dim + d];
    *target = acc;
  }
}

}  // namespace

void gather_rows(const float* table, std::size_t dim, const std::int32_t* idx, std::size_t n,
                 float* out, cudaStream_t stream) {
  if (n == 0 || dim == 0) return;
  SB_CUDA_LAUNCH(gather_rows_kernel, grid_for(n * dim), kBlock, stream, table, dim, idx, n,
                 out);
}

void scatter_add_rows(const float* dout, std::size_t dim, const std::int32_t* rows,
                      const std::int32_t* offsets, const std::int32_t* pos, std::size_t count,
                      float* dtable, cudaStream_t stream) {
  if (count == 0 || dim == 0) return;
  SB_CUDA_LAUNCH(scatter_add_rows_kernel, grid_for(count * dim), kBlock, stream, dout, dim,
                 rows, offsets, pos, count, dtable);
}

}  // namespace sb::cuda
