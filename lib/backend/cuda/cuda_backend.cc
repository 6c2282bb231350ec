// The CUDA backend: sb::Backend over cuBLAS and the kernel families of this
// folder (elementwise, reduce, gru, attention, gather, conv, loss, optim).
// This file is host code for the C++ compiler; it moves the host side data
// (lengths, indices, activity flags) to the device and calls the launchers.
//
// Ordering: everything -- kernels, cuBLAS, copies -- goes to the legacy
// default stream, so operations run in the order they are issued, a
// download sees every earlier operation, and scratch memory reused by the
// next call is never overwritten while an earlier kernel still reads it.
#include "backend/cuda/cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/cuda/attention.cuh"
#include "backend/cuda/check.h"
#include "backend/cuda/conv.cuh"
#include "sb_config.h"
#if SB_HAVE_CUDNN
#include "backend/cuda/cudnn_gru.h"
#endif
#include "backend/cuda/elementwise.cuh"
#include "backend/cuda/gather.cuh"
#include "backend/cuda/gru.cuh"
#include "backend/cuda/loss.cuh"
#include "backend/cuda/optim.cuh"
#include "backend/cuda/reduce.cuh"
#include "core/error.h"

namespace sb {
namespace {

CudaGruPath initial_gru_path() {
  const char* e = std::getenv("SB_CUDA_GRU");
  if (!SB_HAVE_CUDNN) return CudaGruPath::Steps;  // built without cuDNN
  return e != nullptr && std::string(e) == "steps" ? CudaGruPath::Steps : CudaGruPath::Cudnn;
}
CudaGruPath g_gru_path = initial_gru_path();

cublasOperation_t blas_op(Trans t) { return t == Trans::Yes ? CUBLAS_OP_T : CUBLAS_OP_N; }

int blas_int(std::size_t v, const char* what) {
  if (v > static_cast<std::size_t>(INT_MAX))
    fail("cuda gemm: ", what, " = ", v, " is beyond cuBLAS's int range");
  return static_cast<int>(v);
}

// Device memory that grows on demand and is reused from call to call.
class Scratch {
 public:
  void* get(std::size_t bytes, cudaStream_t stream) {
    if (bytes > capacity_) {
      const std::size_t want = std::max<std::size_t>({bytes, 2 * capacity_, 4096});
      if (data_ != nullptr) {
        // Work already queued may still read the old block.
        SB_CUDA_CHECK(cudaStreamSynchronize(stream));
        SB_CUDA_CHECK(cudaFree(data_));
        data_ = nullptr;
        capacity_ = 0;
      }
      SB_CUDA_CHECK(cudaMalloc(&data_, want));
      capacity_ = want;
    }
    return data_;
  }

 private:
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend() {
    SB_CUBLAS_CHECK(cublasCreate(&blas_));
    SB_CUBLAS_CHECK(cublasSetStream(blas_, stream_));
    // Plain FP32 products: TF32 tensor-core math (CUBLAS_TF32_TENSOR_OP_MATH)
    // would round the operands to 10 mantissa bits, far from the CPU result.
    SB_CUBLAS_CHECK(cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH));
  }
  // Never destroyed (see cuda_backend()), so no destructor releases blas_.

  const char* name() const override { return "cuda"; }

  // ---- GRU layers: cuDNN, or the step loop (cuda_set_gru_path) --------
  void gru_layer_forward(const GruLayerShape& s, const GruLayerWeights& w, const float* x, float* out,
                         std::unique_ptr<GruLayerCache>& cache) override {
#if SB_HAVE_CUDNN
    if (g_gru_path == CudaGruPath::Cudnn) return cuda::cudnn_gru_forward(*this, s, w, x, out, cache);
    if (cache && cuda::is_cudnn_gru_cache(*cache)) cache.reset();
#endif
    Backend::gru_layer_forward(s, w, x, out, cache);
  }
  void gru_layer_backward(const GruLayerShape& s, const GruLayerWeights& w, const float* x, const float* out,
                          const float* dy, const GruLayerGrads& g, float* dx, GruLayerCache& cache) override {
#if SB_HAVE_CUDNN
    if (cuda::is_cudnn_gru_cache(cache)) return cuda::cudnn_gru_backward(*this, s, w, x, out, dy, g, dx, cache);
#endif
    Backend::gru_layer_backward(s, w, x, out, dy, g, dx, cache);
  }

  // ---- memory ----------------------------------------------------------
  float* allocate(std::size_t n) override {
    if (n == 0) n = 1;  // a valid, distinct pointer, as the CPU backend gives
    const std::size_t bytes = n * sizeof(float);
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // not sticky: the next checked call must not see it
      fail("out of GPU memory allocating ", bytes, " bytes");
    }
    cuda::check_cuda(err, "cudaMalloc(&p, bytes)", __FILE__, __LINE__);
    SB_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_));
    return static_cast<float*>(p);
  }
  void release(float* p) override {
    if (p == nullptr) return;
    // Called from Buffer's destructor, so it reports rather than throws;
    // kernels already queued may still use p, hence the wait. A Buffer that
    // outlives the CUDA runtime (a static, destroyed after it at exit) has
    // nothing left to free: that is not worth a message.
    const cudaError_t err = cudaStreamSynchronize(stream_);
    if (err == cudaErrorCudartUnloading) {
      (void)cudaGetLastError();
      return;
    }
    cuda::warn_cuda(err, "cudaStreamSynchronize(stream_)", __FILE__, __LINE__);
    SB_CUDA_WARN(cudaFree(p));
  }
  void upload(float* dst, const float* host, std::size_t n) override {
    if (n > 0) SB_CUDA_CHECK(cudaMemcpy(dst, host, n * sizeof(float), cudaMemcpyHostToDevice));
  }
  void download(float* host, const float* src, std::size_t n) override {
    if (n > 0) SB_CUDA_CHECK(cudaMemcpy(host, src, n * sizeof(float), cudaMemcpyDeviceToHost));
  }
  void copy(float* dst, const float* src, std::size_t n) override {
    if (n == 0 || dst == src) return;
    const std::size_t bytes = n * sizeof(float);
    const auto d = reinterpret_cast<std::uintptr_t>(dst);
    const auto s = reinterpret_cast<std::uintptr_t>(src);
    if (d < s + bytes && s < d + bytes) {
      // The CPU backend copies with memmove; cudaMemcpy's result is undefined
      // for overlapping ranges, so go through scratch.
      void* tmp = work_.get(bytes, stream_);
      SB_CUDA_CHECK(cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, stream_));
      SB_CUDA_CHECK(cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyDeviceToDevice, stream_));
      return;
    }
    SB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
  }
  void fill(float* x, std::size_t n, float value) override {
    if (n == 0) return;
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if (bits == 0)  // +0.0f is all zero bytes
      SB_CUDA_CHECK(cudaMemsetAsync(x, 0, n * sizeof(float), stream_));
    else
      cuda::fill(x, n, value, stream_);
  }
  void synchronize() override { SB_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

  // ---- BLAS-like -------------------------------------------------------
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS
  // reads each row-major matrix as its column-major transpose, so pass B
  // before A, swap m and n, and keep each operand's own transpose flag.
  void gemm(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
            const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
            float* c, std::size_t ldc) override {
    if (m == 0 || n == 0) return;
    if (k == 0) {  // C = beta C, as sb::sgemm does (and lda may be 0 here)
      cuda::scale_matrix(c, m, n, ldc, beta, stream_);
      return;
    }
    SB_CUBLAS_CHECK(cublasSgemm(blas_, blas_op(tb), blas_op(ta), blas_int(n, "n"),
                                blas_int(m, "m"), blas_int(k, "k"), &alpha, b,
                                blas_int(ldb, "ldb"), a, blas_int(lda, "lda"), &beta, c,
                                blas_int(ldc, "ldc")));
  }
  void gemm_batched(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k,
                    float alpha, const float* a, std::size_t lda, std::size_t stride_a,
                    const float* b, std::size_t ldb, std::size_t stride_b, float beta,
                    float* c, std::size_t ldc, std::size_t stride_c,
                    std::size_t count) override {
    if (count == 0 || m == 0 || n == 0) return;
    if (k == 0) {
      for (std::size_t i = 0; i < count; ++i)
        cuda::scale_matrix(c + i * stride_c, m, n, ldc, beta, stream_);
      return;
    }
    SB_CUBLAS_CHECK(cublasSgemmStridedBatched(
        blas_, blas_op(tb), blas_op(ta), blas_int(n, "n"), blas_int(m, "m"), blas_int(k, "k"),
        &alpha, b, blas_int(ldb, "ldb"), static_cast<long long>(stride_b), a,
        blas_int(lda, "lda"), static_cast<long long>(stride_a), &beta, c, blas_int(ldc, "ldc"),
        static_cast<long long>(stride_c), blas_int(count, "count")));
  }
  void axpy(std::size_t n, float alpha, const float* x, float* y) override {
    cuda::axpy(n, alpha, x, y, stream_);
  }
  void scale(std::size_t n, float alpha, float* x) override { cuda::scale(n, alpha, x, stream_); }

  // ---- rows and columns ------------------------------------------------
  void add_row_vector(float* y, std::size_t rows, std::size_t cols,
                      const float* bias) override {
    cuda::add_row_vector(y, rows, cols, bias, stream_);
  }
  void sum_rows(const float* x, std::size_t rows, std::size_t cols, float beta,
                float* out) override {
    cuda::sum_rows(x, rows, cols, beta, out, stream_);
  }
  void mask_padding(float* x, int T, int B, std::size_t D, const int* lengths) override {
    if (T <= 0 || B <= 0 || D == 0) return;
    cuda::mask_padding(x, T, B, D, to_device(lengths, static_cast<std::size_t>(B)), stream_);
  }

  // ---- elementwise -----------------------------------------------------
  void tanh_forward(const float* x, float* y, std::size_t n) override {
    cuda::tanh_forward(x, y, n, stream_);
  }
  void tanh_backward(const float* y, const float* dy, float* dx, std::size_t n) override {
    cuda::tanh_backward(y, dy, dx, n, stream_);
  }

  // ---- GRU -------------------------------------------------------------
  void gru_step_forward(float* gx, const float* gh, const float* h_prev, float* h,
                        float* hn_cache, std::size_t rows, std::size_t H,
                        const unsigned char* active) override {
    if (rows == 0 || H == 0) return;
    cuda::gru_step_forward(gx, gh, h_prev, h, hn_cache, rows, H, to_device(active, rows),
                           stream_);
  }
  void gru_step_backward(const float* gates, const float* hn_cache, const float* h_prev,
                         const float* dh, float* dgx, float* dgh, float* dh_prev,
                         std::size_t rows, std::size_t H,
                         const unsigned char* active) override {
    if (rows == 0 || H == 0) return;
    cuda::gru_step_backward(gates, hn_cache, h_prev, dh, dgx, dgh, dh_prev, rows, H,
                            to_device(active, rows), stream_);
  }

  // ---- attention pooling over time ------------------------------------
  void softmax_time(const float* scores, float* weights, int T, int B,
                    const int* lengths) override {
    if (B <= 0) return;
    for (int b = 0; b < B; ++b)
      if (lengths[b] < 1) fail("softmax over time: sequence ", b, " is empty");
    cuda::softmax_time(scores, weights, T, B, to_device(lengths, static_cast<std::size_t>(B)),
                       stream_);
  }
  void softmax_time_backward(const float* weights, const float* dweights, float* dscores,
                             int T, int B, const int* lengths) override {
    if (B <= 0) return;
    cuda::softmax_time_backward(weights, dweights, dscores, T, B,
                                to_device(lengths, static_cast<std::size_t>(B)), stream_);
  }
  void weighted_sum_time(const float* x, const float* w, float* out, int T, int B,
                         std::size_t D, const int* lengths) override {
    if (B <= 0 || D == 0) return;
    cuda::weighted_sum_time(x, w, out, T, B, D,
                            to_device(lengths, static_cast<std::size_t>(B)), stream_);
  }
  void weighted_sum_time_backward(const float* x, const float* w, const float* dout,
                                  float* dx, float* dw, int T, int B, std::size_t D,
                                  const int* lengths) override {
    if (T <= 0 || B <= 0) return;
    cuda::weighted_sum_time_backward(x, w, dout, dx, dw, T, B, D,
                                     to_device(lengths, static_cast<std::size_t>(B)),
                                     stream_);
  }

  // ---- gathers ---------------------------------------------------------
  void gather_rows(const float* table, std::size_t dim, const std::int32_t* idx, std::size_t n,
                   float* out) override {
    if (n == 0 || dim == 0) return;
    cuda::gather_rows(table, dim, to_device(idx, n), n, out, stream_);
  }
  void scatter_add_rows(const float* dout, std::size_t dim, const std::int32_t* idx,
                        std::size_t n, float* dtable) override {
    if (n == 0 || dim == 0) return;
    if (n > static_cast<std::size_t>(INT32_MAX))
      fail("scatter_add_rows: ", n, " rows is beyond the int32 positions");
    // Group the positions by target row, ascending within each row (sorting
    // (row, position) pairs), so that one thread per table element can add
    // its rows in the CPU's order, without atomics. Layout sent to the
    // device: rows[count], offsets[count + 1], positions[p].
    std::vector<std::pair<std::int32_t, std::int32_t>> order;
    order.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      if (idx[i] >= 0) order.emplace_back(idx[i], static_cast<std::int32_t>(i));
    if (order.empty()) return;
    std::sort(order.begin(), order.end());
    std::vector<std::int32_t> rows, offsets;
    for (std::size_t p = 0; p < order.size(); ++p)
      if (p == 0 || order[p].first != order[p - 1].first) {
        rows.push_back(order[p].first);
        offsets.push_back(static_cast<std::int32_t>(p));
      }
    offsets.push_back(static_cast<std::int32_t>(order.size()));
    const std::size_t count = rows.size();
    std::vector<std::int32_t> packed;
    packed.reserve(2 * count + 1 + order.size());
    packed.insert(packed.end(), rows.begin(), rows.end());
    packed.insert(packed.end(), offsets.begin(), offsets.end());
    for (const auto& o : order) packed.push_back(o.second);
    const std::int32_t* dev = to_device(packed.data(), packed.size());
    cuda::scatter_add_rows(dout, dim, dev, dev + count, dev + 2 * count + 1, count, dtable,
                           stream_);
  }

  // ---- 1-d convolution over time --------------------------------------
  void im2col_time(const float* x, int T, int B, std::size_t F, const int* lengths, int K,
                   int stride, int pad, float* col, int T_out,
                   const int* out_lengths) override {
    (void)T;  // frames are bounded by lengths, as on the CPU
    if (stride < 1) fail("im2col_time: stride ", stride, " must be >= 1");
    if (B <= 0 || T_out <= 0) return;
    const int* dev = lengths_pair(lengths, out_lengths, B);
    cuda::im2col_time(x, B, F, dev, K, stride, pad, col, T_out, dev + B, stream_);
  }
  void col2im_time(const float* dcol, int T, int B, std::size_t F, const int* lengths, int K,
                   int stride, int pad, float* dx, int T_out,
                   const int* out_lengths) override {
    if (stride < 1) fail("col2im_time: stride ", stride, " must be >= 1");
    if (B <= 0 || T <= 0) return;
    const int* dev = lengths_pair(lengths, out_lengths, B);
    cuda::col2im_time(dcol, T, B, F, dev, K, stride, pad, dx, T_out, dev + B, stream_);
  }

  // ---- row normalisation ----------------------------------------------
  void l2norm_rows(const float* x, float* y, float* norms, std::size_t rows, std::size_t dim,
                   float eps) override {
    cuda::l2norm_rows(x, y, norms, rows, dim, eps, stream_);
  }
  void l2norm_rows_backward(const float* y, const float* norms, const float* dy, float* dx,
                            std::size_t rows, std::size_t dim) override {
    cuda::l2norm_rows_backward(y, norms, dy, dx, rows, dim, stream_);
  }

  // ---- loss ------------------------------------------------------------
  float contrastive_loss(const float* M, std::size_t n, float margin, float* dM) override {
    if (n == 0) return 0.0f;
    auto* row_totals = static_cast<double*>(work_.get(n * sizeof(double), stream_));
    return cuda::contrastive_loss(M, n, margin, dM, row_totals, stream_);
  }

  // ---- reductions and optimiser ----------------------------------------
  double sum_squares(const float* x, std::size_t n) override {
    if (n == 0) return 0.0;
    auto* partials =
        static_cast<double*>(work_.get(cuda::kSumSquaresBlocks * sizeof(double), stream_));
    return cuda::sum_squares(x, n, partials, stream_);
  }
  bool all_finite(const float* x, std::size_t n) override {
    if (n == 0) return true;
    return cuda::all_finite(x, n, static_cast<int*>(work_.get(sizeof(int), stream_)), stream_);
  }
  void adam_update(float* p, const float* g, float* m, float* v, std::size_t n, float lr,
                   float beta1, float beta2, float eps, float bc1, float bc2) override {
    cuda::adam_update(p, g, m, v, n, lr, beta1, beta2, eps, bc1, bc2, stream_);
  }

 private:
  // Copies `count` items of host side data into the side scratch and returns
  // their device address, valid until the next call that uses side data.
  // cudaMemcpyAsync from pageable memory has copied the host bytes by the
  // time it returns (CUDA's "API synchronization behavior"), so the caller's
  // vector may go away at once; the device copy is ordered after all work
  // already queued, which is what makes reusing the scratch safe.
  template <class T>
  const T* to_device(const T* host, std::size_t count) {
    const std::size_t bytes = count * sizeof(T);
    void* dev = side_.get(bytes, stream_);
    if (bytes > 0)
      SB_CUDA_CHECK(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, stream_));
    return static_cast<const T*>(dev);
  }
  // lengths[0..B) then out_lengths[0..B) on the device.
  const int* lengths_pair(const int* lengths, const int* out_lengths, int B) {
    std::vector<int> both(lengths, lengths + B);
    both.insert(both.end(), out_lengths, out_lengths + B);
    return to_device(both.data(), both.size());
  }

  cudaStream_t stream_ = nullptr;  // the legacy default stream
  cublasHandle_t blas_ = nullptr;
  Scratch side_;  // host side data of the current call
  Scratch work_;  // device temporaries of the current call
};

struct Probe {
  bool ok = false;
  std::string what;  // the device, or why there is none
};

Probe probe_cuda() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return {false, cat("no usable CUDA driver or device (", cudaGetErrorString(err), ")")};
  }
  if (count == 0) return {false, "no CUDA device"};
  int dev = 0;
  cudaDeviceProp prop;
  err = cudaGetDevice(&dev);
  if (err == cudaSuccess) err = cudaGetDeviceProperties(&prop, dev);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return {false, cat("cannot query CUDA device (", cudaGetErrorString(err), ")")};
  }
  const std::string name = cat(prop.name, " (sm_", prop.major, prop.minor, ")");
  err = cuda::probe_kernel_image();
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return {false, cat(name, ": this build has no kernels for it (build with -Dgpu_arch=",
                       prop.major, prop.minor, "; ", cudaGetErrorString(err), ")")};
  }
  return {true, name};
}

}  // namespace

namespace {
int g_chosen_device = -1;  // set by cuda_select_device
bool g_backend_made = false;
}  // namespace

void cuda_set_gru_path(CudaGruPath path) { g_gru_path = SB_HAVE_CUDNN ? path : CudaGruPath::Steps; }
CudaGruPath cuda_gru_path() { return g_gru_path; }

bool cuda_select_device(int index, std::string* why) {
  auto no = [&](std::string w) {
    if (why != nullptr) *why = std::move(w);
    return false;
  };
  if (g_chosen_device >= 0 && g_chosen_device != index)
    return no(cat("device ", g_chosen_device, " is already in use by this process"));
  if (g_chosen_device < 0) {
    if (g_backend_made && index != 0) return no("the CUDA backend already runs on device 0");
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      return no(cat("no usable CUDA driver or device (", cudaGetErrorString(err), ")"));
    }
    if (index >= count)
      return no(count == 0 ? std::string("no CUDA device")
                           : cat("no CUDA device ", index, " (this machine has ", count, ")"));
    err = cudaSetDevice(index);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      return no(cat("cannot use CUDA device ", index, " (", cudaGetErrorString(err), ")"));
    }
    g_chosen_device = index;
  }
  return cuda_available(why);
}

bool cuda_available(std::string* why) {
  static const Probe probe = probe_cuda();
  if (why != nullptr) *why = probe.what;
  return probe.ok;
}

Backend& cuda_backend() {
  // Created on first use and never destroyed: at exit the CUDA runtime may
  // be torn down before static destructors run, and freeing device memory or
  // the cuBLAS handle then fails. The process's exit releases both.
  static Backend* const be = [] {
    std::string why;
    if (!cuda_available(&why)) fail("CUDA backend unavailable: ", why);
    g_backend_made = true;
    return static_cast<Backend*>(new CudaBackend());
  }();
  return *be;
}

}  // namespace sb
