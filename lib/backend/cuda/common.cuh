// Device helpers shared by the kernel families (nvcc only): launch geometry,
// the CPU backend's exp/sigmoid/tanh, and its fixed-order dot product.
//
// Why ports of the CPU code rather than CUDA's own expf/tanhf: the CPU
// backend is the reference, and with these ports (and --fmad=false, the
// nvcc twin of the project's -ffp-contract=off) the fused GRU step, tanh and
// the row dot products compute every element with the same IEEE operations
// in the same order as the CPU, so the two backends agree to the bit there
// rather than to a few ulp. IEEE division and sqrt are nvcc's defaults
// (-prec-div=true, -prec-sqrt=true; sb never uses -use_fast_math).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sb::cuda {

constexpr unsigned kBlock = 256;     // threads per block for 1-d kernels
constexpr unsigned kMaxGrid = 65535; // any grid dimension accepts this many

// Blocks for n items, one per thread, capped: every kernel loops with a
// grid stride, so the cap only changes how many items a thread takes.
inline unsigned grid_for(std::size_t n, unsigned block = kBlock) {
  const std::size_t g = (n + block - 1) / block;
  return g == 0 ? 1u : (g > kMaxGrid ? kMaxGrid : static_cast<unsigned>(g));
}

// Blocks for kernels that give one block to each of `rows` rows.
inline unsigned grid_rows(std::size_t rows) {
  return rows == 0 ? 1u : (rows > kMaxGrid ? kMaxGrid : static_cast<unsigned>(rows));
}

__device__ inline std::size_t global_thread() {
  return static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::size_t grid_stride() {
  return static_cast<std::size_t>(gridDim.x) * blockDim.x;
}

// cpu::exp_f (lib/backend/cpu/fastmath.h), operation for operation.
__device__ inline float exp_f(float x) {
  const float xc0 = x > 88.3762626647949f ? 88.3762626647949f : x;
  const float xc = xc0 < -87.3365447504f ? -87.3365447504f : xc0;
  // n = round(x / ln 2): adding 1.5 * 2^23 leaves n in the low mantissa bits.
  const float shifted = xc * 1.44269504088896341f + 12582912.0f;
  const float fn = shifted - 12582912.0f;
  const int n = __float_as_int(shifted) - 0x4B400000;
  float r = xc - fn * 0.693359375f;  // Cody-Waite: ln 2 in two parts
  r = r - fn * -2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r2 + r + 1.0f;
  // 2^n built in the exponent field exactly as the CPU does (NaN survives
  // the clamps and makes y NaN).
  const float scale = __uint_as_float(static_cast<unsigned>(n + 127) << 23);
  return y * scale;
}

__device__ inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

// cpu::tanh_f, operation for operation.
__device__ inline float tanh_f(float x) {
  const float ax = x < 0.0f ? -x : x;
  const float big = 1.0f - 2.0f / (exp_f(ax + ax) + 1.0f);
  const float s = x * x;
  float p = -5.70498872745e-3f;
  p = p * s + 2.06390887954e-2f;
  p = p * s - 5.37397155531e-2f;
  p = p * s + 1.33314422036e-1f;
  p = p * s - 3.33332819422e-1f;
  const float small = x + x * s * p;
  return ax < 0.625f ? small : (x < 0.0f ? -big : big);  // NaN: both are NaN
}

// The CPU backend's dot_fixed, computed by one block: lane l of its 16
// partial sums adds x[i] y[i] for i = l, l + 16, l + 32, ... in increasing
// order (the CPU's main loop and its tail both put element i in lane i % 16),
// thread l computes lane l, and thread 0 folds the lanes in the CPU's tree
// order. Every thread of the block must call it (it synchronises) and gets
// the result; the block needs at least 16 threads. All reads of x and y
// happen before it returns, so callers may then overwrite them in place.
__device__ inline float block_dot_fixed(const float* x, const float* y, std::size_t n) {
  __shared__ float lanes[16];
  __shared__ float result;
  if (threadIdx.x < 16) {
    float acc = 0.0f;
    for (std::size_t i = threadIdx.x; i < n; i += 16) acc += x[i] * y[i];
    lanes[threadIdx.x] = acc;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    float acc[16];
    for (int l = 0; l < 16; ++l) acc[l] = lanes[l];
    for (int w = 8; w >= 1; w /= 2)
      for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
    result = acc[0];
  }
  __syncthreads();
  const float r = result;
  __syncthreads();  // nobody may overwrite `result` (next call) before all read it
  return r;
}

}  // namespace sb::cuda
