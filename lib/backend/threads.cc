#include <thread>

#include "backend/backend.h"
#include "sb_config.h"

#if SB_HAVE_BLAS
#include <cblas.h>
#endif

namespace sb {
namespace {
int g_threads = 0;  // 0: not set yet
}

void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  g_threads = n;
#if SB_HAVE_BLAS
  // All products run inside OpenBLAS with exactly n threads; sb's kernels
  // run between BLAS calls, never around them, so the counts never multiply.
  openblas_set_num_threads(n);
#endif
}

int num_threads() {
  if (g_threads == 0) set_num_threads(0);
  return g_threads;
}

}  // namespace sb
