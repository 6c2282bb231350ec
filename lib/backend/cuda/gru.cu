// The fused GRU step: one thread per (row r, unit j), which owns column j of
// all three gate blocks of row r, so it reads and overwrites gx[r, j],
// gx[r, H + j], gx[r, 2H + j] alone. The arithmetic is the CPU backend's
// gru_forward_rows / gru_backward_rows line for line.
#include "backend/cuda/check.h"
#include "backend/cuda/common.cuh"
#include "backend/cuda/gru.cuh"

namespace sb::cuda {
namespace {

__global__ void gru_forward_kernel(float* gx, const float* gh, const float* h_prev, float* h,
                                   float* hn_cache, std::size_t rows, std::size_t H,
                                   const unsigned char* active) {
  const std::size_t n = rows * H;
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) {
    const std::size_t r = i / H, j = i % H;
    float* g = gx + r * 3 * H;
    if (!active[r]) {
      g[j] = 0.0f;
      g[H + j] = 0.0f;
      g[2 * H + j] = 0.0f;
      h[i] = 0.0f;
      hn_cache[i] = 0.0f;
      continue;
    }
    const float* ghr = gh + r * 3 * H;
    const float rg = sigmoid_f(g[j] + ghr[j]);
    const float zg = sigmoid_f(g[H + j] + ghr[H + j]);
    const float hn = ghr[2 * H + j];
    const float ng = tanh_f(g[2 * H + j] + rg * hn);
    g[j] = rg;
    g[H + j] = zg;
    g[2 * H + j] = ng;
    hn_cache[i] = hn;
    h[i] = ng + zg * (h_prev[i] - ng);  // = (1 - z) n + z h
  }
}

__global__ void gru_backward_kernel(const float* gates, const float* hn_cache,
                                    const float* h_prev, const float* dh, float* dgx,
                                    float* dgh, float* dh_prev, std::size_t rows,
                                    std::size_t H, const unsigned char* active) {
  const std::size_t n = rows * H;
  for (std::size_t i = global_thread(); i < n; i += grid_stride()) {
    const std::size_t r = i / H, j = i % H;
    float* dx = dgx + r * 3 * H;
    float* dhh = dgh + r * 3 * H;
    if (!active[r]) {
      dx[j] = dx[H + j] = dx[2 * H + j] = 0.0f;
      dhh[j] = dhh[H + j] = dhh[2 * H + j] = 0.0f;
      dh_prev[i] = 0.0f;
      continue;
    }
    const float* g = gates + r * 3 * H;
    const float rg = g[j], zg = g[H + j], ng = g[2 * H + j];
    const float d = dh[i];
    const float dn = d * (1.0f - zg);
    const float dz = d * (h_prev[i] - ng);
    const float dan = dn * (1.0f - ng * ng);
    const float dar = dan * hn_cache[i] * (rg * (1.0f - rg));
    const float daz = dz * (zg * (1.0f - zg));
    dx[j] = dar;
    dx[H + j] = daz;
    dx[2 * H + j] = dan;
    dhh[j] = dar;
    dhh[H + j] = daz;
    dhh[2 * H + j] = dan * rg;
    dh_prev[i] = d * zg;
  }
}

}  // namespace

void gru_step_forward(float* gx, const float* gh, const float* h_prev, float* h,
                      float* hn_cache, std::size_t rows, std::size_t H,
                      const unsigned char* active, cudaStream_t stream) {
  if (rows == 0 || H == 0) return;
  SB_CUDA_LAUNCH(gru_forward_kernel, grid_for(rows * H), kBlock, stream, gx, gh, h_prev, h,
                 hn_cache, rows, H, active);
}

void gru_step_backward(const float* gates, const float* hn_cache, const float* h_prev,
                       const float* dh, float* dgx, float* dgh, float* dh_prev,
                       std::size_t rows, std::size_t H, const unsigned char* active,
                       cudaStream_t stream) {
  if (rows == 0 || H == 0) return;
  SB_CUDA_LAUNCH(gru_backward_kernel, grid_for(rows * H), kBlock, stream, gates, hn_cache,
                 h_prev, dh, dgx, dgh, dh_prev, rows, H, active);
}

}  // namespace sb::cuda
