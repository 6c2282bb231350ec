// Branch-free exp/sigmoid/tanh that the compiler can vectorise (libm's are
// calls). Each is a fixed sequence of IEEE operations on one element, so a
// vectorised and a scalar evaluation give the same bits: results do not
// depend on the SIMD width a machine happens to have. Accuracy: within a few
// ulp of the true value (Cephes' expf/tanhf polynomials); NaN propagates.
// exp_f saturates at exp(88.38) (its callers only need sigmoid and tanh).
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__GNUC__)
// Inlined into every kernel loop, or the loop is not vectorised.
#define SB_INLINE inline __attribute__((always_inline))
#else
#define SB_INLINE inline
#endif

namespace sb::cpu {

SB_INLINE float exp_f(float x) {
  const float xc0 = x > 88.3762626647949f ? 88.3762626647949f : x;
  const float xc = xc0 < -87.3365447504f ? -87.3365447504f : xc0;
  // n = round(x / ln 2) by the 1.5 * 2^23 trick: adding it leaves n in the
  // low mantissa bits. (A float -> int conversion would do, but GCC will not
  // vectorise one under -ftrapping-math, which sb keeps.)
  const float shifted = xc * 1.44269504088896341f + 12582912.0f;
  const float fn = shifted - 12582912.0f;
  std::int32_t nbits;
  std::memcpy(&nbits, &shifted, sizeof nbits);
  const std::int32_t n = nbits - 0x4B400000;
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
  const std::uint32_t bits = static_cast<std::uint32_t>(n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  // NaN needs no test: it survives the clamps (comparisons are false) and
  // makes y NaN. An explicit x != x check would stop GCC vectorising.
  return y * scale;
}

SB_INLINE float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

SB_INLINE float tanh_f(float x) {
  const float ax = x < 0.0f ? -x : x;
  // |x| >= 0.625: 1 - 2 / (exp(2|x|) + 1), with the sign of x.
  const float big = 1.0f - 2.0f / (exp_f(ax + ax) + 1.0f);
  // |x| < 0.625: odd polynomial, accurate where the formula above cancels.
  const float s = x * x;
  float p = -5.70498872745e-3f;
  p = p * s + 2.06390887954e-2f;
  p = p * s - 5.37397155531e-2f;
  p = p * s + 1.33314422036e-1f;
  p = p * s - 3.33332819422e-1f;
  const float small = x + x * s * p;
  return ax < 0.625f ? small : (x < 0.0f ? -big : big);  // NaN: both are NaN
}

}  // namespace sb::cpu
