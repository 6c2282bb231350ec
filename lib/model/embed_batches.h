// Running one encoder over a list of inputs, in batches: the one loop that
// sb-embed and sb-train's validation share, so that validation embeds
// exactly what `sb-embed | sb-rank` would.
//
//   model::RowStableModel run(m);            // see row_stable.h
//   model::EncoderInputs in;
//   for (...) in.add_speech(feats.data(), frames);
//   model::embed_batches(run.get(), Encoder::S2I, in, 32,
//                        [&](std::size_t i, const float* row) { ... });
//
// Inputs are sorted by length (stable) and cut into batches of `batch`, so
// that batch companions have similar lengths and little padding; the
// callback gets each input's index in the list, in batch order (not list
// order). A row's result never depends on its batch: the model masks
// padding, and embed_batches refuses a model whose backend does not
// promise row-independent products (wrap it in a RowStableModel).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/model.h"

namespace sb::model {

// One encoder's inputs, on the host: pointers into the caller's memory,
// which must outlive the call. Fill the list the encoder reads: speech
// (s2i, s2t: frames x feat_dim each), text (t2i, t2s: character ids) or
// images (i2s, i2t: image_dim floats each).
struct EncoderInputs {
  std::vector<const float*> speech;
  std::vector<int> frames;
  std::vector<const std::vector<std::int32_t>*> text;
  std::vector<const float*> images;

  void add_speech(const float* x, int n_frames) {
    speech.push_back(x);
    frames.push_back(n_frames);
  }
  void add_text(const std::vector<std::int32_t>* ids) { text.push_back(ids); }
  void add_image(const float* x) { images.push_back(x); }
  std::size_t size() const { return speech.size() + text.size() + images.size(); }
};

// The batches embed_batches makes: indices into the list sorted by length
// (stable; images all have one length, so they keep list order), cut into
// runs of at most `batch` (batch >= 1).
std::vector<std::vector<std::size_t>> length_sorted_batches(const std::vector<int>& lengths,
                                                           int batch);

// Unit vectors of encoder `e`: done(i, row) once per input, row holding
// m.embedding_size() floats (valid during the call only).
using RowCallback = std::function<void(std::size_t index, const float* row)>;
void embed_batches(Model& m, Encoder e, const EncoderInputs& in, int batch,
                   const RowCallback& done);

// Per-frame activations of a layer instead (Model::layer_frames; part and
// k as there): done(i, frames, dim), frames holding T_i x dim floats.
using FramesCallback =
    std::function<void(std::size_t index, const std::vector<float>& frames, int dim)>;
void layer_batches(Model& m, const std::string& part, int k, const EncoderInputs& in,
                   int batch, const FramesCallback& done);

}  // namespace sb::model
