// What this build of sb is and which kernels it runs here: the lines of
// every tool's --version. The CPU kernel is decided at run time (AVX-512
// is used only where the CPU has it), so it is asked for, not configured.
#pragma once
#include <string>

namespace sb {

// The CPU product kernel this process uses: "AVX-512 (sb's own panel
// kernel)", "OpenBLAS" or "plain C++".
std::string cpu_kernel_name();

// "key: value" lines, each ending in '\n': commit, CPU kernel, BLAS, CUDA
// runtime/toolkit and cuDNN versions compiled in (or "none").
std::string build_description();

}  // namespace sb
