// The GRU stack: one Backend::gru_layer_forward/backward call per layer,
// so that a backend can run each layer's recurrence as one operation. The
// default (backend/gru_layer.cc) is the step loop; the layer's output and
// its parameters live here, the backend's per-layer state in caches_.
#include <cmath>

#include "core/error.h"
#include "nn/layers.h"

namespace sb::nn {

Gru::Gru(Backend& be, std::string prefix, int input, int hidden, int layers, Rng& rng)
    : be_(be), input_(input), hidden_(hidden) {
  if (input < 1 || layers < 0 || (layers > 0 && hidden < 1))
    fail("gru ", prefix, ": input and hidden sizes must be >= 1, layers >= 0");
  layers_.reserve(static_cast<std::size_t>(layers));  // parameter pointers stay put
  // torch.nn.GRU.reset_parameters: every weight and bias U(+-1/sqrt(H)), in
  // the order weight_ih, weight_hh, bias_ih, bias_hh per layer.
  const float bound = layers > 0 ? 1.0f / std::sqrt(static_cast<float>(hidden)) : 0.0f;
  const std::int64_t H3 = 3 * std::int64_t{hidden};
  for (int k = 0; k < layers; ++k) {
    const std::string sfx = "_l" + std::to_string(k);
    const std::int64_t in = k == 0 ? input : hidden;
    Layer& L = layers_.emplace_back();
    L.w_ih = Parameter(be, prefix + ".weight_ih" + sfx, {H3, in});
    L.w_hh = Parameter(be, prefix + ".weight_hh" + sfx, {H3, hidden});
    L.b_ih = Parameter(be, prefix + ".bias_ih" + sfx, {H3});
    L.b_hh = Parameter(be, prefix + ".bias_hh" + sfx, {H3});
    init_uniform(L.w_ih, rng, bound);
    init_uniform(L.w_hh, rng, bound);
    init_uniform(L.b_ih, rng, bound);
    init_uniform(L.b_hh, rng, bound);
  }
}

std::vector<Parameter*> Gru::parameters() {
  std::vector<Parameter*> ps;
  for (Layer& L : layers_) {
    ps.push_back(&L.w_ih);
    ps.push_back(&L.w_hh);
    ps.push_back(&L.b_ih);
    ps.push_back(&L.b_hh);
  }
  return ps;
}

const float* Gru::layer_output(int k) const {
  if (k < 0 || k >= num_layers()) fail("gru: no layer ", k);
  return layers_[static_cast<std::size_t>(k)].out.data();
}

const float* Gru::forward(const float* x, const SeqShape& s) {
  x_ = x;
  shape_ = s;
  if (layers_.empty()) return x;
  const GruLayerShape ls = layer_shape(0);
  caches_.resize(layers_.size());
  const float* in = x;
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    Layer& L = layers_[k];
    L.out.resize(be_, ls.rows() * ls.hidden);
    be_.gru_layer_forward(layer_shape(static_cast<int>(k)), weights(L), in, L.out.data(), caches_[k]);
    in = L.out.data();
  }
  return layers_.back().out.data();
}

GruLayerShape Gru::layer_shape(int k) const {
  GruLayerShape ls;
  ls.T = shape_.max_len;
  ls.B = shape_.batch;
  ls.input = static_cast<std::size_t>(k == 0 ? input_ : hidden_);
  ls.hidden = static_cast<std::size_t>(hidden_);
  ls.lengths = shape_.lengths.data();
  return ls;
}

GruLayerWeights Gru::weights(const Layer& L) {
  return {L.w_ih.value.data(), L.w_hh.value.data(), L.b_ih.value.data(), L.b_hh.value.data()};
}

void Gru::backward(const float* dy, float* dx) {
  const SeqShape& s = shape_;
  const std::size_t rows = s.rows();
  const auto in0 = static_cast<std::size_t>(input_);
  if (layers_.empty()) {
    if (dx != nullptr) {
      be_.copy(dx, dy, rows * in0);
      be_.mask_padding(dx, s.max_len, s.batch, in0, s.lengths.data());
    }
    return;
  }
  if (rows == 0) return;
  const auto H = static_cast<std::size_t>(hidden_);
  // The gradient between layers k and k-1 alternates between two buffers:
  // a layer's dx must not alias the dy it reads.
  for (Buffer& b : dmid_) b.resize(be_, rows * H);
  const float* dY = dy;
  for (int k = num_layers() - 1; k >= 0; --k) {
    Layer& L = layers_[static_cast<std::size_t>(k)];
    const float* in = k == 0 ? x_ : layers_[static_cast<std::size_t>(k) - 1].out.data();
    float* target = k > 0 ? dmid_[static_cast<std::size_t>(k) % 2].data() : dx;
    const GruLayerGrads g{L.w_ih.grad.data(), L.w_hh.grad.data(), L.b_ih.grad.data(), L.b_hh.grad.data()};
    be_.gru_layer_backward(layer_shape(k), weights(L), in, L.out.data(), dY, g, target,
                           *caches_[static_cast<std::size_t>(k)]);
    dY = target;
  }
}

}  // namespace sb::nn
