// The GRU stack. Per layer, forward is one gemm for the input projection of
// all T*B frames, then per step one gemm for W_hh h (only over the rows that
// still have frames) and one fused elementwise kernel. Backward mirrors it:
// per step the fused kernel and dh W_hh; then the weight gradients of all
// steps in one gemm each (dW_ih = dG_x^T X, dW_hh = dG_h[1:]^T H[:-1]) and the
// input gradient in one more.
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
  const int T = s.max_len;
  const auto B = static_cast<std::size_t>(s.batch);
  const auto H = static_cast<std::size_t>(hidden_);
  const std::size_t rows = s.rows();

  // Which frames are real, and per step the prefix of the batch that holds
  // every real frame (the per-step gemm runs over that prefix only).
  active_.assign(rows, 0);
  active_rows_.assign(static_cast<std::size_t>(T), 0);
  for (int t = 0; t < T; ++t)
    for (std::size_t b = 0; b < B; ++b)
      if (t < s.lengths[b]) {
        active_[t * B + b] = 1;
        active_rows_[static_cast<std::size_t>(t)] = static_cast<int>(b) + 1;
      }

  gh_.resize(be_, B * 3 * H);
  zeros_.resize(be_, B * H);
  zeros_.zero();
  const float* in = x;
  std::size_t in_dim = static_cast<std::size_t>(input_);
  for (Layer& L : layers_) {
    L.gates.resize(be_, rows * 3 * H);
    L.hn.resize(be_, rows * H);
    L.out.resize(be_, rows * H);
    if (rows == 0) continue;
    be_.gemm(Trans::No, Trans::Yes, rows, 3 * H, in_dim, 1.0f, in, in_dim,
             L.w_ih.value.data(), in_dim, 0.0f, L.gates.data(), 3 * H);
    be_.add_row_vector(L.gates.data(), rows, 3 * H, L.b_ih.value.data());
    // W_hh^T, prepared once for the T per-step products.
    be_.pack_operand(Trans::Yes, H, 3 * H, L.w_hh.value.data(), H, whh_);
    for (int t = 0; t < T; ++t) {
      const auto n = static_cast<std::size_t>(active_rows_[static_cast<std::size_t>(t)]);
      const std::size_t off = static_cast<std::size_t>(t) * B;
      float* h = L.out.data() + off * H;
      const float* hp = t == 0 ? zeros_.data() : L.out.data() + (off - B) * H;
      if (n > 0) {
        if (t == 0) {
          be_.fill(gh_.data(), n * 3 * H, 0.0f);  // h_0 = 0: W_hh h_0 vanishes
        } else {
          be_.gemm_packed(Trans::No, n, 1.0f, hp, H, whh_, 0.0f, gh_.data(), 3 * H);
        }
        be_.add_row_vector(gh_.data(), n, 3 * H, L.b_hh.value.data());
        be_.gru_step_forward(L.gates.data() + off * 3 * H, gh_.data(), hp, h,
                             L.hn.data() + off * H, n, H, active_.data() + off);
      }
      if (n < B) {  // rows past the last live sequence: padding
        be_.fill(h + n * H, (B - n) * H, 0.0f);
        be_.fill(L.hn.data() + (off + n) * H, (B - n) * H, 0.0f);
        be_.fill(L.gates.data() + (off + n) * 3 * H, (B - n) * 3 * H, 0.0f);
      }
    }
    in = L.out.data();
    in_dim = H;
  }
  return layers_.back().out.data();
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
  const int T = s.max_len;
  const auto B = static_cast<std::size_t>(s.batch);
  const auto H = static_cast<std::size_t>(hidden_);
  if (rows == 0) return;
  dgx_.resize(be_, rows * 3 * H);
  dgh_.resize(be_, rows * 3 * H);
  dh_.resize(be_, B * H);
  carry_.resize(be_, B * H);
  dtmp_.resize(be_, rows * H);

  const float* dY = dy;
  for (int k = num_layers() - 1; k >= 0; --k) {
    Layer& L = layers_[static_cast<std::size_t>(k)];
    const float* in = k == 0 ? x_ : layers_[static_cast<std::size_t>(k) - 1].out.data();
    const std::size_t in_dim = k == 0 ? in0 : H;
    carry_.zero();
    be_.pack_operand(Trans::No, 3 * H, H, L.w_hh.value.data(), H, whh_);
    for (int t = T - 1; t >= 0; --t) {
      const auto n = static_cast<std::size_t>(active_rows_[static_cast<std::size_t>(t)]);
      const std::size_t off = static_cast<std::size_t>(t) * B;
      float* dgx = dgx_.data() + off * 3 * H;
      float* dgh = dgh_.data() + off * 3 * H;
      if (n < B) {
        be_.fill(dgx + n * 3 * H, (B - n) * 3 * H, 0.0f);
        be_.fill(dgh + n * 3 * H, (B - n) * 3 * H, 0.0f);
      }
      if (n == 0) continue;
      // dh = output gradient + what step t+1 sent back. carry_ rows >= n
      // are still zero: a row leaves the prefix only going forward in time.
      be_.copy(dh_.data(), dY + off * H, n * H);
      be_.axpy(n * H, 1.0f, carry_.data(), dh_.data());
      const float* hp = t == 0 ? zeros_.data() : L.out.data() + (off - B) * H;
      be_.gru_step_backward(L.gates.data() + off * 3 * H, L.hn.data() + off * H, hp,
                            dh_.data(), dgx, dgh, carry_.data(), n, H,
                            active_.data() + off);
      if (t > 0)
        be_.gemm_packed(Trans::No, n, 1.0f, dgh, 3 * H, whh_, 1.0f, carry_.data(), H);
    }
    // Weight gradients of all steps at once. Padding rows of dG are zero and
    // padding rows of the inputs finite, so they add exact zeros.
    be_.gemm(Trans::Yes, Trans::No, 3 * H, in_dim, rows, 1.0f, dgx_.data(), 3 * H, in, in_dim,
             1.0f, L.w_ih.grad.data(), in_dim);
    be_.sum_rows(dgx_.data(), rows, 3 * H, 1.0f, L.b_ih.grad.data());
    if (T > 1)
      be_.gemm(Trans::Yes, Trans::No, 3 * H, H, rows - B, 1.0f, dgh_.data() + B * 3 * H, 3 * H,
               L.out.data(), H, 1.0f, L.w_hh.grad.data(), H);
    be_.sum_rows(dgh_.data(), rows, 3 * H, 1.0f, L.b_hh.grad.data());
    // Input gradient; for k > 0 it is the next layer down's dY (dY of this
    // layer, possibly in dtmp_ too, is no longer needed).
    float* target = k > 0 ? dtmp_.data() : dx;
    if (target != nullptr)
      be_.gemm(Trans::No, Trans::No, rows, in_dim, 3 * H, 1.0f, dgx_.data(), 3 * H,
               L.w_ih.value.data(), in_dim, 0.0f, target, in_dim);
    dY = dtmp_.data();
  }
}

}  // namespace sb::nn
