#include "nn/loss.h"

namespace sb::nn {

float ContrastiveLoss::forward(const float* u, const float* v, std::size_t n,
                               std::size_t dim) {
  u_ = u;
  v_ = v;
  n_ = n;
  dim_ = dim;
  m_.resize(be_, n * n);
  dm_.resize(be_, n * n);
  if (n == 0) return 0.0f;
  be_.gemm(Trans::No, Trans::Yes, n, n, dim, 1.0f, u, dim, v, dim, 0.0f, m_.data(), n);
  return be_.contrastive_loss(m_.data(), n, margin_, dm_.data());
}

void ContrastiveLoss::backward(float* du, float* dv) {
  if (n_ == 0) return;
  // M = U V^T: dU = dM V, dV = dM^T U.
  if (du != nullptr)
    be_.gemm(Trans::No, Trans::No, n_, dim_, n_, 1.0f, dm_.data(), n_, v_, dim_, 0.0f, du,
             dim_);
  if (dv != nullptr)
    be_.gemm(Trans::Yes, Trans::No, n_, dim_, n_, 1.0f, dm_.data(), n_, u_, dim_, 0.0f, dv,
             dim_);
}

}  // namespace sb::nn
