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

std::uint64_t Rng::stream(std::uint64_t seed) { return derive_seed(seed, fnv1a("init")); }

Rng::Rng(std::uint64_t seed) : sb::Random(stream(seed)) {}

void init_uniform(Parameter& p, Rng& rng, float bound) {
  std::vector<float> host(p.numel());
  // 24 random bits make a float in [0, 1) exactly; scaling in float keeps
  // every value in [-bound, bound) (a double draw rounded to float could
  // land on +bound).
  for (auto& x : host) x = -bound + 2.0f * bound * (static_cast<float>(rng.next() >> 40) * 0x1.0p-24f);
  p.value.upload(host.data(), host.size());
}

void init_normal(Parameter& p, Rng& rng, float stddev) {
  std::vector<float> host(p.numel());
  for (auto& x : host) x = stddev * static_cast<float>(rng.normal());
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
