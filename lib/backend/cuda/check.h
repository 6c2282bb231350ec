// Error checking for every CUDA runtime and cuBLAS call of the CUDA backend.
// A failure becomes an sb::Error naming the statement, the file and the line
// (ggml's CUDA_CHECK): the tools print it as `sb-<tool>: ...` and exit,
// instead of a kernel silently computing garbage after an earlier error.
// Included by both the nvcc-compiled kernels and the g++-compiled backend.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdio>

#include "core/error.h"

namespace sb::cuda {

// The runtime also keeps the error as its "last error"; it is cleared here
// so that the next launch check does not report it a second time, at the
// wrong place. (An error from a faulting kernel is sticky: every later call
// reports it, and the process cannot use the GPU again.)
inline void check_cuda(cudaError_t err, const char* stmt, const char* file, int line) {
  if (err == cudaSuccess) return;
  (void)cudaGetLastError();
  fail("CUDA error ", static_cast<int>(err), " (", cudaGetErrorName(err), ": ",
       cudaGetErrorString(err), ") in `", stmt, "` at ", file, ":", line);
}

// For the few calls on paths that must not throw (freeing memory from a
// destructor): the same message on stderr instead of an exception.
inline void warn_cuda(cudaError_t err, const char* stmt, const char* file, int line) {
  if (err == cudaSuccess) return;
  (void)cudaGetLastError();
  std::fprintf(stderr, "sb: CUDA error %d (%s: %s) in `%s` at %s:%d\n", static_cast<int>(err),
               cudaGetErrorName(err), cudaGetErrorString(err), stmt, file, line);
}

inline void check_cublas(cublasStatus_t st, const char* stmt, const char* file, int line) {
  if (st != CUBLAS_STATUS_SUCCESS)
    fail("cuBLAS error ", static_cast<int>(st), " (", cublasGetStatusString(st), ") in `",
         stmt, "` at ", file, ":", line);
}

}  // namespace sb::cuda

#define SB_CUDA_CHECK(stmt) ::sb::cuda::check_cuda((stmt), #stmt, __FILE__, __LINE__)
#define SB_CUDA_WARN(stmt) ::sb::cuda::warn_cuda((stmt), #stmt, __FILE__, __LINE__)
#define SB_CUBLAS_CHECK(stmt) ::sb::cuda::check_cublas((stmt), #stmt, __FILE__, __LINE__)

// A kernel launch is not a call that returns a status: launch it, then check
// cudaGetLastError(), which reports a bad configuration at once (errors while
// the kernel runs surface at the next checked call). Kernels launched this
// way use no dynamic shared memory.
#define SB_CUDA_LAUNCH(kernel, grid, block, stream, ...)                           \
  do {                                                                             \
    kernel<<<(grid), (block), 0, (stream)>>>(__VA_ARGS__);                         \
    ::sb::cuda::check_cuda(cudaGetLastError(), #kernel "<<<" #grid ", " #block ">>>", \
                           __FILE__, __LINE__);                                    \
  } while (0)
