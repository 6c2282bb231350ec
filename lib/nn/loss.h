// The paper's contrastive loss for a batch of n matching pairs (u_i, v_i):
// with M = u v^T (the cosine matrix when rows are L2-normalised, as the
// encoders' outputs are),
//   loss = (sum_{i != j} max(0, m + M[i,j] - M[j,j])
//                      + max(0, m + M[i,j] - M[i,i])) / n^2,   m = 0.2.
//
//   sb::nn::ContrastiveLoss loss(be);
//   float l = loss.forward(u, v, n, dim);     // NaN/Inf propagate: check
//   loss.backward(du, dv);                    // n x dim each, overwritten
#pragma once
#include <cstddef>

#include "backend/backend.h"

namespace sb::nn {

class ContrastiveLoss {
 public:
  explicit ContrastiveLoss(Backend& be, float margin = 0.2f) : be_(be), margin_(margin) {}
  float forward(const float* u, const float* v, std::size_t n, std::size_t dim);
  void backward(float* du, float* dv);
  float margin() const { return margin_; }
  const float* similarities() const { return m_.data(); }  // n x n

 private:
  Backend& be_;
  float margin_;
  const float* u_ = nullptr;
  const float* v_ = nullptr;
  std::size_t n_ = 0, dim_ = 0;
  Buffer m_, dm_;
};

}  // namespace sb::nn
