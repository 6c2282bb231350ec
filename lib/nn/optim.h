// Adam and gradient clipping over a group of parameters.
//
//   sb::nn::Adam adam(task_params, {.lr = 2e-4f});   // one per task
//   sb::nn::zero_grad(task_params);
//   ... forward, loss, backward ...
//   float norm = sb::nn::clip_grad_norm(task_params, 2.0f);  // NaN: skip step
//   adam.step();
//   adam.save(out, "opt.si.");  adam.load(records, "opt.si.");
//
// A parameter shared by two groups gets separate Adam state in each Adam, as
// with one torch.optim.Adam per task.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nn/param.h"

namespace sb::nn {

struct AdamOptions {  // torch.optim.Adam's defaults
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

class Adam {
 public:
  explicit Adam(std::vector<Parameter*> params, AdamOptions opt = {});
  void step();  // uses each parameter's grad
  std::int64_t steps() const { return step_; }
  const AdamOptions& options() const { return opt_; }
  void set_lr(float lr) { opt_.lr = lr; }
  const std::vector<Parameter*>& parameters() const { return params_; }

  // Records "<prefix>step" (i64) and "<prefix><param>.exp_avg" /
  // "<prefix><param>.exp_avg_sq" (f32, the parameter's shape).
  void save(ArchiveWriter& out, const std::string& prefix) const;
  // Restores them; a missing record or a shape mismatch is an sb::Error.
  void load(std::span<const Record> records, const std::string& prefix);

 private:
  std::vector<Parameter*> params_;
  AdamOptions opt_;
  std::int64_t step_ = 0;
  std::vector<Buffer> m_, v_;
};

// Global L2 norm of the group's gradients (accumulated in double).
float grad_norm(std::span<Parameter* const> params);
// torch.nn.utils.clip_grad_norm_: if norm > max_norm, scales every gradient
// by max_norm / (norm + 1e-6). Returns the norm before clipping; a NaN or Inf
// norm is returned as is and nothing is scaled (the caller decides).
float clip_grad_norm(std::span<Parameter* const> params, float max_norm);

}  // namespace sb::nn
