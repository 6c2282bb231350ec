#include "backend/cuda/cudnn_gru.h"

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

#include "backend/cuda/check.h"
#include "core/error.h"

namespace sb::cuda {
namespace {

void check_cudnn(cudnnStatus_t st, const char* stmt, const char* file, int line) {
  if (st != CUDNN_STATUS_SUCCESS)
    fail("cuDNN error ", static_cast<int>(st), " (", cudnnGetErrorString(st), ") in `", stmt, "` at ", file, ":",
         line);
}
#define SB_CUDNN_CHECK(stmt) check_cudnn((stmt), #stmt, __FILE__, __LINE__)

// One handle for the process, on the legacy default stream like the rest of
// the CUDA backend (so cuDNN's work is ordered with sb's kernels and copies).
cudnnHandle_t handle() {
  static const cudnnHandle_t h = [] {
    cudnnHandle_t made = nullptr;
    SB_CUDNN_CHECK(cudnnCreate(&made));
    SB_CUDNN_CHECK(cudnnSetStream(made, nullptr));
    return made;
  }();
  return h;
}

int as_int(std::size_t v, const char* what) {
  if (v > static_cast<std::size_t>(INT_MAX)) fail("cuDNN GRU: ", what, " = ", v, " is beyond cuDNN's int range");
  return static_cast<int>(v);
}

// Device bytes that grow on demand and are kept from call to call.
struct DeviceBytes {
  void* p = nullptr;
  std::size_t size = 0;
  void* get(std::size_t bytes) {
    if (bytes > size) {
      if (p != nullptr) {
        SB_CUDA_CHECK(cudaDeviceSynchronize());  // queued work may still use the old block
        SB_CUDA_CHECK(cudaFree(p));
        p = nullptr;
        size = 0;
      }
      SB_CUDA_CHECK(cudaMalloc(&p, std::max<std::size_t>(bytes, 256)));
      size = std::max<std::size_t>(bytes, 256);
    }
    return p;
  }
  ~DeviceBytes() {
    if (p != nullptr) SB_CUDA_WARN(cudaFree(p));
  }
};

// Per layer: the descriptors for its sizes, its weight space (and where
// each gate block lives in it), and what the forward leaves for backward.
struct CudnnGruCache : GruLayerCache {
  std::size_t input = 0, hidden = 0;  // the sizes the descriptors were made for
  cudnnRNNDescriptor_t rnn = nullptr;
  cudnnDropoutDescriptor_t dropout = nullptr;
  cudnnRNNDataDescriptor_t xdesc = nullptr, ydesc = nullptr;
  cudnnTensorDescriptor_t hdesc = nullptr;
  std::size_t weight_bytes = 0;
  DeviceBytes weights, dweights, work, reserve, lengths, dx_scratch;
  // Float offsets in the weight space of matrix and bias, per linLayerID.
  std::size_t matrix_at[6] = {}, bias_at[6] = {};
  std::size_t work_bytes = 0, reserve_bytes = 0;
  std::vector<int> host_lengths;

  ~CudnnGruCache() override {
    if (xdesc) cudnnDestroyRNNDataDescriptor(xdesc);
    if (ydesc) cudnnDestroyRNNDataDescriptor(ydesc);
    if (hdesc) cudnnDestroyTensorDescriptor(hdesc);
    if (rnn) cudnnDestroyRNNDescriptor(rnn);
    if (dropout) cudnnDestroyDropoutDescriptor(dropout);
  }

  void make(std::size_t in, std::size_t H) {
    input = in;
    hidden = H;
    SB_CUDNN_CHECK(cudnnCreateDropoutDescriptor(&dropout));
    // One layer per descriptor: no dropout is ever applied, so no states.
    SB_CUDNN_CHECK(cudnnSetDropoutDescriptor(dropout, handle(), 0.0f, nullptr, 0, 0));
    SB_CUDNN_CHECK(cudnnCreateRNNDescriptor(&rnn));
    SB_CUDNN_CHECK(cudnnSetRNNDescriptor_v8(rnn, CUDNN_RNN_ALGO_STANDARD, CUDNN_GRU, CUDNN_RNN_DOUBLE_BIAS,
                                            CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT,
                                            CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, as_int(in, "input size"),
                                            as_int(H, "hidden size"), as_int(H, "hidden size"), 1, dropout,
                                            CUDNN_RNN_PADDED_IO_ENABLED));
    SB_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&xdesc));
    SB_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&ydesc));
    SB_CUDNN_CHECK(cudnnCreateTensorDescriptor(&hdesc));
    SB_CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(handle(), rnn, &weight_bytes));
    auto* base = static_cast<float*>(weights.get(weight_bytes));
    dweights.get(weight_bytes);
    cudnnTensorDescriptor_t mdesc = nullptr, bdesc = nullptr;
    SB_CUDNN_CHECK(cudnnCreateTensorDescriptor(&mdesc));
    SB_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bdesc));
    // linLayerID 0..2: the input's r, z, n blocks; 3..5: the hidden state's.
    for (int id = 0; id < 6; ++id) {
      void *m = nullptr, *b = nullptr;
      SB_CUDNN_CHECK(cudnnGetRNNWeightParams(handle(), rnn, 0, weight_bytes, base, id, mdesc, &m, bdesc, &b));
      if (m == nullptr || b == nullptr) fail("cuDNN GRU: gate block ", id, " has no weights or bias");
      matrix_at[id] = static_cast<std::size_t>(static_cast<float*>(m) - base);
      bias_at[id] = static_cast<std::size_t>(static_cast<float*>(b) - base);
    }
    cudnnDestroyTensorDescriptor(mdesc);
    cudnnDestroyTensorDescriptor(bdesc);
  }

  // The batch's shapes and lengths, on every call.
  void set_batch(const GruLayerShape& s) {
    host_lengths.assign(s.lengths, s.lengths + s.B);
    float fill = 0.0f;
    SB_CUDNN_CHECK(cudnnSetRNNDataDescriptor(xdesc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, s.T,
                                             s.B, as_int(input, "input size"), host_lengths.data(), &fill));
    SB_CUDNN_CHECK(cudnnSetRNNDataDescriptor(ydesc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, s.T,
                                             s.B, as_int(hidden, "hidden size"), host_lengths.data(), &fill));
    const int dims[3] = {1, s.B, as_int(hidden, "hidden size")};
    const int strides[3] = {s.B * dims[2], dims[2], 1};
    SB_CUDNN_CHECK(cudnnSetTensorNdDescriptor(hdesc, CUDNN_DATA_FLOAT, 3, dims, strides));
    void* dev = lengths.get(host_lengths.size() * sizeof(int));
    SB_CUDA_CHECK(cudaMemcpy(dev, host_lengths.data(), host_lengths.size() * sizeof(int), cudaMemcpyHostToDevice));
    SB_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(handle(), rnn, CUDNN_FWD_MODE_TRAINING, xdesc, &work_bytes,
                                            &reserve_bytes));
    work.get(work_bytes);
    reserve.get(reserve_bytes);
  }
};

}  // namespace

bool is_cudnn_gru_cache(const GruLayerCache& cache) { return dynamic_cast<const CudnnGruCache*>(&cache) != nullptr; }

void cudnn_gru_forward(Backend& be, const GruLayerShape& s, const GruLayerWeights& w, const float* x,
                       float* out, std::unique_ptr<GruLayerCache>& cache) {
  auto* c = dynamic_cast<CudnnGruCache*>(cache.get());
  if (c == nullptr || c->input != s.input || c->hidden != s.hidden) {
    auto made = std::make_unique<CudnnGruCache>();
    made->make(s.input, s.hidden);
    c = made.get();
    cache = std::move(made);
  }
  if (s.rows() == 0) return;
  for (int b = 0; b < s.B; ++b)
    if (s.lengths[b] < 1 || s.lengths[b] > s.T) fail("cuDNN GRU: sequence ", b, " has length ", s.lengths[b]);
  c->set_batch(s);
  // PyTorch's parameters into cuDNN's weight space, block by block.
  const std::size_t H = s.hidden, in = s.input;
  auto* ws = static_cast<float*>(c->weights.p);
  for (int id = 0; id < 6; ++id) {
    const bool input_side = id < 3;
    const std::size_t block = static_cast<std::size_t>(id % 3);
    const std::size_t cols = input_side ? in : H;
    be.copy(ws + c->matrix_at[id], (input_side ? w.w_ih : w.w_hh) + block * H * cols, H * cols);
    be.copy(ws + c->bias_at[id], (input_side ? w.b_ih : w.b_hh) + block * H, H);
  }
  SB_CUDNN_CHECK(cudnnRNNForward(handle(), c->rnn, CUDNN_FWD_MODE_TRAINING, static_cast<const int32_t*>(c->lengths.p),
                                 c->xdesc, x, c->ydesc, out, c->hdesc, nullptr, nullptr, nullptr, nullptr, nullptr,
                                 c->weight_bytes, c->weights.p, c->work_bytes, c->work.p, c->reserve_bytes,
                                 c->reserve.p));
  be.mask_padding(out, s.T, s.B, H, s.lengths);  // sb's contract, whatever the fill did
}

void cudnn_gru_backward(Backend& be, const GruLayerShape& s, const GruLayerWeights&, const float* x,
                        const float* out, const float* dy, const GruLayerGrads& g, float* dx,
                        GruLayerCache& cache) {
  auto& c = dynamic_cast<CudnnGruCache&>(cache);
  if (s.rows() == 0) return;
  const std::size_t H = s.hidden, in = s.input;
  float* dxp = dx != nullptr ? dx : static_cast<float*>(c.dx_scratch.get(s.rows() * in * sizeof(float)));
  // Data first (it leaves in the reserve space what the weights need).
  SB_CUDNN_CHECK(cudnnRNNBackwardData_v8(handle(), c.rnn, static_cast<const int32_t*>(c.lengths.p), c.ydesc, out, dy,
                                         c.xdesc, dxp, c.hdesc, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                         nullptr, c.weight_bytes, c.weights.p, c.work_bytes, c.work.p,
                                         c.reserve_bytes, c.reserve.p));
  if (dx != nullptr) be.mask_padding(dx, s.T, s.B, in, s.lengths);
  SB_CUDA_CHECK(cudaMemsetAsync(c.dweights.p, 0, c.weight_bytes, nullptr));
  SB_CUDNN_CHECK(cudnnRNNBackwardWeights_v8(handle(), c.rnn, CUDNN_WGRAD_MODE_ADD,
                                            static_cast<const int32_t*>(c.lengths.p), c.xdesc, x, c.hdesc, nullptr,
                                            c.ydesc, out, c.weight_bytes, c.dweights.p, c.work_bytes, c.work.p,
                                            c.reserve_bytes, c.reserve.p));
  // lib/nn accumulates gradients: add each block to the parameter's.
  const auto* dws = static_cast<const float*>(c.dweights.p);
  for (int id = 0; id < 6; ++id) {
    const bool input_side = id < 3;
    const std::size_t block = static_cast<std::size_t>(id % 3);
    const std::size_t cols = input_side ? in : H;
    be.axpy(H * cols, 1.0f, dws + c.matrix_at[id], (input_side ? g.w_ih : g.w_hh) + block * H * cols);
    be.axpy(H, 1.0f, dws + c.bias_at[id], (input_side ? g.b_ih : g.b_hh) + block * H);
  }
}

}  // namespace sb::cuda
