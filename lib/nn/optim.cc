#include "nn/optim.h"

#include <cmath>
#include <cstring>
#include <map>

#include "core/error.h"
#include "io/archive.h"

namespace sb::nn {

Adam::Adam(std::vector<Parameter*> params, AdamOptions opt)
    : params_(std::move(params)), opt_(opt) {
  m_.reserve(params_.size());
  v_.reserve(params_.size());
  for (Parameter* p : params_) {
    Backend& be = *p->value.backend();
    m_.emplace_back(be, p->numel());
    v_.emplace_back(be, p->numel());
  }
}

void Adam::step() {
  ++step_;
  // Bias corrections in double, as Python computes them in torch.optim.Adam.
  const double s = static_cast<double>(step_);
  const auto bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(opt_.beta1), s));
  const auto bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(opt_.beta2), s));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Parameter* p = params_[i];
    p->value.backend()->adam_update(p->value.data(), p->grad.data(), m_[i].data(),
                                    v_[i].data(), p->numel(), opt_.lr, opt_.beta1,
                                    opt_.beta2, opt_.eps, bc1, bc2);
  }
}

void Adam::save(ArchiveWriter& out, const std::string& prefix) const {
  const std::int64_t one = 1;
  out.write(prefix + "step", DType::I64, std::span<const std::int64_t>(&one, 1), &step_);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Parameter* p = params_[i];
    const std::vector<float> m = m_[i].to_host(), v = v_[i].to_host();
    out.write(prefix + p->name + ".exp_avg", DType::F32, p->shape, m.data());
    out.write(prefix + p->name + ".exp_avg_sq", DType::F32, p->shape, v.data());
  }
}

void Adam::load(std::span<const Record> records, const std::string& prefix) {
  std::map<std::string_view, const Tensor*> by_key;
  for (const Record& r : records) by_key[r.key] = &r.tensor;
  auto find = [&](const std::string& key) -> const Tensor& {
    const auto it = by_key.find(key);
    if (it == by_key.end()) fail("optimiser state ", key, " is missing");
    return *it->second;
  };
  const Tensor& st = find(prefix + "step");
  if (st.dtype() != DType::I64 || st.numel() != 1)
    fail("optimiser state ", prefix, "step: expected one i64");
  std::int64_t step = 0;
  std::memcpy(&step, st.bytes(), sizeof step);
  if (step < 0) fail("optimiser state ", prefix, "step: negative step count");
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Parameter* p = params_[i];
    for (int which = 0; which < 2; ++which) {
      const std::string key = prefix + p->name + (which == 0 ? ".exp_avg" : ".exp_avg_sq");
      const Tensor& t = find(key);
      if (t.dtype() != DType::F32 || t.shape() != p->shape)
        fail("optimiser state ", key, ": shape or type does not match ", p->name);
      // A NaN or infinite moment would make every later update of this
      // parameter NaN (and a negative second moment its square root);
      // resuming from it must fail here, not epochs later as "loss is NaN".
      const float* f = t.f32();
      for (std::size_t j = 0; j < t.numel(); ++j)
        if (!std::isfinite(f[j]) || (which == 1 && f[j] < 0.0f))
          fail("optimiser state ", key, ": element ", j, " is ", f[j],
               std::isfinite(f[j]) ? " (a second moment is never negative)" : " (not a finite number)");
      (which == 0 ? m_[i] : v_[i]).upload(t.f32(), t.numel());
    }
  }
  step_ = step;
}

float grad_norm(std::span<Parameter* const> params) {
  double ss = 0.0;
  for (Parameter* p : params) ss += p->grad.backend()->sum_squares(p->grad.data(), p->numel());
  return static_cast<float>(std::sqrt(ss));
}

float clip_grad_norm(std::span<Parameter* const> params, float max_norm) {
  const float norm = grad_norm(params);
  if (!std::isfinite(norm)) return norm;
  const float coef = max_norm / (norm + 1e-6f);
  if (coef < 1.0f)
    for (Parameter* p : params) p->grad.backend()->scale(p->numel(), coef, p->grad.data());
  return norm;
}

}  // namespace sb::nn
