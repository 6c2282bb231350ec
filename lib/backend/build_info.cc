#include "backend/build_info.h"

#include "backend/build_info_config.h"
#include "backend/sb_vcs.h"
#include "backend/cpu/gemm_kernels.h"
#include "core/error.h"
#include "core/gemm.h"
#include "sb_config.h"

#if SB_HAVE_BLAS
extern "C" char* openblas_get_config(void);
extern "C" char* openblas_get_corename(void);
#endif

namespace sb {
#if SB_BUILD_CUDART_VERSION > 0
namespace {
// CUDA encodes versions as 1000*major + 10*minor (12040 = 12.4).
std::string cuda_version(int v) { return cat(v / 1000, '.', (v % 1000) / 10); }
}  // namespace
#endif

std::string cpu_kernel_name() {
  if (cpu::panel_gemm_usable()) return "AVX-512 (sb's own panel kernel)";
  return have_blas() ? std::string("OpenBLAS") : cat("plain C++ (", sgemm_plain_isa(), " tiles)");
}

std::string build_description() {
  std::string s = cat("commit: ", SB_VCS_COMMIT, '\n');
  s += cat("cpu kernel: ", cpu_kernel_name(), '\n');
#if SB_HAVE_BLAS
  const char* config = openblas_get_config();
  const char* core = openblas_get_corename();  // DYNAMIC_ARCH: chosen at run time
  s += cat("blas: ", config ? config : "OpenBLAS", " (core ", core ? core : "unknown", ")\n");
#else
  s += "blas: none\n";
#endif
#if SB_BUILD_CUDART_VERSION > 0
  s += cat("cuda: runtime/toolkit ", cuda_version(SB_BUILD_CUDART_VERSION), '\n');
#else
  s += "cuda: none\n";
#endif
#if SB_BUILD_CUDNN_MAJOR > 0
  s += cat("cudnn: ", SB_BUILD_CUDNN_MAJOR, '.', SB_BUILD_CUDNN_MINOR, '.', SB_BUILD_CUDNN_PATCH, '\n');
#else
  s += "cudnn: none\n";
#endif
  return s;
}

}  // namespace sb
