// How a batch of variable-length sequences is represented.
//
// B sequences of width D are stored time-major and padded, T = the longest
// length: row t*B + b is frame t of sequence b (a (T*B) x D row-major
// matrix). Frames t >= lengths[b] are padding: layers never read them, and
// write zeros there, so padding never changes any output or gradient. The
// order of sequences in the batch is the caller's.
//
//   sb::nn::SeqShape s = sb::nn::SeqShape::from_lengths({300, 212, 97});
//   sb::Buffer x;                                 // T x B x 13
//   sb::nn::pack_sequences(be, {u0, u1, u2}, s, 13, x);  // host rows -> batch
//   const float* y = conv.forward(x.data(), s);   // conv.output_shape(s)
//   std::vector<float> f = sb::nn::unpack_sequence(be, y, out_shape, 64, 1);
#pragma once
#include <cstddef>
#include <vector>

#include "backend/backend.h"

namespace sb::nn {

struct SeqShape {
  int max_len = 0;           // T
  int batch = 0;             // B
  std::vector<int> lengths;  // B entries, each in [0, T]

  static SeqShape from_lengths(std::vector<int> lengths);  // T = max
  std::size_t rows() const { return static_cast<std::size_t>(max_len) * batch; }
  // Number of frames that are not padding.
  std::size_t frames() const;
  bool operator==(const SeqShape&) const = default;
};

// Copies B host sequences (sequence b: lengths[b] x dim, row-major) into a
// padded time-major batch (resized to T*B*dim; padding zero).
void pack_sequences(Backend& be, const std::vector<const float*>& seqs,
                    const SeqShape& shape, std::size_t dim, Buffer& out);
// Sequence b of a time-major batch as host rows (lengths[b] x dim).
// (One download per frame: for a single sequence; use unpack_sequences for
// the whole batch.)
std::vector<float> unpack_sequence(Backend& be, const float* batch,
                                   const SeqShape& shape, std::size_t dim, int b);
// Every sequence of a time-major batch as host rows, with one download of
// the batch (on a GPU, one copy instead of one per frame and sequence).
std::vector<std::vector<float>> unpack_sequences(Backend& be, const float* batch,
                                                 const SeqShape& shape, std::size_t dim);

}  // namespace sb::nn
