#include "nn/param.h"

#include <cmath>
#include <map>

#include "core/error.h"
#include "io/archive.h"

namespace sb::nn {

Parameter::Parameter(Backend& be, std::string name_, std::vector<std::int64_t> shape_)
    : name(std::move(name_)), shape(std::move(shape_)) {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  value.resize(be, n);
  grad.resize(be, n);
}

Tensor Parameter::to_tensor() const {
  const std::vector<float> host = value.to_host();
  return Tensor::from_f32(shape, host.data());
}

void Parameter::assign(const Tensor& t) {
  if (t.dtype() != DType::F32)
    fail("parameter ", name, ": expected f32, got ", dtype_name(t.dtype()));
  if (t.shape() != shape) {
    Tensor want(DType::F32, shape);
    fail("parameter ", name, ": shape ", t.shape_string(), ", expected ",
         want.shape_string());
  }
  value.upload(t.f32(), t.numel());
}

// ---- Rng: splitmix64 seeding, xoshiro128+ stream ---------------------------
Rng::Rng(std::uint64_t seed) {
  for (int i = 0; i < 4; i += 2) {
    seed += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    s_[i] = static_cast<std::uint32_t>(z);
    s_[i + 1] = static_cast<std::uint32_t>(z >> 32);
  }
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // the one forbidden state
}

std::uint32_t Rng::next_u32() {
  const std::uint32_t result = s_[0] + s_[3];
  const std::uint32_t t = s_[1] << 9;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = (s_[3] << 11) | (s_[3] >> 21);
  return result;
}

float Rng::uniform() {
  // The top 24 bits (xoshiro128+'s low bits are its weakest).
  return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f);
}

float Rng::uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

float Rng::normal() {
  // Box-Muller in double, so the result depends only on the two draws.
  const double u1 = (static_cast<double>(next_u32() >> 8) + 1.0) / 16777217.0;
  const double u2 = static_cast<double>(next_u32() >> 8) / 16777216.0;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) *
                            std::cos(6.283185307179586 * u2));
}

std::uint64_t Rng::below(std::uint64_t n) {
  // Rejection sampling on 64 bits: no modulo bias.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    const std::uint64_t x = (static_cast<std::uint64_t>(next_u32()) << 32) | next_u32();
    if (x < limit) return x % n;
  }
}

void init_uniform(Parameter& p, Rng& rng, float bound) {
  std::vector<float> host(p.numel());
  for (auto& x : host) x = rng.uniform(-bound, bound);
  p.value.upload(host.data(), host.size());
}

void init_normal(Parameter& p, Rng& rng, float stddev) {
  std::vector<float> host(p.numel());
  for (auto& x : host) x = stddev * rng.normal();
  p.value.upload(host.data(), host.size());
}

void zero_grad(std::span<Parameter* const> params) {
  for (Parameter* p : params) p->grad.zero();
}

std::size_t count_elements(std::span<Parameter* const> params) {
  std::size_t n = 0;
  for (const Parameter* p : params) n += p->numel();
  return n;
}

bool values_finite(std::span<Parameter* const> params) {
  for (Parameter* p : params)
    if (!p->value.backend()->all_finite(p->value.data(), p->numel())) return false;
  return true;
}

bool grads_finite(std::span<Parameter* const> params) {
  for (Parameter* p : params)
    if (!p->grad.backend()->all_finite(p->grad.data(), p->numel())) return false;
  return true;
}

void save_parameters(ArchiveWriter& out, std::span<Parameter* const> params,
                     const std::string& prefix) {
  for (const Parameter* p : params) {
    const std::vector<float> host = p->value.to_host();
    out.write(prefix + p->name, DType::F32, p->shape, host.data());
  }
}

void load_parameters(std::span<const Record> records, std::span<Parameter* const> params,
                     const std::string& prefix) {
  std::map<std::string_view, const Record*> by_key;
  for (const Record& r : records) by_key[r.key] = &r;
  for (Parameter* p : params) {
    const auto it = by_key.find(prefix + p->name);
    if (it == by_key.end()) fail("parameter ", prefix + p->name, " is missing");
    p->assign(it->second->tensor);
  }
}

}  // namespace sb::nn
