// The CPU backend: OpenBLAS for products (or sb::sgemm_plain, sb's blocked
// kernel, when built with -Dblas=none), plain loops for the rest. The loops are written so that GCC
// vectorises them and are compiled once per instruction-set level
// (SB_CLONES); every kernel computes each output element with the same
// sequence of IEEE operations whatever the vector width, and reductions run
// in a fixed order, so results are the same bits on every x86-64 machine
// for a given build and thread count, and independent of batch composition.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/fastmath.h"
#include "backend/cpu/gemm_kernels.h"
#include "core/error.h"
#include "sb_config.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define SB_CLONES __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define SB_CLONES
#endif

namespace sb {
namespace {

// Sum of x[i] y[i] in a fixed order: 16 interleaved partial sums, then a
// fixed tree. Vectorisable without -ffast-math, and the order depends only on n.
SB_CLONES float dot_fixed(const float* x, const float* y, std::size_t n) {
  float acc[16] = {};
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += x[i + l] * y[i + l];
  for (int l = 0; i < n; ++i, ++l) acc[l] += x[i] * y[i];
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

// One row of the GRU step. The row pointers are distinct __restrict
// parameters of an always-inlined function: that is what lets GCC vectorise
// the loop (restrict-qualified locals, or run-time alias checks over nine
// pointers, do not).
SB_INLINE void gru_forward_row(float* __restrict gr, float* __restrict gz,
                               float* __restrict gn, const float* __restrict hr,
                               const float* __restrict hz, const float* __restrict hn,
                               const float* __restrict hp, float* __restrict out,
                               float* __restrict cache, std::size_t H) {
  for (std::size_t j = 0; j < H; ++j) {
    const float rg = cpu::sigmoid_f(gr[j] + hr[j]);
    const float zg = cpu::sigmoid_f(gz[j] + hz[j]);
    const float ng = cpu::tanh_f(gn[j] + rg * hn[j]);
    gr[j] = rg;
    gz[j] = zg;
    gn[j] = ng;
    cache[j] = hn[j];
    out[j] = ng + zg * (hp[j] - ng);  // = (1 - z) n + z h
  }
}

SB_CLONES void gru_forward_rows(float* gx, const float* gh, const float* h_prev,
                                float* h, float* hn_cache, std::size_t rows,
                                std::size_t H, const unsigned char* active) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* g = gx + r * 3 * H;
    if (!active[r]) {
      std::fill(g, g + 3 * H, 0.0f);
      std::fill(h + r * H, h + (r + 1) * H, 0.0f);
      std::fill(hn_cache + r * H, hn_cache + (r + 1) * H, 0.0f);
      continue;
    }
    const float* q = gh + r * 3 * H;
    gru_forward_row(g, g + H, g + 2 * H, q, q + H, q + 2 * H, h_prev + r * H, h + r * H,
                    hn_cache + r * H, H);
  }
}

SB_INLINE void gru_backward_row(const float* __restrict gr, const float* __restrict gz,
                                const float* __restrict gn, const float* __restrict hn,
                                const float* __restrict hp, const float* __restrict d,
                                float* __restrict dxr, float* __restrict dxz,
                                float* __restrict dxn, float* __restrict dhr,
                                float* __restrict dhz, float* __restrict dhn,
                                float* __restrict dp, std::size_t H) {
  for (std::size_t j = 0; j < H; ++j) {
    const float rg = gr[j], zg = gz[j], ng = gn[j];
    const float dn = d[j] * (1.0f - zg);
    const float dz = d[j] * (hp[j] - ng);
    const float dan = dn * (1.0f - ng * ng);
    const float dar = dan * hn[j] * (rg * (1.0f - rg));
    const float daz = dz * (zg * (1.0f - zg));
    dxr[j] = dar;
    dxz[j] = daz;
    dxn[j] = dan;
    dhr[j] = dar;
    dhz[j] = daz;
    dhn[j] = dan * rg;
    dp[j] = d[j] * zg;
  }
}

SB_CLONES void gru_backward_rows(const float* gates, const float* hn_cache,
                                 const float* h_prev, const float* dh, float* dgx,
                                 float* dgh, float* dh_prev, std::size_t rows,
                                 std::size_t H, const unsigned char* active) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* dx = dgx + r * 3 * H;
    float* dhh = dgh + r * 3 * H;
    if (!active[r]) {
      std::fill(dx, dx + 3 * H, 0.0f);
      std::fill(dhh, dhh + 3 * H, 0.0f);
      std::fill(dh_prev + r * H, dh_prev + (r + 1) * H, 0.0f);
      continue;
    }
    const float* g = gates + r * 3 * H;
    gru_backward_row(g, g + H, g + 2 * H, hn_cache + r * H, h_prev + r * H, dh + r * H, dx,
                     dx + H, dx + 2 * H, dhh, dhh + H, dhh + 2 * H, dh_prev + r * H, H);
  }
}

SB_CLONES void tanh_rows(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = cpu::tanh_f(x[i]);
}

SB_CLONES void adam_rows(float* p, const float* g, float* m, float* v, std::size_t n,
                         float lr, float beta1, float beta2, float eps, float bc1,
                         float bc2) {
  // torch.optim.Adam (foreach=False): step_size = lr / bc1,
  // denom = sqrt(v) / sqrt(bc2) + eps.
  const float step_size = lr / bc1;
  const float bc2_sqrt = std::sqrt(bc2);
  const float one_m_b1 = 1.0f - beta1, one_m_b2 = 1.0f - beta2;
  for (std::size_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = m[i] * beta1 + gi * one_m_b1;
    const float vi = v[i] * beta2 + gi * gi * one_m_b2;
    m[i] = mi;
    v[i] = vi;
    p[i] -= step_size * (mi / (std::sqrt(vi) / bc2_sqrt + eps));
  }
}

// One product on the panel kernel, split by panels of 32 columns between
// sb's threads. Which thread computes a panel changes nothing in its bits.
struct PanelJob {
  bool ta, tb;
  std::size_t m, n, k;
  float alpha;
  const float* a;
  std::size_t lda;
  const float* b;
  std::size_t ldb;
  float* packed;
  bool pack;  // pack op(B) first (false: already packed)
  float beta;
  float* c;
  std::size_t ldc;
  int parts;

  static void run(void* self, int part) {
    auto& j = *static_cast<PanelJob*>(self);
    const std::size_t panels = cpu::panel_count(j.n);
    const std::size_t p0 = panels * static_cast<std::size_t>(part) / static_cast<std::size_t>(j.parts);
    const std::size_t p1 = panels * static_cast<std::size_t>(part + 1) / static_cast<std::size_t>(j.parts);
    if (p0 == p1) return;
    if (j.pack) cpu::pack_panels(j.tb, j.k, j.n, j.b, j.ldb, j.packed, p0, p1);
    cpu::gemm_panels_avx512(j.ta, j.m, j.n, j.k, j.alpha, j.a, j.lda, j.packed, j.beta, j.c,
                            j.ldc, p0, p1);
  }
};

// Threads for one product: all of them once there is enough work to hide
// the hand-off (a few microseconds), never more than there are panels.
int parts_for(std::size_t m, std::size_t n, std::size_t k) {
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (flops < 2e5) return 1;
  const auto panels = static_cast<int>(cpu::panel_count(n));
  return std::max(1, std::min(num_threads(), panels));
}

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  bool row_independent_products() const override {
    return cpu::panel_gemm_usable() || !have_blas();
  }

  float* allocate(std::size_t n) override {
    if (n == 0) n = 1;
    // 64-byte alignment: whole cache lines, aligned vector loads.
    const std::size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (p == nullptr) fail("out of memory allocating ", bytes, " bytes");
    std::memset(p, 0, bytes);
    return static_cast<float*>(p);
  }
  void release(float* p) override { std::free(p); }
  void upload(float* dst, const float* host, std::size_t n) override {
    if (n) std::memmove(dst, host, n * sizeof(float));
  }
  void download(float* host, const float* src, std::size_t n) override {
    if (n) std::memmove(host, src, n * sizeof(float));
  }
  void copy(float* dst, const float* src, std::size_t n) override {
    if (n) std::memmove(dst, src, n * sizeof(float));
  }
  void fill(float* x, std::size_t n, float value) override { std::fill(x, x + n, value); }

  void gemm(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k,
            float alpha, const float* a, std::size_t lda, const float* b,
            std::size_t ldb, float beta, float* c, std::size_t ldc) override {
    if (!cpu::panel_gemm_usable() || m == 0 || n == 0 || k == 0) {
      sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    }
    // Each part packs its own panels of op(B) and multiplies them: no
    // synchronisation between packing and use.
    thread_local std::vector<float> scratch;
    const std::size_t need = cpu::packed_size(k, n);
    if (scratch.size() < need) scratch.resize(need);
    PanelJob job{ta == Trans::Yes, tb == Trans::Yes, m, n, k, alpha, a, lda, b, ldb,
                 scratch.data(), true, beta, c, ldc, parts_for(m, n, k)};
    cpu::parallel_run(job.parts, &PanelJob::run, &job);
  }
  void pack_operand(Trans tb, std::size_t k, std::size_t n, const float* b, std::size_t ldb,
                    PackedOperand& out) override {
    Backend::pack_operand(tb, k, n, b, ldb, out);
    if (k == 0 || n == 0 || (!cpu::panel_gemm_usable() && have_blas())) {
      out.packed.resize(*this, 0);
      return;
    }
    if (!cpu::panel_gemm_usable()) {  // the plain kernel's own panels (core/gemm.h)
      out.packed.resize(*this, sgemm_plain_packed_size(k, n));
      sgemm_plain_pack(tb, k, n, b, ldb, out.packed.data());
      return;
    }
    out.packed.resize(*this, cpu::packed_size(k, n));
    cpu::pack_panels(tb == Trans::Yes, k, n, b, ldb, out.packed.data(), 0, cpu::panel_count(n));
  }
  void gemm_packed(Trans ta, std::size_t m, float alpha, const float* a, std::size_t lda,
                   const PackedOperand& b, float beta, float* c, std::size_t ldc) override {
    if (b.packed.empty() || m == 0) {
      Backend::gemm_packed(ta, m, alpha, a, lda, b, beta, c, ldc);
      return;
    }
    if (!cpu::panel_gemm_usable()) {
      sgemm_plain_packed(ta, m, b.n, b.k, alpha, a, lda, b.packed.data(), beta, c, ldc);
      return;
    }
    PanelJob job{ta == Trans::Yes, b.tb == Trans::Yes, m, b.n, b.k, alpha, a, lda, b.b, b.ldb,
                 const_cast<float*>(b.packed.data()), false, beta, c, ldc,
                 parts_for(m, b.n, b.k)};
    cpu::parallel_run(job.parts, &PanelJob::run, &job);
  }

  void gemm_batched(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k,
                    float alpha, const float* a, std::size_t lda, std::size_t stride_a,
                    const float* b, std::size_t ldb, std::size_t stride_b, float beta,
                    float* c, std::size_t ldc, std::size_t stride_c,
                    std::size_t count) override {
    for (std::size_t i = 0; i < count; ++i)
      gemm(ta, tb, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
           c + i * stride_c, ldc);
  }
  void axpy(std::size_t n, float alpha, const float* x, float* y) override {
    for (std::size_t i = 0; i < n; ++i) y[i] += alpha * x[i];
  }
  void scale(std::size_t n, float alpha, float* x) override {
    for (std::size_t i = 0; i < n; ++i) x[i] *= alpha;
  }

  void add_row_vector(float* y, std::size_t rows, std::size_t cols,
                      const float* bias) override {
    for (std::size_t r = 0; r < rows; ++r) {
      float* yr = y + r * cols;
      for (std::size_t c = 0; c < cols; ++c) yr[c] += bias[c];
    }
  }
  void sum_rows(const float* x, std::size_t rows, std::size_t cols, float beta,
                float* out) override {
    // Rows are added in order into a float accumulator per column: the same
    // order whatever else is in the batch (zero rows add exact zeros).
    if (beta == 0.0f)
      std::fill(out, out + cols, 0.0f);
    else if (beta != 1.0f)
      for (std::size_t c = 0; c < cols; ++c) out[c] *= beta;
    for (std::size_t r = 0; r < rows; ++r) {
      const float* xr = x + r * cols;
      for (std::size_t c = 0; c < cols; ++c) out[c] += xr[c];
    }
  }
  void mask_padding(float* x, int T, int B, std::size_t D, const int* lengths) override {
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < B; ++b)
        if (t >= lengths[b]) {
          float* row = x + (static_cast<std::size_t>(t) * B + b) * D;
          std::fill(row, row + D, 0.0f);
        }
  }

  void tanh_forward(const float* x, float* y, std::size_t n) override { tanh_rows(x, y, n); }
  void tanh_backward(const float* y, const float* dy, float* dx, std::size_t n) override {
    for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
  }

  void gru_step_forward(float* gx, const float* gh, const float* h_prev, float* h,
                        float* hn_cache, std::size_t rows, std::size_t H,
                        const unsigned char* active) override {
    gru_forward_rows(gx, gh, h_prev, h, hn_cache, rows, H, active);
  }
  void gru_step_backward(const float* gates, const float* hn_cache, const float* h_prev,
                         const float* dh, float* dgx, float* dgh, float* dh_prev,
                         std::size_t rows, std::size_t H,
                         const unsigned char* active) override {
    gru_backward_rows(gates, hn_cache, h_prev, dh, dgx, dgh, dh_prev, rows, H, active);
  }

  void softmax_time(const float* scores, float* weights, int T, int B,
                    const int* lengths) override {
    for (int b = 0; b < B; ++b) {
      const int L = lengths[b];
      if (L < 1) fail("softmax over time: sequence ", b, " is empty");
      float mx = scores[b];
      for (int t = 1; t < L; ++t) mx = std::max(mx, scores[t * B + b]);
      if (std::isnan(mx)) mx = 0.0f;  // NaN still propagates through exp
      double sum = 0.0;
      for (int t = 0; t < L; ++t) {
        const float e = std::exp(scores[t * B + b] - mx);
        weights[t * B + b] = e;
        sum += e;
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int t = 0; t < L; ++t) weights[t * B + b] *= inv;
      for (int t = L; t < T; ++t) weights[t * B + b] = 0.0f;
    }
  }
  void softmax_time_backward(const float* w, const float* dw, float* ds, int T, int B,
                             const int* lengths) override {
    for (int b = 0; b < B; ++b) {
      const int L = lengths[b];
      double dot = 0.0;
      for (int t = 0; t < L; ++t) dot += static_cast<double>(w[t * B + b]) * dw[t * B + b];
      const float fdot = static_cast<float>(dot);
      for (int t = 0; t < L; ++t) ds[t * B + b] = w[t * B + b] * (dw[t * B + b] - fdot);
      for (int t = L; t < T; ++t) ds[t * B + b] = 0.0f;
    }
  }
  void weighted_sum_time(const float* x, const float* w, float* out, int T, int B,
                         std::size_t D, const int* lengths) override {
    std::fill(out, out + static_cast<std::size_t>(B) * D, 0.0f);
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < B; ++b) {
        if (t >= lengths[b]) continue;
        const float wt = w[t * B + b];
        const float* xr = x + (static_cast<std::size_t>(t) * B + b) * D;
        float* o = out + static_cast<std::size_t>(b) * D;
        for (std::size_t d = 0; d < D; ++d) o[d] += wt * xr[d];
      }
  }
  void weighted_sum_time_backward(const float* x, const float* w, const float* dout,
                                  float* dx, float* dw, int T, int B, std::size_t D,
                                  const int* lengths) override {
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < B; ++b) {
        const std::size_t row = static_cast<std::size_t>(t) * B + b;
        float* dxr = dx + row * D;
        if (t >= lengths[b]) {
          std::fill(dxr, dxr + D, 0.0f);
          dw[row] = 0.0f;
          continue;
        }
        const float* g = dout + static_cast<std::size_t>(b) * D;
        const float wt = w[row];
        for (std::size_t d = 0; d < D; ++d) dxr[d] = wt * g[d];
        dw[row] = dot_fixed(x + row * D, g, D);
      }
  }

  void gather_rows(const float* table, std::size_t dim, const std::int32_t* idx,
                   std::size_t n, float* out) override {
    for (std::size_t i = 0; i < n; ++i) {
      float* o = out + i * dim;
      if (idx[i] < 0)
        std::fill(o, o + dim, 0.0f);
      else
        std::memcpy(o, table + static_cast<std::size_t>(idx[i]) * dim, dim * sizeof(float));
    }
  }
  void scatter_add_rows(const float* dout, std::size_t dim, const std::int32_t* idx,
                        std::size_t n, float* dtable) override {
    for (std::size_t i = 0; i < n; ++i) {
      if (idx[i] < 0) continue;
      float* t = dtable + static_cast<std::size_t>(idx[i]) * dim;
      const float* g = dout + i * dim;
      for (std::size_t d = 0; d < dim; ++d) t[d] += g[d];
    }
  }

  void im2col_time(const float* x, int T, int B, std::size_t F, const int* lengths,
                   int K, int stride, int pad, float* col, int T_out,
                   const int* out_lengths) override {
    (void)T;
    const std::size_t width = F * static_cast<std::size_t>(K);
    for (int to = 0; to < T_out; ++to)
      for (int b = 0; b < B; ++b) {
        float* c = col + (static_cast<std::size_t>(to) * B + b) * width;
        std::fill(c, c + width, 0.0f);
        if (to >= out_lengths[b]) continue;
        for (int k = 0; k < K; ++k) {
          const int t = to * stride - pad + k;
          if (t < 0 || t >= lengths[b]) continue;
          const float* xr = x + (static_cast<std::size_t>(t) * B + b) * F;
          for (std::size_t f = 0; f < F; ++f) c[f * K + k] = xr[f];
        }
      }
  }
  void col2im_time(const float* dcol, int T, int B, std::size_t F, const int* lengths,
                   int K, int stride, int pad, float* dx, int T_out,
                   const int* out_lengths) override {
    std::fill(dx, dx + static_cast<std::size_t>(T) * B * F, 0.0f);
    const std::size_t width = F * static_cast<std::size_t>(K);
    for (int to = 0; to < T_out; ++to)
      for (int b = 0; b < B; ++b) {
        if (to >= out_lengths[b]) continue;
        const float* c = dcol + (static_cast<std::size_t>(to) * B + b) * width;
        for (int k = 0; k < K; ++k) {
          const int t = to * stride - pad + k;
          if (t < 0 || t >= lengths[b]) continue;
          float* xr = dx + (static_cast<std::size_t>(t) * B + b) * F;
          for (std::size_t f = 0; f < F; ++f) xr[f] += c[f * K + k];
        }
      }
  }

  void l2norm_rows(const float* x, float* y, float* norms, std::size_t rows,
                   std::size_t dim, float eps) override {
    for (std::size_t r = 0; r < rows; ++r) {
      const float* xr = x + r * dim;
      const float nrm = std::max(std::sqrt(dot_fixed(xr, xr, dim)), eps);
      norms[r] = nrm;
      float* yr = y + r * dim;
      for (std::size_t d = 0; d < dim; ++d) yr[d] = xr[d] / nrm;
    }
  }
  void l2norm_rows_backward(const float* y, const float* norms, const float* dy, float* dx,
                            std::size_t rows, std::size_t dim) override {
    for (std::size_t r = 0; r < rows; ++r) {
      const float* yr = y + r * dim;
      const float* g = dy + r * dim;
      const float proj = dot_fixed(yr, g, dim);
      const float inv = 1.0f / norms[r];
      float* o = dx + r * dim;
      for (std::size_t d = 0; d < dim; ++d) o[d] = (g[d] - yr[d] * proj) * inv;
    }
  }

  float contrastive_loss(const float* M, std::size_t n, float margin, float* dM) override {
    std::fill(dM, dM + n * n, 0.0f);
    if (n == 0) return 0.0f;
    const double scale = 1.0 / (static_cast<double>(n) * static_cast<double>(n));
    const float g = static_cast<float>(scale);
    double total = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        if (i == j) continue;
        const float mij = M[i * n + j];
        // u_i against v_j, ranked below v_j's own match u_j ...
        const float c1 = margin + mij - M[j * n + j];
        // ... and below u_i's own match v_i.
        const float c2 = margin + mij - M[i * n + i];
        // NaN fails both tests but must reach the caller through the total.
        if (c1 > 0.0f || c1 != c1) {
          total += c1;
          dM[i * n + j] += g;
          dM[j * n + j] -= g;
        }
        if (c2 > 0.0f || c2 != c2) {
          total += c2;
          dM[i * n + j] += g;
          dM[i * n + i] -= g;
        }
      }
    return static_cast<float>(total * scale);
  }

  double sum_squares(const float* x, std::size_t n) override {
    double acc[8] = {};
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 8; ++l) acc[l] += static_cast<double>(x[i + l]) * x[i + l];
    for (int l = 0; i < n; ++i, ++l) acc[l] += static_cast<double>(x[i]) * x[i];
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
  }
  bool all_finite(const float* x, std::size_t n) override {
    // x - x is 0 for finite x and NaN for Inf/NaN; one pass, no branches.
    float acc = 0.0f;
    for (std::size_t i = 0; i < n; ++i) acc += x[i] - x[i];
    return acc == 0.0f;
  }
  void adam_update(float* p, const float* g, float* m, float* v, std::size_t n, float lr,
                   float beta1, float beta2, float eps, float bc1, float bc2) override {
    adam_rows(p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2);
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend be;
  return be;
}

}  // namespace sb
