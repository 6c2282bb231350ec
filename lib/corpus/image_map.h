// The simulated image encoder: a fixed random nonlinear map from a scene's
// structure to a 4096-d non-negative vector, standing in for VGG-16's fc7.
//
//   z   = sum over the scene's atoms a of  w_a * e_a          (latent, 256-d)
//   pre = A z + B n + c + sigma * eps                         (4096-d)
//   x   = max(0, pre)
//
// e_a is a fixed random unit vector per atom (seeded by the atom's name),
// A (4096 x 256) and B (4096 x 64) fixed Gaussian matrices, n ~ N(0, I) a
// per-image nuisance vector (framing, lighting, clutter: what a photo shows
// that no caption mentions), eps ~ N(0, I) per-image noise, c a constant
// negative bias that makes about a third of the units active, as in fc7.
// A fifth of the units are "nuisance units": their row of A is scaled down
// and their row of B up, so they mostly encode what captions never say.
// Everything fixed is drawn from `seed` alone (not the corpus seed), so
// corpora made with different --seed share one image encoder, as Flickr8K
// and its test images share VGG-16.
#pragma once
#include <cstdint>
#include <vector>

#include "corpus/rng.h"
#include "corpus/scene.h"

namespace sb::corpus {

struct ImageMapOptions {
  int dim = 4096;
  int latent = 256;
  int nuisance = 64;
  double nuisance_units = 0.2;   // share of units driven mostly by n
  double nuisance_gain = 1.0;    // scale of B n on ordinary units
  double noise = 0.5;            // sigma
  double bias = -1.0;            // c
  std::uint64_t seed = 2019;
};

class ImageMap {
 public:
  explicit ImageMap(const ImageMapOptions& opt = {});
  const ImageMapOptions& options() const { return opt_; }

  // The latent code z of a scene (deterministic; exposed for tests).
  std::vector<float> latent(const Scene& s) const;
  // The image vector; `image_rng` supplies the nuisance vector and noise.
  std::vector<float> features(const Scene& s, Rng& image_rng) const;

 private:
  ImageMapOptions opt_;
  std::vector<float> a_cols_;   // latent columns of A, each `dim` long
  std::vector<float> b_cols_;   // nuisance columns of B
  std::vector<float> bias_;
};

}  // namespace sb::corpus
