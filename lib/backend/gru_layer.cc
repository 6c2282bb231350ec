// Backend's default GRU layer: the step loop, moved here unchanged from
// lib/nn/gru.cc so that every backend that does not override it (the CPU
// one, and the CUDA one on its per-step path) computes the same operations
// in the same order. Forward is one gemm for the input projection of all
// T*B frames, then per step one gemm for W_hh h (only over the rows that
// still have frames) and one fused elementwise kernel. Backward mirrors it:
// per step the fused kernel and dh W_hh; then the weight gradients of all
// steps in one gemm each (dW_ih = dG_x^T X, dW_hh = dG_h[1:]^T H[:-1]) and
// the input gradient in one more.
#include <memory>
#include <vector>

#include "backend/backend.h"

namespace sb {
namespace {

struct StepLoopCache : GruLayerCache {
  Buffer gates;   // T x B x 3H: input projection, then activated r, z, n
  Buffer hn;      // T x B x H: W_hn h + b_hn per step
  Buffer gh, zeros, dgx, dgh, dh, carry;
  PackedOperand whh;                  // W_hh prepared for the per-step products
  std::vector<int> active_rows;       // per step: rows in the gemm prefix
  std::vector<unsigned char> active;  // T x B: frame is not padding
};

}  // namespace

void Backend::gru_layer_forward(const GruLayerShape& s, const GruLayerWeights& w, const float* x,
                                float* out, std::unique_ptr<GruLayerCache>& cache) {
  if (dynamic_cast<StepLoopCache*>(cache.get()) == nullptr) cache = std::make_unique<StepLoopCache>();
  auto& c = static_cast<StepLoopCache&>(*cache);
  const int T = s.T;
  const auto B = static_cast<std::size_t>(s.B);
  const std::size_t H = s.hidden, in_dim = s.input;
  const std::size_t rows = s.rows();

  // Which frames are real, and per step the prefix of the batch that holds
  // every real frame (the per-step gemm runs over that prefix only).
  c.active.assign(rows, 0);
  c.active_rows.assign(static_cast<std::size_t>(T), 0);
  for (int t = 0; t < T; ++t)
    for (std::size_t b = 0; b < B; ++b)
      if (t < s.lengths[b]) {
        c.active[t * B + b] = 1;
        c.active_rows[static_cast<std::size_t>(t)] = static_cast<int>(b) + 1;
      }
  c.gh.resize(*this, B * 3 * H);
  c.zeros.resize(*this, B * H);
  c.zeros.zero();
  c.gates.resize(*this, rows * 3 * H);
  c.hn.resize(*this, rows * H);
  if (rows == 0) return;
  gemm(Trans::No, Trans::Yes, rows, 3 * H, in_dim, 1.0f, x, in_dim, w.w_ih, in_dim, 0.0f, c.gates.data(), 3 * H);
  add_row_vector(c.gates.data(), rows, 3 * H, w.b_ih);
  // W_hh^T, prepared once for the T per-step products.
  pack_operand(Trans::Yes, H, 3 * H, w.w_hh, H, c.whh);
  for (int t = 0; t < T; ++t) {
    const auto n = static_cast<std::size_t>(c.active_rows[static_cast<std::size_t>(t)]);
    const std::size_t off = static_cast<std::size_t>(t) * B;
    float* h = out + off * H;
    const float* hp = t == 0 ? c.zeros.data() : out + (off - B) * H;
    if (n > 0) {
      if (t == 0) {
        fill(c.gh.data(), n * 3 * H, 0.0f);  // h_0 = 0: W_hh h_0 vanishes
      } else {
        gemm_packed(Trans::No, n, 1.0f, hp, H, c.whh, 0.0f, c.gh.data(), 3 * H);
      }
      add_row_vector(c.gh.data(), n, 3 * H, w.b_hh);
      gru_step_forward(c.gates.data() + off * 3 * H, c.gh.data(), hp, h, c.hn.data() + off * H, n, H,
                       c.active.data() + off);
    }
    if (n < B) {  // rows past the last live sequence: padding
      fill(h + n * H, (B - n) * H, 0.0f);
      fill(c.hn.data() + (off + n) * H, (B - n) * H, 0.0f);
      fill(c.gates.data() + (off + n) * 3 * H, (B - n) * 3 * H, 0.0f);
    }
  }
}

void Backend::gru_layer_backward(const GruLayerShape& s, const GruLayerWeights& w, const float* x,
                                 const float* out, const float* dy, const GruLayerGrads& g, float* dx,
                                 GruLayerCache& cache) {
  auto& c = dynamic_cast<StepLoopCache&>(cache);
  const int T = s.T;
  const auto B = static_cast<std::size_t>(s.B);
  const std::size_t H = s.hidden, in_dim = s.input;
  const std::size_t rows = s.rows();
  if (rows == 0) return;
  c.dgx.resize(*this, rows * 3 * H);
  c.dgh.resize(*this, rows * 3 * H);
  c.dh.resize(*this, B * H);
  c.carry.resize(*this, B * H);
  c.carry.zero();
  pack_operand(Trans::No, 3 * H, H, w.w_hh, H, c.whh);
  for (int t = T - 1; t >= 0; --t) {
    const auto n = static_cast<std::size_t>(c.active_rows[static_cast<std::size_t>(t)]);
    const std::size_t off = static_cast<std::size_t>(t) * B;
    float* dgx = c.dgx.data() + off * 3 * H;
    float* dgh = c.dgh.data() + off * 3 * H;
    if (n < B) {
      fill(dgx + n * 3 * H, (B - n) * 3 * H, 0.0f);
      fill(dgh + n * 3 * H, (B - n) * 3 * H, 0.0f);
    }
    if (n == 0) continue;
    // dh = output gradient + what step t+1 sent back. carry rows >= n are
    // still zero: a row leaves the prefix only going forward in time.
    copy(c.dh.data(), dy + off * H, n * H);
    axpy(n * H, 1.0f, c.carry.data(), c.dh.data());
    const float* hp = t == 0 ? c.zeros.data() : out + (off - B) * H;
    gru_step_backward(c.gates.data() + off * 3 * H, c.hn.data() + off * H, hp, c.dh.data(), dgx, dgh,
                      c.carry.data(), n, H, c.active.data() + off);
    if (t > 0) gemm_packed(Trans::No, n, 1.0f, dgh, 3 * H, c.whh, 1.0f, c.carry.data(), H);
  }
  // Weight gradients of all steps at once. Padding rows of dG are zero and
  // padding rows of the inputs finite, so they add exact zeros.
  gemm(Trans::Yes, Trans::No, 3 * H, in_dim, rows, 1.0f, c.dgx.data(), 3 * H, x, in_dim, 1.0f, g.w_ih, in_dim);
  sum_rows(c.dgx.data(), rows, 3 * H, 1.0f, g.b_ih);
  if (T > 1)
    gemm(Trans::Yes, Trans::No, 3 * H, H, rows - B, 1.0f, c.dgh.data() + B * 3 * H, 3 * H, out, H, 1.0f, g.w_hh,
         H);
  sum_rows(c.dgh.data(), rows, 3 * H, 1.0f, g.b_hh);
  if (dx != nullptr)
    gemm(Trans::No, Trans::No, rows, in_dim, 3 * H, 1.0f, c.dgx.data(), 3 * H, w.w_ih, in_dim, 0.0f, dx, in_dim);
}

}  // namespace sb
