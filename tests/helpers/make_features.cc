// Writes a small image-feature matrix for tests/cli/import.sh in the
// layouts sb-import reads, so that no fixture is a binary blob:
//   make_features mat5|mat73 OUT.mat D N   MATLAB variable 'feats', D x N
//                                          (NeuralTalk's vgg_feats.mat layout)
//   make_features npy OUT.npy D N          an N x D float32 .npy
// Element (d, n) -- dimension d of image n -- is n + 1 + d / 8: exact in
// float, and every image's vector is different.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/npy.h"
#include "sb_config.h"
#if SB_HAVE_MATIO
#include <matio.h>
#endif

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: make_features mat5|mat73|npy OUT D N\n");
    return 1;
  }
  const std::string kind = argv[1], out = argv[2];
  const std::size_t d = std::strtoul(argv[3], nullptr, 10), n = std::strtoul(argv[4], nullptr, 10);
  auto value = [](std::size_t dim, std::size_t img) { return static_cast<float>(img + 1) + static_cast<float>(dim) / 8.0f; };
  if (kind == "npy") {
    std::vector<float> m(n * d);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < d; ++j) m[i * d + j] = value(j, i);
    sb::write_npy(out, sb::Tensor::from_f32({static_cast<std::int64_t>(n), static_cast<std::int64_t>(d)}, m.data()));
    return 0;
  }
#if SB_HAVE_MATIO
  // MATLAB is column-major: element (dim, img) at dim + d * img.
  std::vector<double> m(n * d);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) m[j + d * i] = value(j, i);
  mat_t* mat = Mat_CreateVer(out.c_str(), nullptr, kind == "mat73" ? MAT_FT_MAT73 : MAT_FT_MAT5);
  if (!mat) {
    std::fprintf(stderr, "make_features: cannot create %s\n", out.c_str());
    return 2;
  }
  size_t dims[2] = {d, n};
  matvar_t* v = Mat_VarCreate("feats", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, m.data(), 0);
  const int rc = Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE);
  Mat_VarFree(v);
  Mat_Close(mat);
  return rc == 0 ? 0 : 2;
#else
  std::fprintf(stderr, "make_features: built without libmatio\n");
  return 3;
#endif
}
