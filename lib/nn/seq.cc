#include "nn/seq.h"

#include <algorithm>

#include "core/error.h"

namespace sb::nn {

SeqShape SeqShape::from_lengths(std::vector<int> lengths) {
  SeqShape s;
  s.batch = static_cast<int>(lengths.size());
  for (int L : lengths) {
    if (L < 0) fail("negative sequence length ", L);
    s.max_len = std::max(s.max_len, L);
  }
  s.lengths = std::move(lengths);
  return s;
}

std::size_t SeqShape::frames() const {
  std::size_t n = 0;
  for (int L : lengths) n += static_cast<std::size_t>(L);
  return n;
}

void pack_sequences(Backend& be, const std::vector<const float*>& seqs,
                    const SeqShape& shape, std::size_t dim, Buffer& out) {
  if (seqs.size() != static_cast<std::size_t>(shape.batch))
    fail("pack_sequences: ", seqs.size(), " sequences for a batch of ", shape.batch);
  const std::size_t B = static_cast<std::size_t>(shape.batch);
  std::vector<float> host(shape.rows() * dim, 0.0f);
  for (std::size_t b = 0; b < B; ++b)
    for (int t = 0; t < shape.lengths[b]; ++t)
      std::copy(seqs[b] + static_cast<std::size_t>(t) * dim,
                seqs[b] + static_cast<std::size_t>(t + 1) * dim,
                host.begin() + static_cast<std::ptrdiff_t>((t * B + b) * dim));
  out.resize(be, host.size());
  out.upload(host.data(), host.size());
}

std::vector<float> unpack_sequence(Backend& be, const float* batch, const SeqShape& shape,
                                   std::size_t dim, int b) {
  if (b < 0 || b >= shape.batch) fail("unpack_sequence: no sequence ", b);
  const std::size_t B = static_cast<std::size_t>(shape.batch);
  const int L = shape.lengths[static_cast<std::size_t>(b)];
  std::vector<float> out(static_cast<std::size_t>(L) * dim);
  for (int t = 0; t < L; ++t)
    be.download(out.data() + static_cast<std::size_t>(t) * dim,
                batch + (static_cast<std::size_t>(t) * B + static_cast<std::size_t>(b)) * dim,
                dim);
  return out;
}

std::vector<std::vector<float>> unpack_sequences(Backend& be, const float* batch,
                                                 const SeqShape& shape, std::size_t dim) {
  const std::size_t B = static_cast<std::size_t>(shape.batch);
  std::vector<float> host(shape.rows() * dim);
  if (!host.empty()) be.download(host.data(), batch, host.size());
  std::vector<std::vector<float>> out(B);
  for (std::size_t b = 0; b < B; ++b) {
    const std::size_t L = static_cast<std::size_t>(shape.lengths[b]);
    out[b].resize(L * dim);
    for (std::size_t t = 0; t < L; ++t)
      std::copy_n(host.data() + (t * B + b) * dim, dim, out[b].data() + t * dim);
  }
  return out;
}

}  // namespace sb::nn
