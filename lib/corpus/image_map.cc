#include "corpus/image_map.h"

#include <cmath>

#include "core/error.h"

namespace sb::corpus {

namespace {

std::vector<float> atom_vector(const std::string& name, int latent, std::uint64_t seed) {
  Rng rng(derive_seed(seed, hash_name(name)));
  std::vector<float> v(static_cast<std::size_t>(latent));
  double norm = 0;
  for (auto& x : v) {
    x = static_cast<float>(rng.normal());
    norm += static_cast<double>(x) * x;
  }
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (auto& x : v) x *= inv;
  return v;
}

}  // namespace

ImageMap::ImageMap(const ImageMapOptions& opt) : opt_(opt) {
  if (opt.dim <= 0 || opt.latent <= 0 || opt.nuisance < 0)
    fail("image map: dimensions must be positive");
  const auto D = static_cast<std::size_t>(opt.dim);
  Rng rng(derive_seed(opt.seed, 0x1A6E));
  // Which units are nuisance units: a fixed random fifth.
  std::vector<bool> nuisance_unit(D);
  for (std::size_t i = 0; i < D; ++i) nuisance_unit[i] = rng.chance(opt.nuisance_units);
  // A's entries are N(0, 1): |z| is about 2 for a typical scene, so the
  // content part of `pre` has a standard deviation of about 2.
  a_cols_.resize(D * static_cast<std::size_t>(opt.latent));
  for (int j = 0; j < opt.latent; ++j)
    for (std::size_t i = 0; i < D; ++i) {
      const double scale = nuisance_unit[i] ? 0.25 : 1.0;
      a_cols_[static_cast<std::size_t>(j) * D + i] = static_cast<float>(scale * rng.normal());
    }
  b_cols_.resize(D * static_cast<std::size_t>(opt.nuisance));
  const double bstd = opt.nuisance > 0 ? 1.0 / std::sqrt(static_cast<double>(opt.nuisance)) : 0.0;
  for (int j = 0; j < opt.nuisance; ++j)
    for (std::size_t i = 0; i < D; ++i) {
      const double scale = nuisance_unit[i] ? 2.5 : opt.nuisance_gain;
      b_cols_[static_cast<std::size_t>(j) * D + i] = static_cast<float>(scale * bstd * rng.normal());
    }
  bias_.assign(D, static_cast<float>(opt.bias));
}

std::vector<float> ImageMap::latent(const Scene& s) const {
  std::vector<float> z(static_cast<std::size_t>(opt_.latent), 0.0f);
  for (const auto& [name, w] : scene_atoms(s)) {
    const std::vector<float> e = atom_vector(name, opt_.latent, opt_.seed);
    for (std::size_t j = 0; j < z.size(); ++j) z[j] += static_cast<float>(w) * e[j];
  }
  return z;
}

std::vector<float> ImageMap::features(const Scene& s, Rng& image_rng) const {
  const auto D = static_cast<std::size_t>(opt_.dim);
  const std::vector<float> z = latent(s);
  std::vector<float> pre = bias_;
  // Column by column, so the inner loop is a contiguous axpy the compiler
  // vectorises without reassociating sums (the result stays bit-exact).
  for (std::size_t j = 0; j < z.size(); ++j) {
    const float zj = z[j];
    const float* col = &a_cols_[j * D];
    for (std::size_t i = 0; i < D; ++i) pre[i] += col[i] * zj;
  }
  for (int j = 0; j < opt_.nuisance; ++j) {
    const auto nj = static_cast<float>(image_rng.normal());
    const float* col = &b_cols_[static_cast<std::size_t>(j) * D];
    for (std::size_t i = 0; i < D; ++i) pre[i] += col[i] * nj;
  }
  for (std::size_t i = 0; i < D; ++i) {
    const float v = pre[i] + static_cast<float>(opt_.noise * image_rng.normal());
    pre[i] = v > 0.0f ? v : 0.0f;
  }
  return pre;
}

}  // namespace sb::corpus
