#include "model/embed_batches.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace sb::model {

namespace {

enum class Kind { Speech, Text, Image };

Kind kind_of(Encoder e) {
  switch (e) {
    case Encoder::S2I:
    case Encoder::S2T: return Kind::Speech;
    case Encoder::T2I:
    case Encoder::T2S: return Kind::Text;
    default: return Kind::Image;
  }
}

Kind kind_of_part(const std::string& part) {
  return (part == "text" || part == "t2s" || part == "t2i") ? Kind::Text : Kind::Speech;
}

// Checks what every caller needs once: the list the encoder reads is the
// one filled, the batch size is sane, and rows cannot depend on batches.
std::vector<int> lengths_of(Model& m, Kind kind, const EncoderInputs& in, int batch,
                            const char* what) {
  if (batch < 1) fail(what, ": batch size ", batch, " (must be at least 1)");
  if (!m.backend().row_independent_products())
    fail(what, ": the ", m.backend().name(),
         " backend's products depend on the batch; run the model on a RowStableModel");
  const std::size_t n = kind == Kind::Speech ? in.speech.size()
                        : kind == Kind::Text ? in.text.size()
                                             : in.images.size();
  if (n != in.size())
    fail(what, ": the encoder reads ",
         kind == Kind::Speech ? "speech" : kind == Kind::Text ? "text" : "images",
         ", but other inputs were given");
  if (kind == Kind::Speech && in.frames.size() != in.speech.size())
    fail(what, ": ", in.speech.size(), " utterances, ", in.frames.size(), " frame counts");
  std::vector<int> lengths(n, 1);
  for (std::size_t i = 0; i < n; ++i) {
    if (kind == Kind::Speech) lengths[i] = in.frames[i];
    if (kind == Kind::Text) lengths[i] = static_cast<int>(in.text[i]->size());
  }
  return lengths;
}

BatchInput make_input(const Model& m, Kind kind, const EncoderInputs& in,
                      const std::vector<std::size_t>& b) {
  BatchInput x;
  const auto D = static_cast<std::size_t>(m.options().image_dim);
  if (kind == Kind::Image) x.images.reserve(b.size() * D);
  for (std::size_t i : b) {
    if (kind == Kind::Speech) {
      x.speech.push_back(in.speech[i]);
      x.frames.push_back(in.frames[i]);
    } else if (kind == Kind::Text) {
      x.text.push_back(in.text[i]);
    } else {
      x.images.insert(x.images.end(), in.images[i], in.images[i] + D);
    }
  }
  return x;
}

}  // namespace

std::vector<std::vector<std::size_t>> length_sorted_batches(const std::vector<int>& lengths,
                                                           int batch) {
  if (batch < 1) fail("length_sorted_batches: batch size ", batch, " (must be at least 1)");
  std::vector<std::size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<std::size_t>> out;
  const auto B = static_cast<std::size_t>(batch);
  for (std::size_t i = 0; i < order.size(); i += B)
    out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(i),
                     order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), i + B)));
  return out;
}

void embed_batches(Model& m, Encoder e, const EncoderInputs& in, int batch,
                   const RowCallback& done) {
  const Kind kind = kind_of(e);
  const auto lengths = lengths_of(m, kind, in, batch, "embed_batches");
  const auto H = static_cast<std::size_t>(m.embedding_size());
  for (const auto& b : length_sorted_batches(lengths, batch)) {
    const auto y = m.embed(e, make_input(m, kind, in, b));
    for (std::size_t j = 0; j < b.size(); ++j) done(b[j], y.data() + j * H);
  }
}

void layer_batches(Model& m, const std::string& part, int k, const EncoderInputs& in, int batch,
                   const FramesCallback& done) {
  const Kind kind = kind_of_part(part);
  const auto lengths = lengths_of(m, kind, in, batch, "layer_batches");
  for (const auto& b : length_sorted_batches(lengths, batch)) {
    int dim = 0;
    const auto acts = m.layer_frames(part, k, make_input(m, kind, in, b), dim);
    for (std::size_t j = 0; j < b.size(); ++j) done(b[j], acts[j], dim);
  }
}

}  // namespace sb::model
