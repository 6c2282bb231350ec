// The plain product kernel (sgemm_plain, the embedded profile's) beside
// sgemm (OpenBLAS where built with it) on one thread, on the encoder's
// shapes: GFLOP/s per shape. A benchmark, run by tests/bench/gemm.sh.
//   gemm_bench [--seconds S]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/gemm.h"
#include "sb_config.h"
#if SB_HAVE_BLAS
#include <cblas.h>
#endif

namespace {

using Gemm = void (*)(sb::Trans, sb::Trans, std::size_t, std::size_t, std::size_t, float,
                      const float*, std::size_t, const float*, std::size_t, float, float*,
                      std::size_t);

double gflops(Gemm f, std::size_t m, std::size_t n, std::size_t k, double seconds) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> a(m * k), b(n * k), c(m * n);
  for (auto& x : a) x = u(rng);
  for (auto& x : b) x = u(rng);
  f(sb::Trans::No, sb::Trans::Yes, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(), n);
  // CPU time, so that a shared machine's waiting is not counted.
  const std::clock_t t0 = std::clock();
  long reps = 0;
  double used = 0;
  do {
    f(sb::Trans::No, sb::Trans::Yes, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(), n);
    ++reps;
    used = static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
  } while (used < seconds);
  return 2.0 * static_cast<double>(m * n * k) * static_cast<double>(reps) / used / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.5;
  if (argc == 3 && std::strcmp(argv[1], "--seconds") == 0) seconds = std::atof(argv[2]);
#if SB_HAVE_BLAS
  openblas_set_num_threads(1);
#endif
  std::printf("plain kernel: %s tiles; BLAS: %s; one thread, CPU time, GFLOP/s\n",
              sb::sgemm_plain_isa(), sb::have_blas() ? "OpenBLAS" : "none");
  std::printf("%-34s %8s %8s %6s\n", "shape m x n x k (what)", "plain", "blas", "ratio");
  struct Shape {
    std::size_t m, n, k;
    const char* what;
  };
  // Batch 32 (sb-embed's default); the conv as im2col; GRU input products
  // over 32 x 150 frames; the recurrent product per step; attention.
  const Shape shapes[] = {
      {4800, 64, 78, "conv (im2col, 13x6)"},
      {4800, 768, 64, "GRU W_ih, H 256, layer 0"},
      {4800, 768, 256, "GRU W_ih, H 256"},
      {32, 768, 256, "GRU W_hh step, H 256"},
      {4800, 128, 256, "attention W, H 256"},
      {1200, 3072, 1024, "GRU W_ih, H 1024"},
      {32, 3072, 1024, "GRU W_hh step, H 1024"},
      {1, 3072, 1024, "GRU W_hh step, one row"},
      {17, 1000, 3, "odd"},
  };
  for (const auto& s : shapes) {
    const double plain = gflops(&sb::sgemm_plain, s.m, s.n, s.k, seconds);
    char name[64];
    std::snprintf(name, sizeof name, "%zux%zux%zu (%s)", s.m, s.n, s.k, s.what);
    if (sb::have_blas()) {
      const double blas = gflops(&sb::sgemm, s.m, s.n, s.k, seconds);
      std::printf("%-34s %8.2f %8.2f %6.2f\n", name, plain, blas, plain / blas);
    } else {
      std::printf("%-34s %8.2f %8s %6s\n", name, plain, "-", "-");
    }
  }
  return 0;
}
