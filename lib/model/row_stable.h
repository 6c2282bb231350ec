// A backend adapter that makes every row of a matrix product independent of
// how many other rows are computed with it.
//
// Why: OpenBLAS picks different kernels for the edge tiles of a product, so
// the bits of row i of C = A B depend on the row count m and on i's place
// in it (measured: OpenBLAS 0.3.21 on AMD EPYC, rows 48.. of a 96-row call
// differ from the same rows in an 8-row call). An utterance's embedding
// would then change with the batch size and with its batch companions.
// sb-embed promises that it does not, so where the backend does not
// guarantee row-independent products itself (Backend::
// row_independent_products(); the CPU backend does on AVX-512 machines with
// its own kernel, not where it calls OpenBLAS) it runs the model on this
// adapter: products are computed in chunks of a fixed row count
// (zero-padded), with a chunk size probed once per product shape so that
// every position in a chunk gives the same bits. Everything else goes to
// the wrapped backend. Training does not need it.
#pragma once
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "backend/backend.h"
#include "model/model.h"

namespace sb::model {

class RowStableBackend : public Backend {
 public:
  explicit RowStableBackend(Backend& inner) : in_(inner) {}
  const char* name() const override { return in_.name(); }
  bool row_independent_products() const override { return true; }

  float* allocate(std::size_t n) override { return in_.allocate(n); }
  void release(float* p) override { in_.release(p); }
  void upload(float* dst, const float* host, std::size_t n) override { in_.upload(dst, host, n); }
  void download(float* host, const float* src, std::size_t n) override { in_.download(host, src, n); }
  void copy(float* dst, const float* src, std::size_t n) override { in_.copy(dst, src, n); }
  void fill(float* x, std::size_t n, float value) override { in_.fill(x, n, value); }
  void synchronize() override { in_.synchronize(); }

  void gemm(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
            const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
            std::size_t ldc) override;
  void gemm_batched(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
                    const float* a, std::size_t lda, std::size_t stride_a, const float* b,
                    std::size_t ldb, std::size_t stride_b, float beta, float* c, std::size_t ldc,
                    std::size_t stride_c, std::size_t count) override;
  void axpy(std::size_t n, float alpha, const float* x, float* y) override { in_.axpy(n, alpha, x, y); }
  void scale(std::size_t n, float alpha, float* x) override { in_.scale(n, alpha, x); }
  void add_row_vector(float* y, std::size_t rows, std::size_t cols, const float* bias) override {
    in_.add_row_vector(y, rows, cols, bias);
  }
  void sum_rows(const float* x, std::size_t rows, std::size_t cols, float beta, float* out) override {
    in_.sum_rows(x, rows, cols, beta, out);
  }
  void mask_padding(float* x, int T, int B, std::size_t D, const int* lengths) override {
    in_.mask_padding(x, T, B, D, lengths);
  }
  void tanh_forward(const float* x, float* y, std::size_t n) override { in_.tanh_forward(x, y, n); }
  void tanh_backward(const float* y, const float* dy, float* dx, std::size_t n) override {
    in_.tanh_backward(y, dy, dx, n);
  }
  void gru_step_forward(float* gx, const float* gh, const float* h_prev, float* h, float* hn_cache,
                        std::size_t rows, std::size_t H, const unsigned char* active) override {
    in_.gru_step_forward(gx, gh, h_prev, h, hn_cache, rows, H, active);
  }
  void gru_step_backward(const float* gates, const float* hn_cache, const float* h_prev, const float* dh,
                         float* dgx, float* dgh, float* dh_prev, std::size_t rows, std::size_t H,
                         const unsigned char* active) override {
    in_.gru_step_backward(gates, hn_cache, h_prev, dh, dgx, dgh, dh_prev, rows, H, active);
  }
  void softmax_time(const float* scores, float* weights, int T, int B, const int* lengths) override {
    in_.softmax_time(scores, weights, T, B, lengths);
  }
  void softmax_time_backward(const float* weights, const float* dweights, float* dscores, int T, int B,
                             const int* lengths) override {
    in_.softmax_time_backward(weights, dweights, dscores, T, B, lengths);
  }
  void weighted_sum_time(const float* x, const float* w, float* out, int T, int B, std::size_t D,
                         const int* lengths) override {
    in_.weighted_sum_time(x, w, out, T, B, D, lengths);
  }
  void weighted_sum_time_backward(const float* x, const float* w, const float* dout, float* dx, float* dw,
                                  int T, int B, std::size_t D, const int* lengths) override {
    in_.weighted_sum_time_backward(x, w, dout, dx, dw, T, B, D, lengths);
  }
  void gather_rows(const float* table, std::size_t dim, const std::int32_t* idx, std::size_t n,
                   float* out) override {
    in_.gather_rows(table, dim, idx, n, out);
  }
  void scatter_add_rows(const float* dout, std::size_t dim, const std::int32_t* idx, std::size_t n,
                        float* dtable) override {
    in_.scatter_add_rows(dout, dim, idx, n, dtable);
  }
  void im2col_time(const float* x, int T, int B, std::size_t F, const int* lengths, int K, int stride,
                   int pad, float* col, int T_out, const int* out_lengths) override {
    in_.im2col_time(x, T, B, F, lengths, K, stride, pad, col, T_out, out_lengths);
  }
  void col2im_time(const float* dcol, int T, int B, std::size_t F, const int* lengths, int K, int stride,
                   int pad, float* dx, int T_out, const int* out_lengths) override {
    in_.col2im_time(dcol, T, B, F, lengths, K, stride, pad, dx, T_out, out_lengths);
  }
  void l2norm_rows(const float* x, float* y, float* norms, std::size_t rows, std::size_t dim,
                   float eps) override {
    in_.l2norm_rows(x, y, norms, rows, dim, eps);
  }
  void l2norm_rows_backward(const float* y, const float* norms, const float* dy, float* dx, std::size_t rows,
                            std::size_t dim) override {
    in_.l2norm_rows_backward(y, norms, dy, dx, rows, dim);
  }
  float contrastive_loss(const float* M, std::size_t n, float margin, float* dM) override {
    return in_.contrastive_loss(M, n, margin, dM);
  }
  double sum_squares(const float* x, std::size_t n) override { return in_.sum_squares(x, n); }
  bool all_finite(const float* x, std::size_t n) override { return in_.all_finite(x, n); }
  void adam_update(float* p, const float* g, float* m, float* v, std::size_t n, float lr, float beta1,
                   float beta2, float eps, float bc1, float bc2) override {
    in_.adam_update(p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2);
  }

  // The chunk size used for products of this shape (probed on first use).
  std::size_t chunk_rows(Trans tb, std::size_t n, std::size_t k);

 private:
  Backend& in_;
  std::map<std::tuple<bool, std::size_t, std::size_t>, std::size_t> chunk_;
  std::vector<float> a_, c_;  // host scratch (the CPU backend's memory is host memory)
};

// A model to embed with: `m` itself where its backend's products are
// row-independent, else a copy of m's parameters on a RowStableBackend
// over m's backend (sb-embed's arrangement), so that what validation
// computes from a model in training is what sb-embed computes from the
// saved one. The copy is made once, at construction: build a new one after
// m's parameters change.
class RowStableModel {
 public:
  explicit RowStableModel(Model& m);
  Model& get() { return copy_ ? *copy_ : m_; }
  bool copied() const { return copy_ != nullptr; }

 private:
  Model& m_;
  std::unique_ptr<RowStableBackend> stable_;
  std::unique_ptr<Model> copy_;
};

}  // namespace sb::model
