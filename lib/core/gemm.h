// Single-precision matrix product, row-major, the one BLAS call sb needs
// everywhere: C = alpha * op(A) op(B) + beta * C.
// With -Dblas=openblas this is cblas_sgemm; with -Dblas=none a blocked plain
// C++ loop (the embedded profile). Both give deterministic results for a
// fixed thread count.
#pragma once
#include <cstddef>

namespace sb {

enum class Trans : bool { No = false, Yes = true };

void sgemm(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k,
           float alpha, const float* a, std::size_t lda, const float* b,
           std::size_t ldb, float beta, float* c, std::size_t ldc);

// The plain C++ version, always built (tests compare the two).
void sgemm_plain(Trans ta, Trans tb, std::size_t m, std::size_t n,
                 std::size_t k, float alpha, const float* a, std::size_t lda,
                 const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc);

// True when sgemm goes to a BLAS library.
bool have_blas();

}  // namespace sb
