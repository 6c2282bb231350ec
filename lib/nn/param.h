// Parameters, seeded initialisation, and saving/loading them.
//
// A Parameter is a named value with its gradient, both in backend memory,
// with PyTorch's shape ("speech.gru.weight_ih_l0", 3H x in). Layers own
// their Parameters and hand out pointers:
//
//   std::vector<sb::nn::Parameter*> ps = gru.parameters();   // stable pointers
//   sb::nn::zero_grad(ps);          // gradients ACCUMULATE over backward calls
//   ... forward / backward ...
//   sb::nn::save_parameters(out, ps);          // one f32 record per parameter
//   sb::nn::load_parameters(records, ps);      // checks names and shapes
//
// Initialisation follows PyTorch's defaults (uniform +-1/sqrt(fan) for GRU,
// Linear, Conv1d; N(0,1) for Embedding) drawn from sb::nn::Rng (sb::Random), a
// portable generator: the same seed, build and construction order give the
// same bits on every machine and thread count.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/random.h"
#include "io/tensor.h"

namespace sb {
class ArchiveWriter;
}

namespace sb::nn {

struct Parameter {
  std::string name;                 // archive key, e.g. "s2i.attn.W.weight"
  std::vector<std::int64_t> shape;  // PyTorch's shape
  Buffer value;
  Buffer grad;                      // same size as value

  Parameter() = default;
  Parameter(Backend& be, std::string name, std::vector<std::int64_t> shape);
  std::size_t numel() const { return value.size(); }
  Tensor to_tensor() const;                 // value as an f32 Tensor
  void assign(const Tensor& t);             // checks the shape, uploads
};

// The project's generator (core/random.h: xoshiro256** seeded through
// splitmix64): fixed, portable bit streams (the standard library's
// distributions are not portable across vendors). Its stream is derived
// from the seed (derive_seed(seed, fnv1a("init"))), not the seed itself:
// with one engine for the whole project, nn::Rng(s) would otherwise draw
// exactly the numbers of train::Rng(s) or corpus::Rng(s), and a model's
// initial weights would be correlated with whatever else a caller seeds
// with s.
class Rng : public sb::Random {
 public:
  explicit Rng(std::uint64_t seed = 0);
  static std::uint64_t stream(std::uint64_t seed);  // the sb::Random seed Rng(seed) uses
};

// Fills a parameter on the host and uploads it.
void init_uniform(Parameter& p, Rng& rng, float bound);  // U(-bound, bound)
void init_normal(Parameter& p, Rng& rng, float stddev);

void zero_grad(std::span<Parameter* const> params);
std::size_t count_elements(std::span<Parameter* const> params);

// True when every value (or gradient) is finite: the check for NaN/Inf.
bool values_finite(std::span<Parameter* const> params);
bool grads_finite(std::span<Parameter* const> params);

// One f32 record per parameter, keyed by name (optionally prefixed).
void save_parameters(ArchiveWriter& out, std::span<Parameter* const> params,
                     const std::string& prefix = "");
// Finds each parameter's record (prefix + name) among `records`; a missing
// record or a shape mismatch is an sb::Error naming the parameter. Records
// that match no parameter are ignored (options, other encoders).
void load_parameters(std::span<const Record> records,
                     std::span<Parameter* const> params,
                     const std::string& prefix = "");

}  // namespace sb::nn
