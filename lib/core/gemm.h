// Single-precision matrix product, row-major, the one BLAS call sb needs
// everywhere: C = alpha * op(A) op(B) + beta * C.
// With -Dblas=openblas this is cblas_sgemm; with -Dblas=none sb's own
// blocked kernel (the embedded profile; gemm_tiles.h): op(B) packed into
// panels of 16 columns, register tiles of rows x 16 that the compiler
// vectorises for the machine (SSE2, AVX2, AVX-512 chosen at run time on
// x86-64; NEON on aarch64). Both give deterministic results for a fixed
// thread count; the plain one also gives row i of C the same bits whatever
// the other rows of A are (each element is one sum over k in order).
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

// The plain kernel with op(B) packed once for many products (the GRU's
// W_hh over the time steps): sgemm_plain_pack writes
// sgemm_plain_packed_size(k, n) floats to `packed`; sgemm_plain_packed then
// gives the same bits as sgemm_plain with the original operand.
std::size_t sgemm_plain_packed_size(std::size_t k, std::size_t n);
void sgemm_plain_pack(Trans tb, std::size_t k, std::size_t n, const float* b,
                      std::size_t ldb, float* packed);
void sgemm_plain_packed(Trans ta, std::size_t m, std::size_t n, std::size_t k,
                        float alpha, const float* a, std::size_t lda,
                        const float* packed, float beta, float* c, std::size_t ldc);

// The instruction set the plain kernel runs with here: "AVX-512", "AVX2",
// "SSE2", "NEON" or "generic".
const char* sgemm_plain_isa();

// True when sgemm goes to a BLAS library.
bool have_blas();

}  // namespace sb
