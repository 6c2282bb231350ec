// The primitive interface under sb's layers: a handful of kernels (gemm,
// elementwise, reductions, softmax over time, gathers, the fused GRU step,
// Adam) on float buffers that live on one device. lib/nn is written only in
// terms of these, so a CUDA twin implements this class and nothing else.
//
// Memory: every float* passed to a Backend method is that backend's memory
// (host memory for the CPU backend, device memory for a CUDA one), allocated
// through Buffer. Small integer side data -- sequence lengths, embedding
// indices -- is always host memory; a device backend copies it as needed.
//
// Layout conventions shared with lib/nn:
//   - matrices are row-major;
//   - a batch of B variable-length sequences of width D is time-major and
//     padded: row t*B + b holds frame t of sequence b, T = max length; frames
//     t >= lengths[b] are padding and are never read by any kernel that
//     honours lengths (and are written as zeros by those that produce them).
//
//   sb::Backend& be = sb::cpu_backend();
//   sb::set_num_threads(2);                 // OpenBLAS and sb's own threads
//   sb::Buffer x(be, rows * cols);          // zero-filled
//   x.upload(host.data(), host.size());
//   be.gemm(sb::Trans::No, sb::Trans::Yes, ...);
//   std::vector<float> back = x.to_host();
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/gemm.h"  // sb::Trans

namespace sb {

class Buffer;
struct PackedOperand;

// One GRU layer over a padded, time-major batch (see gru_layer_forward).
struct GruLayerShape {
  int T = 0;                    // max length
  int B = 0;                    // sequences
  std::size_t input = 0;        // input width
  std::size_t hidden = 0;       // H
  const int* lengths = nullptr;  // B lengths, host memory, each <= T
  std::size_t rows() const { return static_cast<std::size_t>(T) * static_cast<std::size_t>(B); }
};
// PyTorch's layout: w_ih 3H x input, w_hh 3H x H, biases 3H; gate blocks
// r, z, n. Backend memory.
struct GruLayerWeights {
  const float* w_ih = nullptr;
  const float* w_hh = nullptr;
  const float* b_ih = nullptr;
  const float* b_hh = nullptr;
};
// Weight gradients, accumulated into (+=), as lib/nn's parameters expect.
struct GruLayerGrads {
  float* w_ih = nullptr;
  float* w_hh = nullptr;
  float* b_ih = nullptr;
  float* b_hh = nullptr;
};
// What a backend keeps from a layer's forward for its backward (and reuses
// from step to step: its memory is not released between batches). Opaque.
class GruLayerCache {
 public:
  virtual ~GruLayerCache() = default;
};

// One knob for all CPU parallelism. It sets OpenBLAS's thread count and the
// size of sb's own pool (which splits products on AVX-512 CPUs) to the same
// n; sb never calls BLAS from inside its own parallel regions, so the two
// never multiply. n <= 0 means "all cores". Results are bit-identical for a
// fixed build, machine and thread count -- and, where
// row_independent_products() holds, for any thread count.
void set_num_threads(int n);
int num_threads();

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;  // "cpu", "cuda"
  // True when row i of every product gemm computes is the same bits
  // whatever the other rows are (batch size, companions, position, thread
  // count): then an utterance's output never depends on its batch.
  virtual bool row_independent_products() const { return false; }

  // ---- memory ----------------------------------------------------------
  virtual float* allocate(std::size_t n) = 0;  // n floats, zero-filled
  virtual void release(float* p) = 0;
  virtual void upload(float* dst, const float* host, std::size_t n) = 0;
  virtual void download(float* host, const float* src, std::size_t n) = 0;
  virtual void copy(float* dst, const float* src, std::size_t n) = 0;
  virtual void fill(float* x, std::size_t n, float value) = 0;
  // Waits for queued work (no-op on the CPU).
  virtual void synchronize() {}

  // ---- BLAS-like -------------------------------------------------------
  // C = alpha op(A) op(B) + beta C, row-major (as sb::sgemm). The CPU
  // backend computes each element as one sum in a fixed order on CPUs with
  // AVX-512 (its own kernel), so a row's result never depends on the other
  // rows or the thread count; elsewhere it calls sb::sgemm (OpenBLAS).
  virtual void gemm(Trans ta, Trans tb, std::size_t m, std::size_t n,
                    std::size_t k, float alpha, const float* a, std::size_t lda,
                    const float* b, std::size_t ldb, float beta, float* c,
                    std::size_t ldc) = 0;
  // `count` independent gemms; operand i starts at a + i*stride_a, etc.
  virtual void gemm_batched(Trans ta, Trans tb, std::size_t m, std::size_t n,
                            std::size_t k, float alpha, const float* a,
                            std::size_t lda, std::size_t stride_a, const float* b,
                            std::size_t ldb, std::size_t stride_b, float beta,
                            float* c, std::size_t ldc, std::size_t stride_c,
                            std::size_t count) = 0;
  // A right-hand operand op(B) (k x n) prepared once for many products with
  // different left-hand sides: the GRU's W_hh over all time steps. b must
  // stay valid and unchanged while `out` is used. The default records b
  // and gemm_packed calls gemm; a backend may repack (the CPU one does).
  virtual void pack_operand(Trans tb, std::size_t k, std::size_t n, const float* b,
                            std::size_t ldb, PackedOperand& out);
  // C = alpha op(A) op(B) + beta C with op(B) from pack_operand; the same
  // result as gemm with the original operand.
  virtual void gemm_packed(Trans ta, std::size_t m, float alpha, const float* a,
                           std::size_t lda, const PackedOperand& b, float beta, float* c,
                           std::size_t ldc);
  virtual void axpy(std::size_t n, float alpha, const float* x, float* y) = 0;  // y += a x
  virtual void scale(std::size_t n, float alpha, float* x) = 0;               // x *= a

  // ---- rows and columns ------------------------------------------------
  // y[r, :] += bias for every row r of a rows x cols matrix.
  virtual void add_row_vector(float* y, std::size_t rows, std::size_t cols,
                              const float* bias) = 0;
  // out[c] = beta * out[c] + sum_r x[r, c] (bias gradients).
  virtual void sum_rows(const float* x, std::size_t rows, std::size_t cols,
                        float beta, float* out) = 0;
  // Zeroes the padding frames (t >= lengths[b]) of a T x B x D batch.
  virtual void mask_padding(float* x, int T, int B, std::size_t D,
                            const int* lengths) = 0;

  // ---- elementwise -----------------------------------------------------
  virtual void tanh_forward(const float* x, float* y, std::size_t n) = 0;
  // dx = dy * (1 - y^2); dx may alias dy.
  virtual void tanh_backward(const float* y, const float* dy, float* dx,
                             std::size_t n) = 0;

  // ---- GRU (PyTorch/cuDNN formulation, gate blocks r, z, n) ------------
  // One time step for the first `rows` rows of the batch. gx: rows x 3H, the
  // input projection W_ih x + b_ih; it is overwritten with the activated
  // gates (r, z, n) for the backward pass. gh: rows x 3H, W_hh h + b_hh.
  // h_prev, h: rows x H. hn_cache: rows x H, receives W_hn h + b_hn.
  // Rows with active[r] == 0 get h = 0 and zeroed caches.
  virtual void gru_step_forward(float* gx, const float* gh, const float* h_prev,
                                float* h, float* hn_cache, std::size_t rows,
                                std::size_t H, const unsigned char* active) = 0;
  // Backward through one step. dh: rows x H, gradient w.r.t. this step's h
  // (output gradient plus the next step's contribution). gates/hn_cache: what
  // gru_step_forward left. Writes dgx (rows x 3H, gradient of the input
  // projection), dgh (rows x 3H, of the recurrent projection) and dh_prev
  // (rows x H, the direct z*dh part only; the caller adds dgh W_hh).
  // Inactive rows get zeros everywhere.
  virtual void gru_step_backward(const float* gates, const float* hn_cache,
                                 const float* h_prev, const float* dh,
                                 float* dgx, float* dgh, float* dh_prev,
                                 std::size_t rows, std::size_t H,
                                 const unsigned char* active) = 0;

  // ---- GRU layer over a whole sequence batch ---------------------------
  // One call per layer and direction of the pass, so that a backend can run
  // the recurrence as one operation (cuDNN's RNN API). x: rows x input,
  // out: rows x H (rows = T*B, time-major, padding frames are 0 in out).
  // `cache` is created on first use (or when it belongs to another kind of
  // backend) and reused after. The default is the step loop over
  // gru_step_forward/backward and gemm (backend/gru_layer.cc), so a backend
  // that overrides nothing gets exactly the CPU's order of operations.
  virtual void gru_layer_forward(const GruLayerShape& s, const GruLayerWeights& w, const float* x,
                                 float* out, std::unique_ptr<GruLayerCache>& cache);
  // dy: rows x H, the gradient w.r.t. out (read, never written). Adds the
  // weight gradients into g and, when dx is not null, writes dx (rows x
  // input; padding 0). x and out are the forward's, unchanged since; dx
  // must not alias dy.
  virtual void gru_layer_backward(const GruLayerShape& s, const GruLayerWeights& w, const float* x,
                                  const float* out, const float* dy, const GruLayerGrads& g, float* dx,
                                  GruLayerCache& cache);

  // ---- attention pooling over time ------------------------------------
  // scores: T x B (row t*B + b). Softmax over t < lengths[b] for each b;
  // padding weights are 0. Every length must be >= 1.
  virtual void softmax_time(const float* scores, float* weights, int T, int B,
                            const int* lengths) = 0;
  // dscores[t,b] = w (dw - sum_t' w dw), padding 0.
  virtual void softmax_time_backward(const float* weights, const float* dweights,
                                     float* dscores, int T, int B,
                                     const int* lengths) = 0;
  // out[b, :] = sum_{t < len_b} w[t,b] x[t,b,:]   (x is T x B x D)
  virtual void weighted_sum_time(const float* x, const float* w, float* out,
                                 int T, int B, std::size_t D,
                                 const int* lengths) = 0;
  // dx[t,b,:] = w[t,b] dout[b,:] (padding 0); dw[t,b] = <x[t,b,:], dout[b,:]>.
  virtual void weighted_sum_time_backward(const float* x, const float* w,
                                          const float* dout, float* dx, float* dw,
                                          int T, int B, std::size_t D,
                                          const int* lengths) = 0;

  // ---- gathers ---------------------------------------------------------
  // out[i, :] = table[idx[i], :]; idx[i] < 0 gives a zero row (padding).
  virtual void gather_rows(const float* table, std::size_t dim,
                           const std::int32_t* idx, std::size_t n, float* out) = 0;
  // dtable[idx[i], :] += dout[i, :] for idx[i] >= 0, in order of i.
  virtual void scatter_add_rows(const float* dout, std::size_t dim,
                                const std::int32_t* idx, std::size_t n,
                                float* dtable) = 0;

  // ---- 1-d convolution over time (im2col) -----------------------------
  // x: T x B x F (time-major, lengths per b). col: T_out x B x (F*K), with
  // col[(t,b), f*K + k] = x[t*stride - pad + k, b, f] when that frame is
  // inside [0, lengths[b]) and 0 otherwise; rows t >= out_lengths[b] are 0.
  virtual void im2col_time(const float* x, int T, int B, std::size_t F,
                           const int* lengths, int K, int stride, int pad,
                           float* col, int T_out, const int* out_lengths) = 0;
  // dx (T x B x F) = 0, then scatter-adds dcol back over valid positions.
  virtual void col2im_time(const float* dcol, int T, int B, std::size_t F,
                           const int* lengths, int K, int stride, int pad,
                           float* dx, int T_out, const int* out_lengths) = 0;

  // ---- row normalisation ----------------------------------------------
  // y = x / max(|x|, eps) per row; norms receives max(|x|, eps).
  virtual void l2norm_rows(const float* x, float* y, float* norms,
                           std::size_t rows, std::size_t dim, float eps) = 0;
  // dx = (dy - y <y, dy>) / norm  (dx may alias dy).
  virtual void l2norm_rows_backward(const float* y, const float* norms,
                                    const float* dy, float* dx, std::size_t rows,
                                    std::size_t dim) = 0;

  // ---- loss ------------------------------------------------------------
  // The paper's contrastive loss on an n x n similarity matrix M (row i:
  // item u_i, column j: item v_j): (sum_{i != j} max(0, m + M[i,j] - M[j,j])
  // + max(0, m + M[i,j] - M[i,i])) / n^2. Returns it; dM gets dloss/dM.
  virtual float contrastive_loss(const float* M, std::size_t n, float margin,
                                 float* dM) = 0;

  // ---- reductions and optimiser ----------------------------------------
  // Sum of squares in double (for global gradient norms).
  virtual double sum_squares(const float* x, std::size_t n) = 0;
  virtual bool all_finite(const float* x, std::size_t n) = 0;
  // One Adam step (PyTorch's formulation, no weight decay):
  //   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
  //   p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
  // with bc1 = 1 - b1^step, bc2 = 1 - b2^step.
  virtual void adam_update(float* p, const float* g, float* m, float* v,
                           std::size_t n, float lr, float beta1, float beta2,
                           float eps, float bc1, float bc2) = 0;
};

// The CPU backend: OpenBLAS (cblas) where built with it, plain C++ otherwise.
Backend& cpu_backend();

// An owning, move-only array of floats in one backend's memory.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend& be, std::size_t n);  // zero-filled
  ~Buffer();
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // Makes room for n floats (keeps the allocation when it is large
  // enough); the contents are zero after a reallocation, unspecified else.
  void resize(Backend& be, std::size_t n);
  void zero();

  float* data() { return data_; }
  const float* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Backend* backend() const { return be_; }

  void upload(const float* host, std::size_t n);  // n <= size()
  void download(float* host) const;               // size() floats
  std::vector<float> to_host() const;

 private:
  Backend* be_ = nullptr;
  float* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// See Backend::pack_operand. Opaque to callers.
struct PackedOperand {
  Trans tb = Trans::No;
  std::size_t k = 0, n = 0;
  const float* b = nullptr;  // the source operand
  std::size_t ldb = 0;
  Buffer packed;             // backend-specific layout; empty when not repacked
};

}  // namespace sb
