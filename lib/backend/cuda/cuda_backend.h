// The CUDA backend: the CPU backend's twin on one NVIDIA GPU (cuBLAS for
// the products, sb's own kernels for the rest), compiled only where the
// toolkit is present (sb_config.h: SB_HAVE_CUDA). The CPU backend is the
// reference; tests/unit/test_cuda.cc checks every op against it.
//
//   #include "sb_config.h"
//   #if SB_HAVE_CUDA
//   #include "backend/cuda/cuda_backend.h"
//   #endif
//   std::string why;
//   if (!sb::cuda_available(&why)) sb::fail("--device cuda: ", why);
//   sb::Backend& be = sb::cuda_backend();
//
// It runs on the current device (device 0 unless the caller chose another
// before the first call), on the legacy default stream, so work is ordered
// with anything else on that stream. Like the CPU backend it is meant to
// be driven from one thread at a time.
#pragma once
#include <string>

#include "backend/backend.h"

namespace sb {

// True when a CUDA driver and at least one device are present. Never aborts:
// without a driver or a GPU it returns false and, when `why` is given, says
// what was missing. The answer is computed once.
bool cuda_available(std::string* why = nullptr);

// Chooses the device the backend will run on (0 unless called): before the
// backend's first use only, and once per process. False (with `why`) when
// there is no such device, the device was already chosen otherwise, or
// cuda_available() fails on it.
bool cuda_select_device(int index, std::string* why = nullptr);

// How the CUDA backend runs a GRU layer: cuDNN's RNN API (the default, one
// call per layer and pass; backend/cuda/cudnn_gru.h) or sb's step loop
// (Backend's default: a gemm and a fused kernel per time step), kept for
// bit-level comparisons with the CPU. The environment variable
// SB_CUDA_GRU=steps selects the step loop for a whole process.
enum class CudaGruPath { Cudnn, Steps };
void cuda_set_gru_path(CudaGruPath path);
CudaGruPath cuda_gru_path();

// The process's CUDA backend, created on first use; an sb::Error when
// cuda_available() is false or cuBLAS cannot start.
Backend& cuda_backend();

}  // namespace sb
