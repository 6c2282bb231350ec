// lib/nn: layers, loss, optimiser, parameter I/O.
//
// Gradient checks. The engine is float32 only, so finite differences run in
// float: each check perturbs one element by h (central differences) and
// compares with the analytic gradient, |fd - an| <= atol + rtol max(|fd|,|an|).
// The objective is sum_i c_i y_i accumulated in double from float outputs
// whose relative rounding is ~1e-7; with |objective terms| <= ~10 that is
// ~1e-6 absolute noise, divided by 2h = 1e-2 gives ~1e-4; the truncation
// error of central differences is O(h^2 f''') ~ 1e-5 for these smooth
// layers. Hence atol 5e-4 and rtol 2e-2: an error in a backward formula
// (a missing term, a wrong gate, a transposed block) is off by O(|an|) and
// fails, as the negative test at the end demonstrates.
#define BOOST_TEST_MODULE nn
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <type_traits>
#include <sstream>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "core/gemm.h"
#include "io/archive.h"
#include "nn/nn.h"
#include "train/rng.h"

namespace fs = std::filesystem;
using namespace sb;
using namespace sb::nn;

namespace {

Backend& be() { return cpu_backend(); }

std::vector<float> random_vec(Rng& rng, std::size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

double dot_d(const float* a, const float* b, std::size_t n) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

bool same_bits(const float* a, const float* b, std::size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

// Largest |a - b| relative to the largest |b|.
double rel_diff(const float* a, const float* b, std::size_t n) {
  double d = 0, m = 0;
  for (std::size_t i = 0; i < n; ++i) {
    d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
    m = std::max(m, static_cast<double>(std::fabs(b[i])));
  }
  return m > 0 ? d / m : d;
}

// Padding invariance. When the backend's products are row-independent (the
// CPU backend's own kernel on AVX-512 machines, and the plain gemm of
// -Dblas=none: each row of a product computed on its own, in a fixed order)
// a sequence gives the same bits alone and in any batch: asserted exactly.
// OpenBLAS's kernels round a row's dot products differently depending on the
// row's position in the register tile and on the thread split (measured:
// identical inputs at row 0 and row 11 of a 16-row product differ in the
// last bit), so there results agree to a few float ulps; 1e-5 of the
// vector's scale is ~80 ulps of margin over what a 5-layer chain
// accumulates, and any real leak of padding (a wrong mask, a neighbour's
// frame) moves results by O(1e-2) or more.
constexpr double kBlasRowTolerance = 1e-5;
void check_same(const char* what, const float* alone, const float* batched, std::size_t n) {
  if (cpu_backend().row_independent_products()) {
    BOOST_TEST(same_bits(alone, batched, n), what << ": not bit-identical");
  } else {
    const double d = rel_diff(alone, batched, n);
    BOOST_TEST_MESSAGE(what << ": relative difference " << d);
    BOOST_TEST(d <= kBlasRowTolerance, what << ": relative difference " << d);
  }
}

struct FdResult {
  int checked = 0;
  int failed = 0;
  double worst = 0.0;  // worst |fd - an| / (atol + rtol max(|fd|, |an|))
};

// Checks `samples` elements of `values` (host-visible: the CPU backend)
// against `analytic`; `objective` re-runs the forward pass.
FdResult fd_check(const std::string& what, float* values, const std::vector<float>& analytic,
                  const std::function<double()>& objective, Rng& pick, int samples = 16,
                  float h = 5e-3f, double atol = 5e-4, double rtol = 2e-2,
                  bool report = true) {
  FdResult r;
  const std::size_t n = analytic.size();
  if (n == 0) return r;
  for (int s = 0; s < samples; ++s) {
    const std::size_t i = s < static_cast<int>(n) && n <= static_cast<std::size_t>(samples)
                              ? static_cast<std::size_t>(s)
                              : static_cast<std::size_t>(pick.below(n));
    const float orig = values[i];
    const float up = orig + h, down = orig - h;
    values[i] = up;
    const double fp = objective();
    values[i] = down;
    const double fm = objective();
    values[i] = orig;
    const double fd = (fp - fm) / (static_cast<double>(up) - static_cast<double>(down));
    const double an = analytic[i];
    const double tol = atol + rtol * std::max(std::fabs(fd), std::fabs(an));
    const double err = std::fabs(fd - an);
    r.worst = std::max(r.worst, err / tol);
    ++r.checked;
    if (err > tol) {
      ++r.failed;
      if (report)
        BOOST_ERROR(what << "[" << i << "]: finite difference " << fd << ", analytic " << an);
    }
  }
  return r;
}

// Naive double-precision GRU for one sequence (PyTorch's equations), the
// independent reference for known-value tests.
std::vector<double> ref_gru_layer(const std::vector<double>& x, int L, int in, int H,
                                  const float* wih, const float* whh, const float* bih,
                                  const float* bhh) {
  std::vector<double> h(static_cast<std::size_t>(H), 0.0), out;
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  for (int t = 0; t < L; ++t) {
    std::vector<double> gi(3 * H), gh(3 * H);
    for (int g = 0; g < 3 * H; ++g) {
      double a = bih[g], b = bhh[g];
      for (int j = 0; j < in; ++j) a += wih[g * in + j] * x[t * in + j];
      for (int j = 0; j < H; ++j) b += whh[g * H + j] * h[j];
      gi[g] = a;
      gh[g] = b;
    }
    std::vector<double> hn(H);
    for (int j = 0; j < H; ++j) {
      const double r = sig(gi[j] + gh[j]);
      const double z = sig(gi[H + j] + gh[H + j]);
      const double n = std::tanh(gi[2 * H + j] + r * gh[2 * H + j]);
      hn[j] = (1 - z) * n + z * h[j];
    }
    h = hn;
    out.insert(out.end(), h.begin(), h.end());
  }
  return out;
}

// A batch of random sequences in the time-major layout.
struct SeqData {
  SeqShape shape;
  std::size_t dim;
  std::vector<std::vector<float>> seqs;  // per sequence: len x dim
  Buffer batch;
  void pack() {
    std::vector<const float*> ptrs;
    for (auto& s : seqs) ptrs.push_back(s.data());
    pack_sequences(be(), ptrs, shape, dim, batch);
  }
};

SeqData random_seqs(Rng& rng, std::vector<int> lengths, std::size_t dim) {
  SeqData d;
  d.shape = SeqShape::from_lengths(std::move(lengths));
  d.dim = dim;
  for (int L : d.shape.lengths) d.seqs.push_back(random_vec(rng, L * dim));
  d.pack();
  return d;
}

// Weights c of the objective sum c_i y_i, zero on padding frames (the
// layers' contract ignores dy there; a check on the masked objective is the
// honest one).
std::vector<float> seq_weights(Rng& rng, const SeqShape& s, std::size_t dim) {
  std::vector<float> c = random_vec(rng, s.rows() * dim);
  for (int t = 0; t < s.max_len; ++t)
    for (int b = 0; b < s.batch; ++b)
      if (t >= s.lengths[b])
        std::fill_n(c.begin() + static_cast<std::ptrdiff_t>((t * s.batch + b) * dim), dim, 0.0f);
  return c;
}

// Runs fd_check over every parameter and, when given, the input.
void check_params(const std::string& what, std::vector<Parameter*> ps,
                  const std::function<double()>& objective, Rng& pick, int samples = 16,
                  float h = 5e-3f) {
  for (Parameter* p : ps) {
    const std::vector<float> an = p->grad.to_host();
    const FdResult r = fd_check(what + " " + p->name, p->value.data(), an, objective, pick,
                                samples, h);
    BOOST_TEST_MESSAGE(what << " " << p->name << ": " << r.checked << " checked, worst "
                            << r.worst << " of tolerance");
  }
}

struct TempDir {
  fs::path dir;
  TempDir() {
    char tmpl[] = "/tmp/sb-test-nn.XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

}  // namespace

// ===========================================================================
BOOST_AUTO_TEST_SUITE(shapes_and_init)

BOOST_AUTO_TEST_CASE(conv_output_length_formula) {
  Conv1dOptions o;  // 13 -> 64, kernel 6, stride 2, padding 6
  BOOST_TEST(Conv1d::output_length(300, o) == 154);  // (300 + 12 - 6) / 2 + 1
  BOOST_TEST(Conv1d::output_length(1, o) == 4);      // (1 + 12 - 6) / 2 + 1
  BOOST_TEST(Conv1d::output_length(0, o) == 0);
  Conv1dOptions tight{.in_channels = 2, .out_channels = 3, .kernel = 5, .stride = 3,
                      .padding = 0};
  BOOST_TEST(Conv1d::output_length(4, tight) == 0);  // shorter than the kernel
  BOOST_TEST(Conv1d::output_length(5, tight) == 1);
  BOOST_TEST(Conv1d::output_length(11, tight) == 3);  // (11 - 5) / 3 + 1
  Rng rng(1);
  Conv1d conv(be(), "c", tight, rng);
  const SeqShape out = conv.output_shape(SeqShape::from_lengths({11, 4, 8}));
  BOOST_TEST(out.max_len == 3);
  BOOST_TEST((out.lengths == std::vector<int>{3, 0, 2}));
}

BOOST_AUTO_TEST_CASE(parameter_names_and_shapes_follow_pytorch) {
  Rng rng(1);
  Gru gru(be(), "speech.gru", 64, 32, 2, rng);
  const auto ps = gru.parameters();
  BOOST_REQUIRE(ps.size() == 8u);
  BOOST_TEST(ps[0]->name == "speech.gru.weight_ih_l0");
  BOOST_TEST((ps[0]->shape == std::vector<std::int64_t>{96, 64}));
  BOOST_TEST(ps[1]->name == "speech.gru.weight_hh_l0");
  BOOST_TEST((ps[1]->shape == std::vector<std::int64_t>{96, 32}));
  BOOST_TEST(ps[2]->name == "speech.gru.bias_ih_l0");
  BOOST_TEST(ps[7]->name == "speech.gru.bias_hh_l1");
  BOOST_TEST((ps[4]->shape == std::vector<std::int64_t>{96, 32}));  // weight_ih_l1: 3H x H
  Attention att(be(), "s2i.attn", 32, 16, rng);
  const auto pa = att.parameters();
  BOOST_REQUIRE(pa.size() == 4u);
  BOOST_TEST(pa[0]->name == "s2i.attn.W.weight");
  BOOST_TEST((pa[0]->shape == std::vector<std::int64_t>{16, 32}));
  BOOST_TEST(pa[2]->name == "s2i.attn.U.weight");
  BOOST_TEST((pa[2]->shape == std::vector<std::int64_t>{1, 16}));
  BOOST_TEST((pa[3]->shape == std::vector<std::int64_t>{1}));
  Conv1d conv(be(), "speech.conv", {}, rng);
  BOOST_TEST((conv.parameters()[0]->shape == std::vector<std::int64_t>{64, 13, 6}));
  Linear lin(be(), "i2s", 4096, 32, true, rng);
  BOOST_TEST(lin.parameters()[1]->name == "i2s.bias");
  Embedding emb(be(), "text.embed", 40, 8, rng);
  BOOST_TEST((emb.parameters()[0]->shape == std::vector<std::int64_t>{40, 8}));
}

BOOST_AUTO_TEST_CASE(init_is_seeded_and_in_pytorch_ranges) {
  Rng a(42), b(42), c(43);
  Gru ga(be(), "g", 5, 16, 2, a), gb(be(), "g", 5, 16, 2, b), gc(be(), "g", 5, 16, 2, c);
  bool all_same = true, any_diff = false;
  for (std::size_t i = 0; i < ga.parameters().size(); ++i) {
    const auto va = ga.parameters()[i]->value.to_host();
    const auto vb = gb.parameters()[i]->value.to_host();
    const auto vc = gc.parameters()[i]->value.to_host();
    all_same = all_same && same_bits(va.data(), vb.data(), va.size());
    any_diff = any_diff || !same_bits(va.data(), vc.data(), va.size());
    for (float v : va) BOOST_TEST(std::fabs(v) <= 0.25f);  // 1/sqrt(16)
  }
  BOOST_TEST(all_same);
  BOOST_TEST(any_diff);
  // Embedding ~ N(0,1): sample moments of 4000 draws.
  Rng r(7);
  Embedding emb(be(), "e", 400, 10, r);
  const auto w = emb.parameters()[0]->value.to_host();
  double m = 0, v = 0;
  for (float x : w) m += x;
  m /= w.size();
  for (float x : w) v += (x - m) * (x - m);
  v /= w.size();
  BOOST_TEST(std::fabs(m) < 0.06);
  BOOST_TEST(std::fabs(v - 1.0) < 0.08);
  // Linear: U(+-1/sqrt(fan_in)) and actually spread over the range.
  Linear lin(be(), "l", 100, 50, true, r);
  const auto lw = lin.parameters()[0]->value.to_host();
  float mx = 0;
  for (float x : lw) mx = std::max(mx, std::fabs(x));
  BOOST_TEST(mx <= 0.1f);
  BOOST_TEST(mx > 0.095f);
}

BOOST_AUTO_TEST_CASE(rng_is_a_fixed_stream) {
  // The stream is part of reproducibility across machines: pin it.
  Rng r(0);
  const std::uint32_t first = r.next_u32();
  Rng r2(0);
  BOOST_TEST(r2.next_u32() == first);
  Rng r3(1);
  BOOST_TEST(r3.next_u32() != first);
  for (int i = 0; i < 1000; ++i) {
    const float u = r.uniform();
    BOOST_TEST((u >= 0.0f && u < 1.0f));
    BOOST_TEST(r.below(7) < 7u);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
BOOST_AUTO_TEST_SUITE(known_values)

BOOST_AUTO_TEST_CASE(gru_single_step_by_hand) {
  // H = 1, input 1, one step from h0 = 0, weights chosen so the gates are
  // easy: W_ir = 0, W_iz = 0, W_in = 1, biases b_ir = 0 (r = 0.5),
  // b_iz = log(3) (z = 0.75), b_hn = 2, x = 0.5:
  // n = tanh(0.5 + 0.5 * 2) = tanh(1.5); h = (1 - z) n = 0.25 tanh(1.5).
  Rng rng(1);
  Gru gru(be(), "g", 1, 1, 1, rng);
  auto ps = gru.parameters();
  const float wih[3] = {0, 0, 1}, whh[3] = {0, 0, 0};
  const float bih[3] = {0, std::log(3.0f), 0}, bhh[3] = {0, 0, 2};
  ps[0]->value.upload(wih, 3);
  ps[1]->value.upload(whh, 3);
  ps[2]->value.upload(bih, 3);
  ps[3]->value.upload(bhh, 3);
  const float x = 0.5f;
  Buffer xb(be(), 1);
  xb.upload(&x, 1);
  const float* y = gru.forward(xb.data(), SeqShape::from_lengths({1}));
  BOOST_TEST(y[0] == 0.25 * std::tanh(1.5), boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(gru_stack_matches_double_reference) {
  Rng rng(5);
  const int in = 3, H = 4;
  Gru gru(be(), "g", in, H, 2, rng);
  SeqData d = random_seqs(rng, {6, 2, 4}, in);
  const float* y = gru.forward(d.batch.data(), d.shape);
  auto ps = gru.parameters();
  std::vector<std::vector<float>> w;
  for (auto* p : ps) w.push_back(p->value.to_host());
  for (int b = 0; b < 3; ++b) {
    const int L = d.shape.lengths[b];
    std::vector<double> x(d.seqs[b].begin(), d.seqs[b].end());
    auto h1 = ref_gru_layer(x, L, in, H, w[0].data(), w[1].data(), w[2].data(), w[3].data());
    auto h2 = ref_gru_layer(h1, L, H, H, w[4].data(), w[5].data(), w[6].data(), w[7].data());
    const auto got = unpack_sequence(be(), y, d.shape, H, b);
    for (int i = 0; i < L * H; ++i)
      BOOST_TEST(std::fabs(got[i] - h2[i]) <= 2e-6);
    // layer_output(0) is the first layer.
    const auto got1 = unpack_sequence(be(), gru.layer_output(0), d.shape, H, b);
    for (int i = 0; i < L * H; ++i)
      BOOST_TEST(std::fabs(got1[i] - h1[i]) <= 2e-6);
  }
  // Padding frames are zero.
  for (int t = 2; t < 6; ++t)
    for (int j = 0; j < H; ++j) BOOST_TEST(y[(t * 3 + 1) * H + j] == 0.0f);
  // The whole batch in one download: each sequence as unpack_sequence gives it.
  const auto all = unpack_sequences(be(), y, d.shape, H);
  BOOST_TEST(all.size() == 3u);
  for (int b = 0; b < 3; ++b) BOOST_TEST((all[b] == unpack_sequence(be(), y, d.shape, H, b)), "sequence " << b);
}

BOOST_AUTO_TEST_CASE(conv_matches_direct_sum) {
  Rng rng(3);
  Conv1dOptions o{.in_channels = 3, .out_channels = 2, .kernel = 4, .stride = 2,
                  .padding = 3, .bias = true};
  Conv1d conv(be(), "c", o, rng);
  SeqData d = random_seqs(rng, {9, 5}, 3);
  const SeqShape os = conv.output_shape(d.shape);
  const float* y = conv.forward(d.batch.data(), d.shape);
  const auto w = conv.parameters()[0]->value.to_host();
  const auto bias = conv.parameters()[1]->value.to_host();
  for (int b = 0; b < 2; ++b) {
    const auto got = unpack_sequence(be(), y, os, 2, b);
    const int L = d.shape.lengths[b];
    for (int t = 0; t < os.lengths[b]; ++t)
      for (int c = 0; c < 2; ++c) {
        double s = bias[c];
        for (int f = 0; f < 3; ++f)
          for (int k = 0; k < 4; ++k) {
            const int src = t * 2 - 3 + k;
            if (src >= 0 && src < L) s += w[(c * 3 + f) * 4 + k] * d.seqs[b][src * 3 + f];
          }
        BOOST_TEST(std::fabs(got[t * 2 + c] - s) <= 1e-5);
      }
  }
}

BOOST_AUTO_TEST_CASE(attention_by_hand) {
  // input 1-d, hidden 1. W = 0, b_W = 0 -> tanh(0) = 0 for every frame, so
  // the scores are all b_U and the weights uniform: the output is the mean.
  Rng rng(1);
  Attention att(be(), "a", 1, 1, rng);
  auto ps = att.parameters();
  const float zero = 0.0f, ub = 3.0f;
  ps[0]->value.upload(&zero, 1);
  ps[1]->value.upload(&zero, 1);
  ps[3]->value.upload(&ub, 1);
  const std::vector<float> s0 = {1, 2, 6};
  const std::vector<float> s1 = {4};
  const SeqShape s = SeqShape::from_lengths({3, 1});
  Buffer x;
  pack_sequences(be(), {s0.data(), s1.data()}, s, 1, x);
  const float* y = att.forward(x.data(), s);
  BOOST_TEST(y[0] == 3.0f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(y[1] == 4.0f);
  // W = 1, b_W = 0, U = 1: scores tanh(x_t); weights softmax of tanh.
  const float one = 1.0f;
  ps[0]->value.upload(&one, 1);
  ps[2]->value.upload(&one, 1);
  y = att.forward(x.data(), s);
  double e[3], z = 0, out = 0;
  for (int t = 0; t < 3; ++t) z += (e[t] = std::exp(std::tanh(s0[t])));
  for (int t = 0; t < 3; ++t) out += e[t] / z * s0[t];
  BOOST_TEST(y[0] == out, boost::test_tools::tolerance(1e-6));
  const float* a = att.weights();
  BOOST_TEST(a[0] + a[2] + a[4] == 1.0f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(a[3] == 0.0f);  // padding frame of sequence 1
  BOOST_TEST(a[1] == 1.0f);
}

BOOST_AUTO_TEST_CASE(contrastive_loss_by_hand) {
  // n = 2, dim 2: u = (1,0),(0,1); v = (1,0),(0.6,0.8).
  // M = [[1, 0.6], [0, 0.8]].
  // (0,1): max(0, .2 + .6 - .8) = 0,  max(0, .2 + .6 - 1) = 0
  // (1,0): max(0, .2 + 0 - 1) = 0,    max(0, .2 + 0 - .8) = 0    -> 0
  // with margin 0.5: (0,1): .3 + .1; (1,0): 0 + 0 -> 0.4 / 4 = 0.1
  const float u[4] = {1, 0, 0, 1}, v[4] = {1, 0, 0.6f, 0.8f};
  Buffer ub(be(), 4), vb(be(), 4);
  ub.upload(u, 4);
  vb.upload(v, 4);
  ContrastiveLoss loss(be());
  BOOST_TEST(loss.forward(ub.data(), vb.data(), 2, 2) == 0.0f);
  ContrastiveLoss wide(be(), 0.5f);
  BOOST_TEST(wide.forward(ub.data(), vb.data(), 2, 2) == 0.1f,
             boost::test_tools::tolerance(1e-6f));
  // dL/dM: (0,1) active twice -> +2/4; M[1,1] -= 1/4 (first), M[0,0] -= 1/4.
  const float* m = wide.similarities();
  BOOST_TEST(m[1] == 0.6f, boost::test_tools::tolerance(1e-6f));
  float du[4], dv[4];
  wide.backward(du, dv);
  // dU = dM V: dM = [[-.25, .5], [0, -.25]] -> row0 = -.25 v0 + .5 v1 = (.05, .4)
  BOOST_TEST(du[0] == 0.05f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(du[1] == 0.4f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(du[2] == -0.15f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(du[3] == -0.2f, boost::test_tools::tolerance(1e-6f));
  // dV = dM^T U: col0 of dM = (-.25, 0) -> dv0 = -.25 u0 = (-.25, 0);
  // col1 = (.5, -.25) -> dv1 = .5 u0 - .25 u1 = (.5, -.25)
  BOOST_TEST(dv[0] == -0.25f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(dv[1] == 0.0f);
  BOOST_TEST(dv[2] == 0.5f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(dv[3] == -0.25f, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(l2norm_by_hand) {
  const float x[4] = {3, 4, 0, 0};
  Buffer xb(be(), 4);
  xb.upload(x, 4);
  L2Norm norm(be());
  const float* y = norm.forward(xb.data(), 2, 2);
  BOOST_TEST(y[0] == 0.6f);
  BOOST_TEST(y[1] == 0.8f);
  BOOST_TEST(y[2] == 0.0f);  // the zero row stays zero (eps), no NaN
  BOOST_TEST(y[3] == 0.0f);
}

BOOST_AUTO_TEST_CASE(nan_reaches_the_caller) {
  float u[4] = {1, 0, 0, 1};
  const float v[4] = {1, 0, 0, 1};
  u[1] = std::nanf("");
  Buffer ub(be(), 4), vb(be(), 4);
  ub.upload(u, 4);
  vb.upload(v, 4);
  ContrastiveLoss loss(be());
  BOOST_TEST(std::isnan(loss.forward(ub.data(), vb.data(), 2, 2)));
  Rng rng(1);
  Linear lin(be(), "l", 2, 3, true, rng);
  lin.forward(ub.data(), 2);
  zero_grad(lin.parameters());
  const float dy[6] = {1, 1, 1, 1, 1, 1};
  Buffer dyb(be(), 6);
  dyb.upload(dy, 6);
  lin.backward(dyb.data(), nullptr);
  BOOST_TEST(!grads_finite(lin.parameters()));
  BOOST_TEST(std::isnan(grad_norm(lin.parameters())));
  BOOST_TEST(values_finite(lin.parameters()));
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
BOOST_AUTO_TEST_SUITE(gradients)

BOOST_AUTO_TEST_CASE(linear_with_and_without_bias) {
  for (bool bias : {true, false}) {
    Rng rng(11);
    Linear lin(be(), "lin", 5, 4, bias, rng);
    const std::size_t rows = 3;
    auto xh = random_vec(rng, rows * 5);
    Buffer x(be(), xh.size());
    x.upload(xh.data(), xh.size());
    const auto c = random_vec(rng, rows * 4);
    auto objective = [&] { return dot_d(lin.forward(x.data(), rows), c.data(), c.size()); };
    objective();
    zero_grad(lin.parameters());
    Buffer dy(be(), c.size()), dx(be(), xh.size());
    dy.upload(c.data(), c.size());
    lin.backward(dy.data(), dx.data());
    check_params("linear", lin.parameters(), objective, rng);
    fd_check("linear dx", x.data(), dx.to_host(), objective, rng);
    BOOST_TEST(lin.parameters().size() == (bias ? 2u : 1u));
  }
}

BOOST_AUTO_TEST_CASE(conv1d_mixed_lengths) {
  Rng rng(12);
  Conv1dOptions o{.in_channels = 3, .out_channels = 4, .kernel = 4, .stride = 2,
                  .padding = 2, .bias = true};
  Conv1d conv(be(), "conv", o, rng);
  SeqData d = random_seqs(rng, {9, 4, 7}, 3);
  const SeqShape os = conv.output_shape(d.shape);
  const auto c = seq_weights(rng, os, 4);
  auto objective = [&] { return dot_d(conv.forward(d.batch.data(), d.shape), c.data(), c.size()); };
  objective();
  zero_grad(conv.parameters());
  Buffer dy(be(), c.size()), dx(be(), d.batch.size());
  dy.upload(c.data(), c.size());
  conv.backward(dy.data(), dx.data());
  check_params("conv", conv.parameters(), objective, rng, 24);
  fd_check("conv dx", d.batch.data(), dx.to_host(), objective, rng, 24);
}

BOOST_AUTO_TEST_CASE(gru_stack_mixed_lengths) {
  Rng rng(13);
  Gru gru(be(), "gru", 3, 5, 2, rng);
  SeqData d = random_seqs(rng, {7, 3, 5, 1}, 3);
  const auto c = seq_weights(rng, d.shape, 5);
  auto objective = [&] { return dot_d(gru.forward(d.batch.data(), d.shape), c.data(), c.size()); };
  objective();
  zero_grad(gru.parameters());
  Buffer dy(be(), c.size()), dx(be(), d.batch.size());
  dy.upload(c.data(), c.size());
  gru.backward(dy.data(), dx.data());
  check_params("gru", gru.parameters(), objective, rng, 24);
  fd_check("gru dx", d.batch.data(), dx.to_host(), objective, rng, 24);
  // dx is zero on padding frames.
  const auto dxh = dx.to_host();
  for (int t = 3; t < 7; ++t)
    for (int j = 0; j < 3; ++j) BOOST_TEST(dxh[(t * 4 + 1) * 3 + j] == 0.0f);
}

BOOST_AUTO_TEST_CASE(gru_with_zero_layers_is_identity) {
  Rng rng(14);
  Gru gru(be(), "gru", 3, 5, 0, rng);
  BOOST_TEST(gru.parameters().empty());
  BOOST_TEST(gru.output_size() == 3);
  SeqData d = random_seqs(rng, {2, 1}, 3);
  BOOST_TEST(gru.forward(d.batch.data(), d.shape) == d.batch.data());
  std::vector<float> dy(d.batch.size(), 1.0f);
  Buffer dyb(be(), dy.size()), dx(be(), dy.size());
  dyb.upload(dy.data(), dy.size());
  gru.backward(dyb.data(), dx.data());
  const auto dxh = dx.to_host();
  BOOST_TEST(dxh[0] == 1.0f);
  BOOST_TEST(dxh[(1 * 2 + 1) * 3] == 0.0f);  // t = 1 of the length-1 sequence: padding
}

BOOST_AUTO_TEST_CASE(embedding_rows) {
  Rng rng(15);
  Embedding emb(be(), "emb", 6, 4, rng);
  const SeqShape s = SeqShape::from_lengths({3, 2});
  const std::vector<std::int32_t> ids = {1, 5, 1, 0, 2, 99};  // 99: padding, ignored
  const auto c = seq_weights(rng, s, 4);
  auto objective = [&] { return dot_d(emb.forward(ids.data(), s), c.data(), c.size()); };
  objective();
  zero_grad(emb.parameters());
  Buffer dy(be(), c.size());
  dy.upload(c.data(), c.size());
  emb.backward(dy.data());
  check_params("embedding", emb.parameters(), objective, rng, 24);
  // Row 1 is used twice: its gradient is the sum of both frames' weights.
  const auto g = emb.parameters()[0]->grad.to_host();
  BOOST_TEST(g[4] == c[0] + c[8], boost::test_tools::tolerance(1e-6f));
  const std::vector<std::int32_t> bad = {1, 6, 0, 0, 0, 0};
  BOOST_CHECK_THROW(emb.forward(bad.data(), s), Error);
}

BOOST_AUTO_TEST_CASE(attention_mixed_lengths) {
  Rng rng(16);
  Attention att(be(), "att", 4, 3, rng);
  SeqData d = random_seqs(rng, {5, 2, 4}, 4);
  const auto c = random_vec(rng, 3 * 4);
  auto objective = [&] { return dot_d(att.forward(d.batch.data(), d.shape), c.data(), c.size()); };
  objective();
  zero_grad(att.parameters());
  Buffer dy(be(), c.size()), dx(be(), d.batch.size());
  dy.upload(c.data(), c.size());
  att.backward(dy.data(), dx.data());
  check_params("attention", att.parameters(), objective, rng, 16);
  fd_check("attention dx", d.batch.data(), dx.to_host(), objective, rng, 24);
}

BOOST_AUTO_TEST_CASE(l2norm_rows) {
  Rng rng(17);
  L2Norm norm(be());
  auto xh = random_vec(rng, 3 * 5);
  Buffer x(be(), xh.size());
  x.upload(xh.data(), xh.size());
  const auto c = random_vec(rng, xh.size());
  auto objective = [&] { return dot_d(norm.forward(x.data(), 3, 5), c.data(), c.size()); };
  objective();
  Buffer dy(be(), c.size()), dx(be(), c.size());
  dy.upload(c.data(), c.size());
  norm.backward(dy.data(), dx.data());
  fd_check("l2norm dx", x.data(), dx.to_host(), objective, rng, 15, 1e-3f);
}

BOOST_AUTO_TEST_CASE(contrastive_loss_inputs) {
  Rng rng(18);
  const std::size_t n = 5, dim = 4;
  auto uh = random_vec(rng, n * dim), vh = random_vec(rng, n * dim);
  Buffer u(be(), uh.size()), v(be(), vh.size());
  u.upload(uh.data(), uh.size());
  v.upload(vh.data(), vh.size());
  // Margin 1.5 keeps most hinges open, so the check exercises them.
  ContrastiveLoss loss(be(), 1.5f);
  auto objective = [&] { return static_cast<double>(loss.forward(u.data(), v.data(), n, dim)); };
  BOOST_TEST(objective() > 0.0);
  Buffer du(be(), uh.size()), dv(be(), vh.size());
  loss.backward(du.data(), dv.data());
  // Piecewise linear: small h, exact away from the kinks.
  fd_check("loss du", u.data(), du.to_host(), objective, rng, 20, 1e-3f);
  fd_check("loss dv", v.data(), dv.to_host(), objective, rng, 20, 1e-3f);
}

// conv -> GRU stack -> attention -> L2 norm for speech, embedding -> GRU ->
// attention -> L2 for text, and the loss between them: the whole chain the
// trainer runs, with mixed lengths on both sides.
struct TinyModel {
  Rng rng{21};
  Conv1d conv{be(), "speech.conv",
              {.in_channels = 3, .out_channels = 4, .kernel = 3, .stride = 2, .padding = 2},
              rng};
  Gru sgru{be(), "speech.gru", 4, 5, 2, rng};
  Attention satt{be(), "s2t.attn", 5, 3, rng};
  L2Norm snorm{be()};
  Embedding emb{be(), "text.embed", 7, 4, rng};
  Gru tgru{be(), "text.gru", 4, 5, 1, rng};
  Attention tatt{be(), "t2s.attn", 5, 3, rng};
  L2Norm tnorm{be()};
  ContrastiveLoss loss{be(), 0.9f};
  SeqData speech;
  SeqShape text_shape;
  std::vector<std::int32_t> text;
  SeqShape conv_shape;
  Buffer de_s, de_t, d1, d2, d3, dxs;

  TinyModel() {
    speech = random_seqs(rng, {11, 6, 9, 3}, 3);
    conv_shape = conv.output_shape(speech.shape);
    text_shape = SeqShape::from_lengths({4, 6, 2, 5});
    text.resize(text_shape.rows());
    for (auto& id : text) id = static_cast<std::int32_t>(rng.below(7));
  }
  std::vector<Parameter*> params() {
    std::vector<Parameter*> ps;
    for (auto* l : {&conv}) for (auto* p : l->parameters()) ps.push_back(p);
    for (auto* p : sgru.parameters()) ps.push_back(p);
    for (auto* p : satt.parameters()) ps.push_back(p);
    for (auto* p : emb.parameters()) ps.push_back(p);
    for (auto* p : tgru.parameters()) ps.push_back(p);
    for (auto* p : tatt.parameters()) ps.push_back(p);
    return ps;
  }
  double forward() {
    const float* s = conv.forward(speech.batch.data(), speech.shape);
    s = sgru.forward(s, conv_shape);
    s = satt.forward(s, conv_shape);
    s = snorm.forward(s, 4, 5);
    const float* t = emb.forward(text.data(), text_shape);
    t = tgru.forward(t, text_shape);
    t = tatt.forward(t, text_shape);
    t = tnorm.forward(t, 4, 5);
    return loss.forward(s, t, 4, 5);
  }
  void backward() {
    de_s.resize(be(), 20);
    de_t.resize(be(), 20);
    loss.backward(de_s.data(), de_t.data());
    d1.resize(be(), 20);
    snorm.backward(de_s.data(), d1.data());
    d2.resize(be(), conv_shape.rows() * 5);
    satt.backward(d1.data(), d2.data());
    d3.resize(be(), conv_shape.rows() * 4);
    sgru.backward(d2.data(), d3.data());
    dxs.resize(be(), speech.batch.size());
    conv.backward(d3.data(), dxs.data());
    tnorm.backward(de_t.data(), d1.data());
    d2.resize(be(), text_shape.rows() * 5);
    tatt.backward(d1.data(), d2.data());
    d3.resize(be(), text_shape.rows() * 4);
    tgru.backward(d2.data(), d3.data());
    emb.backward(d3.data());
  }
};

BOOST_AUTO_TEST_CASE(whole_encoders_and_loss) {
  TinyModel m;
  const double l = m.forward();
  BOOST_TEST(l > 0.0);
  zero_grad(m.params());
  m.backward();
  auto objective = [&] { return m.forward(); };
  check_params("model", m.params(), objective, m.rng, 8, 1e-3f);
  fd_check("model speech input", m.speech.batch.data(), m.dxs.to_host(), objective, m.rng, 24,
           1e-3f);
}

BOOST_AUTO_TEST_CASE(a_wrong_gradient_is_caught) {
  // The check itself must be able to fail: corrupt one analytic gradient
  // element of the GRU by 10% and expect it to be flagged.
  Rng rng(13);
  Gru gru(be(), "gru", 3, 5, 1, rng);
  SeqData d = random_seqs(rng, {6, 4}, 3);
  const auto c = seq_weights(rng, d.shape, 5);
  auto objective = [&] { return dot_d(gru.forward(d.batch.data(), d.shape), c.data(), c.size()); };
  objective();
  zero_grad(gru.parameters());
  Buffer dy(be(), c.size());
  dy.upload(c.data(), c.size());
  gru.backward(dy.data(), nullptr);
  Parameter* w = gru.parameters()[1];
  auto an = w->grad.to_host();
  std::size_t big = 0;
  for (std::size_t i = 0; i < an.size(); ++i)
    if (std::fabs(an[i]) > std::fabs(an[big])) big = i;
  BOOST_REQUIRE(std::fabs(an[big]) > 0.05f);
  an[big] *= 1.1f;
  std::vector<float> one = {an[big]};
  float* v = w->value.data() + big;
  const FdResult r = fd_check("corrupted", v, one, objective, rng, 1, 5e-3f, 5e-4, 2e-2, false);
  BOOST_TEST(r.failed == 1);
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
BOOST_AUTO_TEST_SUITE(padding_invariance)

// Runs the speech encoder on a batch and on each sequence alone: outputs and
// input gradients must be the same bits; parameter gradients of the batch
// must equal the sum of the single-sequence ones (up to summation order).
BOOST_AUTO_TEST_CASE(speech_encoder_alone_vs_batched) {
  Rng init(31);
  Conv1d conv(be(), "speech.conv", {.in_channels = 13}, init);
  Gru gru(be(), "speech.gru", 64, 32, 2, init);
  Attention att(be(), "s2i.attn", 32, 16, init);
  L2Norm norm(be());
  std::vector<Parameter*> ps = conv.parameters();
  for (auto* p : gru.parameters()) ps.push_back(p);
  for (auto* p : att.parameters()) ps.push_back(p);

  Rng rng(32);
  SeqData d = random_seqs(rng, {40, 13, 57, 1, 33}, 13);
  const int B = d.shape.batch;
  const auto dout = random_vec(rng, static_cast<std::size_t>(B) * 32);
  struct Result {
    std::vector<float> out, dx;
  };
  // Runs a batch; returns per-sequence output rows and input gradients.
  auto run = [&](SeqData& data, const float* dy, std::vector<Result>& res) {
    const SeqShape cs = conv.output_shape(data.shape);
    const int nb = data.shape.batch;
    const float* e =
        norm.forward(att.forward(gru.forward(conv.forward(data.batch.data(), data.shape), cs), cs),
                     static_cast<std::size_t>(nb), 32);
    res.assign(static_cast<std::size_t>(nb), {});
    for (int b = 0; b < nb; ++b) res[b].out.assign(e + b * 32, e + (b + 1) * 32);
    Buffer dyb(be(), static_cast<std::size_t>(nb) * 32), g1(be(), nb * 32),
        g2(be(), cs.rows() * 32), g3(be(), cs.rows() * 64), dx(be(), data.batch.size());
    dyb.upload(dy, dyb.size());
    norm.backward(dyb.data(), g1.data());
    att.backward(g1.data(), g2.data());
    gru.backward(g2.data(), g3.data());
    conv.backward(g3.data(), dx.data());
    for (int b = 0; b < nb; ++b) res[b].dx = unpack_sequence(be(), dx.data(), data.shape, 13, b);
  };

  std::vector<Result> batched;
  zero_grad(ps);
  run(d, dout.data(), batched);
  std::vector<std::vector<float>> batch_grads;
  for (auto* p : ps) batch_grads.push_back(p->grad.to_host());

  // Single runs, one at a time: their gradients summed, and the sums of
  // their absolute values (the scale of the rounding in the sum).
  std::vector<std::vector<double>> sum_grads(ps.size()), abs_grads(ps.size());
  for (std::size_t i = 0; i < ps.size(); ++i) {
    sum_grads[i].assign(ps[i]->numel(), 0.0);
    abs_grads[i].assign(ps[i]->numel(), 0.0);
  }
  for (int b = 0; b < B; ++b) {
    zero_grad(ps);
    SeqData one;
    one.shape = SeqShape::from_lengths({d.shape.lengths[b]});
    one.dim = 13;
    one.seqs = {d.seqs[b]};
    one.pack();
    std::vector<Result> alone;
    run(one, dout.data() + b * 32, alone);
    BOOST_TEST_CONTEXT("sequence " << b << " (length " << d.shape.lengths[b] << ")") {
      check_same("output", alone[0].out.data(), batched[b].out.data(), 32);
      check_same("input gradient", alone[0].dx.data(), batched[b].dx.data(), alone[0].dx.size());
    }
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const auto g = ps[i]->grad.to_host();
      for (std::size_t j = 0; j < g.size(); ++j) {
        sum_grads[i][j] += g[j];
        abs_grads[i][j] += std::fabs(g[j]);
      }
    }
  }
  // The batch's parameter gradient is the sum of the single ones, summed in
  // another order (and, with BLAS, from rows rounded as above). An element
  // can be a near-cancelling sum, so compare at the parameter's scale: the
  // largest error against the largest sum of absolute contributions, 1e-5.
  // U's bias has a gradient that is zero by construction (softmax gradients
  // sum to 0 over each sequence): both sides are rounding noise, so every
  // parameter also gets a floor of 1e-7 of the largest gradient scale.
  double global = 0;
  for (const auto& a : abs_grads)
    for (double x : a) global = std::max(global, x);
  for (std::size_t i = 0; i < ps.size(); ++i) {
    double err = 0, scale = 0;
    for (std::size_t j = 0; j < sum_grads[i].size(); ++j) {
      err = std::max(err, std::fabs(batch_grads[i][j] - sum_grads[i][j]));
      scale = std::max(scale, abs_grads[i][j]);
    }
    BOOST_TEST_CONTEXT(ps[i]->name) { BOOST_TEST(err <= 1e-5 * scale + 1e-7 * global); }
  }
}

BOOST_AUTO_TEST_CASE(text_encoder_alone_vs_batched) {
  Rng init(41);
  Embedding emb(be(), "text.embed", 30, 8, init);
  Gru gru(be(), "text.gru", 8, 16, 1, init);
  Attention att(be(), "t2i.attn", 16, 8, init);
  const SeqShape s = SeqShape::from_lengths({9, 2, 14, 5});
  std::vector<std::int32_t> ids(s.rows());
  for (auto& id : ids) id = static_cast<std::int32_t>(init.below(30));
  const float* y = att.forward(gru.forward(emb.forward(ids.data(), s), s), s);
  std::vector<float> batched(y, y + 4 * 16);
  for (int b = 0; b < 4; ++b) {
    const SeqShape one = SeqShape::from_lengths({s.lengths[b]});
    std::vector<std::int32_t> mine(static_cast<std::size_t>(s.lengths[b]));
    for (int t = 0; t < s.lengths[b]; ++t) mine[t] = ids[t * 4 + b];
    const float* o = att.forward(gru.forward(emb.forward(mine.data(), one), one), one);
    BOOST_TEST_CONTEXT("sequence " << b) { check_same("output", o, batched.data() + b * 16, 16); }
  }
}

BOOST_AUTO_TEST_CASE(padding_content_does_not_matter) {
  // Garbage (finite) in the input's padding frames and in dy's padding
  // frames changes nothing.
  Rng rng(51);
  Gru gru(be(), "g", 4, 6, 2, rng);
  SeqData d = random_seqs(rng, {5, 2}, 4);
  const auto clean = std::vector<float>(gru.forward(d.batch.data(), d.shape),
                                        gru.forward(d.batch.data(), d.shape) + d.shape.rows() * 6);
  auto dy = seq_weights(rng, d.shape, 6);
  Buffer dyb(be(), dy.size()), dx1(be(), d.batch.size()), dx2(be(), d.batch.size());
  dyb.upload(dy.data(), dy.size());
  zero_grad(gru.parameters());
  gru.backward(dyb.data(), dx1.data());
  const auto g1 = gru.parameters()[0]->grad.to_host();
  // Now dirty both paddings.
  float* x = d.batch.data();
  for (int t = 2; t < 5; ++t)
    for (int j = 0; j < 4; ++j) x[(t * 2 + 1) * 4 + j] = 1000.0f + j;
  for (int t = 2; t < 5; ++t)
    for (int j = 0; j < 6; ++j) dy[(t * 2 + 1) * 6 + j] = 77.0f;
  dyb.upload(dy.data(), dy.size());
  const float* y = gru.forward(d.batch.data(), d.shape);
  BOOST_TEST(same_bits(y, clean.data(), clean.size()));
  zero_grad(gru.parameters());
  gru.backward(dyb.data(), dx2.data());
  const auto g2 = gru.parameters()[0]->grad.to_host();
  BOOST_TEST(same_bits(g1.data(), g2.data(), g1.size()));
  const auto a = dx1.to_host(), b = dx2.to_host();
  BOOST_TEST(same_bits(a.data(), b.data(), a.size()));
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
BOOST_AUTO_TEST_SUITE(optimiser_and_io)

BOOST_AUTO_TEST_CASE(adam_matches_pytorch_formula) {
  Rng rng(61);
  Linear lin(be(), "l", 2, 1, false, rng);
  Parameter* w = lin.parameters()[0];
  const float w0[2] = {0.5f, -0.25f};
  w->value.upload(w0, 2);
  Adam adam(lin.parameters(), {.lr = 0.1f});
  // Two steps with gradients g1 = (1, -2), g2 = (0.5, 0.5), in double:
  const double g[2][2] = {{1, -2}, {0.5, 0.5}};
  double p[2] = {0.5, -0.25}, m[2] = {0, 0}, v[2] = {0, 0};
  for (int s = 0; s < 2; ++s) {
    const float gf[2] = {static_cast<float>(g[s][0]), static_cast<float>(g[s][1])};
    w->grad.upload(gf, 2);
    adam.step();
    for (int i = 0; i < 2; ++i) {
      m[i] = 0.9 * m[i] + 0.1 * g[s][i];
      v[i] = 0.999 * v[i] + 0.001 * g[s][i] * g[s][i];
      const double mh = m[i] / (1 - std::pow(0.9, s + 1));
      const double vh = v[i] / (1 - std::pow(0.999, s + 1));
      p[i] -= 0.1 * mh / (std::sqrt(vh) + 1e-8);
    }
  }
  const auto got = w->value.to_host();
  BOOST_TEST(got[0] == p[0], boost::test_tools::tolerance(1e-6));
  BOOST_TEST(got[1] == p[1], boost::test_tools::tolerance(1e-6));
  BOOST_TEST(adam.steps() == 2);
  // First Adam step moves each weight by ~lr against the gradient's sign.
  BOOST_TEST(p[0] < 0.5 - 0.15);
}

BOOST_AUTO_TEST_CASE(clipping_scales_the_global_norm) {
  Rng rng(62);
  Linear a(be(), "a", 2, 1, true, rng);  // weight 1x2, bias 1
  auto ps = a.parameters();
  const float gw[2] = {3, 0}, gb[1] = {4};
  ps[0]->grad.upload(gw, 2);
  ps[1]->grad.upload(gb, 1);
  BOOST_TEST(grad_norm(ps) == 5.0f);
  BOOST_TEST(clip_grad_norm(ps, 10.0f) == 5.0f);  // under the limit: untouched
  BOOST_TEST(ps[1]->grad.to_host()[0] == 4.0f);
  BOOST_TEST(clip_grad_norm(ps, 2.0f) == 5.0f);   // returns the norm before
  BOOST_TEST(grad_norm(ps) == 2.0f, boost::test_tools::tolerance(1e-5f));
  BOOST_TEST(ps[0]->grad.to_host()[0] == 3.0f * 2.0f / (5.0f + 1e-6f));
}

BOOST_AUTO_TEST_CASE(parameters_and_adam_state_round_trip) {
  TempDir tmp;
  Rng rng(63);
  Gru gru(be(), "speech.gru", 3, 4, 2, rng);
  Attention att(be(), "s2i.attn", 4, 2, rng);
  std::vector<Parameter*> ps = gru.parameters();
  for (auto* p : att.parameters()) ps.push_back(p);
  Adam adam(ps, {.lr = 2e-4f});
  for (int s = 0; s < 3; ++s) {
    for (auto* p : ps) {
      auto g = random_vec(rng, p->numel());
      p->grad.upload(g.data(), g.size());
    }
    adam.step();
  }
  {
    ArchiveWriter out(tmp / "model.sbt");
    save_parameters(out, ps);
    adam.save(out, "opt.si.");
    out.close();
  }
  const auto records = read_archive(tmp / "model.sbt");
  BOOST_TEST(records.front().key == "speech.gru.weight_ih_l0");
  Rng other(999);
  Gru gru2(be(), "speech.gru", 3, 4, 2, other);
  Attention att2(be(), "s2i.attn", 4, 2, other);
  std::vector<Parameter*> ps2 = gru2.parameters();
  for (auto* p : att2.parameters()) ps2.push_back(p);
  load_parameters(records, ps2);
  Adam adam2(ps2, {.lr = 2e-4f});
  adam2.load(records, "opt.si.");
  BOOST_TEST(adam2.steps() == 3);
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const auto a = ps[i]->value.to_host(), b = ps2[i]->value.to_host();
    BOOST_TEST(same_bits(a.data(), b.data(), a.size()));
  }
  // One more identical step on both: the same bits (the moments came back).
  for (std::size_t i = 0; i < ps.size(); ++i) {
    auto g = random_vec(rng, ps[i]->numel());
    ps[i]->grad.upload(g.data(), g.size());
    ps2[i]->grad.upload(g.data(), g.size());
  }
  adam.step();
  adam2.step();
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const auto a = ps[i]->value.to_host(), b = ps2[i]->value.to_host();
    BOOST_TEST(same_bits(a.data(), b.data(), a.size()));
  }
  // A fresh Adam (no state) would have stepped differently.
  Adam fresh(ps2, {.lr = 2e-4f});
  const auto before = ps2[0]->value.to_host();
  fresh.step();
  const auto after = ps2[0]->value.to_host();
  BOOST_TEST(!same_bits(before.data(), after.data(), before.size()));
}

BOOST_AUTO_TEST_CASE(optimiser_state_with_non_finite_moments_is_refused) {
  TempDir tmp;
  Rng rng(65);
  Linear lin(be(), "i2s", 4, 3, true, rng);
  Adam adam(lin.parameters());
  {
    ArchiveWriter out(tmp / "good.sbt");
    adam.save(out, "opt.");
    out.close();
  }
  const auto good = read_archive(tmp / "good.sbt");
  Adam ok(lin.parameters());
  BOOST_CHECK_NO_THROW(ok.load(good, "opt."));
  // The same state with one moment poisoned: NaN, infinite, or a negative
  // second moment. Each is refused, naming the record.
  const std::string weight = lin.parameters()[0]->name;
  const std::vector<std::pair<std::string, float>> poisons = {
      {weight + ".exp_avg", std::nanf("")},
      {weight + ".exp_avg", INFINITY},
      {weight + ".exp_avg_sq", -1.0f}};
  for (const auto& [key, value] : poisons) {
    const std::string path = tmp / "bad.sbt";
    {
      ArchiveWriter out(path);
      for (const Record& r : good) {
        std::vector<unsigned char> bytes(r.tensor.bytes(), r.tensor.bytes() + r.tensor.nbytes());
        if (r.key == "opt." + key) std::memcpy(bytes.data() + 4 * sizeof(float), &value, sizeof value);
        out.write(r.key, r.tensor.dtype(), r.tensor.shape(), bytes.data());
      }
      out.close();
    }
    Adam bad(lin.parameters());
    BOOST_CHECK_EXCEPTION(bad.load(read_archive(path), "opt."), Error, [&](const Error& e) {
      return std::string(e.what()).find("opt." + key) != std::string::npos &&
             std::string(e.what()).find("element 4") != std::string::npos;
    });
  }
}

BOOST_AUTO_TEST_CASE(loading_checks_names_and_shapes) {
  TempDir tmp;
  Rng rng(64);
  Linear lin(be(), "i2s", 4, 3, true, rng);
  {
    ArchiveWriter out(tmp / "a.sbt");
    save_parameters(out, lin.parameters());
    out.close();
  }
  const auto records = read_archive(tmp / "a.sbt");
  Linear wrong_shape(be(), "i2s", 5, 3, true, rng);
  BOOST_CHECK_THROW(load_parameters(records, wrong_shape.parameters()), Error);
  Linear wrong_name(be(), "i2t", 4, 3, true, rng);
  BOOST_CHECK_THROW(load_parameters(records, wrong_name.parameters()), Error);
  Adam adam(lin.parameters());
  BOOST_CHECK_THROW(adam.load(records, "opt."), Error);
  try {
    load_parameters(records, wrong_name.parameters());
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("i2t.weight") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(results_do_not_depend_on_the_thread_count) {
  // Same seed, same build: the loss and every gradient are the same bits
  // with 1 and with 2 threads (sb's kernel splits products by columns; each
  // element is still one sum in one order). With OpenBLAS products the
  // split may round differently: a tolerance there.
  // Sizes large enough that products are split between threads.
  std::vector<std::vector<float>> grads[2];
  std::vector<float> outs[2];
  for (int run = 0; run < 2; ++run) {
    set_num_threads(run + 1);
    Rng init(81);
    Conv1d conv(be(), "speech.conv", {}, init);
    Gru gru(be(), "speech.gru", 64, 128, 2, init);
    Attention att(be(), "s2i.attn", 128, 64, init);
    Rng data(82);
    SeqData d = random_seqs(data, {60, 41, 57, 23, 60, 12}, 13);
    const SeqShape cs = conv.output_shape(d.shape);
    const float* y = att.forward(gru.forward(conv.forward(d.batch.data(), d.shape), cs), cs);
    outs[run].assign(y, y + 6 * 128);
    std::vector<Parameter*> ps = conv.parameters();
    for (auto* p : gru.parameters()) ps.push_back(p);
    for (auto* p : att.parameters()) ps.push_back(p);
    zero_grad(ps);
    const auto c = random_vec(data, 6 * 128);
    Buffer dy(be(), c.size()), g1(be(), cs.rows() * 128), g2(be(), cs.rows() * 64);
    dy.upload(c.data(), c.size());
    att.backward(dy.data(), g1.data());
    gru.backward(g1.data(), g2.data());
    conv.backward(g2.data(), nullptr);
    for (auto* p : ps) grads[run].push_back(p->grad.to_host());
  }
  set_num_threads(1);
  const bool exact = cpu_backend().row_independent_products();
  if (exact)
    BOOST_TEST(same_bits(outs[0].data(), outs[1].data(), outs[0].size()));
  else
    BOOST_TEST(rel_diff(outs[1].data(), outs[0].data(), outs[0].size()) < 1e-5);
  // (Without exactness: U's bias gradient is zero by construction, pure
  // rounding noise, so differences are measured against the largest
  // gradient of all.)
  double global = 0;
  for (const auto& g : grads[0])
    for (float x : g) global = std::max(global, static_cast<double>(std::fabs(x)));
  for (std::size_t i = 0; i < grads[0].size(); ++i) {
    if (exact) {
      BOOST_TEST(same_bits(grads[0][i].data(), grads[1][i].data(), grads[0][i].size()));
    } else {
      double err = 0;
      for (std::size_t j = 0; j < grads[0][i].size(); ++j)
        err = std::max(err, static_cast<double>(std::fabs(grads[0][i][j] - grads[1][i][j])));
      BOOST_TEST(err <= 1e-5 * global);
    }
  }
}

BOOST_AUTO_TEST_CASE(training_reduces_the_loss) {
  // End to end: a few Adam steps on a fixed batch lower the loss.
  gradients::TinyModel m;
  auto ps = m.params();
  Adam adam(ps, {.lr = 1e-2f});
  const double first = m.forward();
  double last = first;
  for (int s = 0; s < 30; ++s) {
    zero_grad(ps);
    last = m.forward();
    m.backward();
    BOOST_REQUIRE(std::isfinite(clip_grad_norm(ps, 2.0f)));
    adam.step();
  }
  BOOST_TEST(last < 0.5 * first);
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
// Comparison with PyTorch itself, when /usr/bin/python3 can import torch.
BOOST_AUTO_TEST_SUITE(pytorch)

namespace {
const char* kTorchScript = R"PY(
import sys, numpy as np
try:
    import torch
except Exception as e:
    print("NO_TORCH", e); sys.exit(0)
torch.set_default_dtype(torch.float64)
vals = {}
for line in open(sys.argv[1]):
    k, *v = line.split()
    vals[k] = np.array([float(t) for t in v])
F, C, K, S, P, H, L, A = [int(x) for x in vals["dims"]]
lengths = [int(x) for x in vals["lengths"]]
B = len(lengths); T = max(lengths)
conv = torch.nn.Conv1d(F, C, K, stride=S, padding=P, bias=False)
gru = torch.nn.GRU(C, H, num_layers=L)
with torch.no_grad():
    conv.weight.copy_(torch.tensor(vals["conv.weight"]).reshape(conv.weight.shape))
    for name, p in gru.named_parameters():
        p.copy_(torch.tensor(vals["gru." + name]).reshape(p.shape))
W = torch.tensor(vals["att.W.weight"]).reshape(A, H).requires_grad_()
bW = torch.tensor(vals["att.W.bias"]).requires_grad_()
U = torch.tensor(vals["att.U.weight"]).reshape(1, A).requires_grad_()
bU = torch.tensor(vals["att.U.bias"]).requires_grad_()
x = torch.tensor(vals["x"]).reshape(T, B, F)
v = torch.tensor(vals["v"]).reshape(B, H)
outs = []
for b in range(B):
    c = conv(x[:lengths[b], b, :].t()[None])     # 1 x C x L'
    y, _ = gru(c[0].t()[:, None, :])             # L' x 1 x H
    y = y[:, 0, :]
    a = torch.softmax((torch.tanh(y @ W.T + bW) @ U.T + bU)[:, 0], dim=0)
    outs.append((a[:, None] * y).sum(0))
e = torch.nn.functional.normalize(torch.stack(outs), dim=1)
M = e @ v.T
d = torch.diag(M)
m = float(vals["margin"][0])
cost = torch.clamp(m + M - d[None, :], min=0) + torch.clamp(m + M - d[:, None], min=0)
loss = (cost * (1 - torch.eye(B))).sum() / B**2
loss.backward()
def put(k, t):
    print(k, " ".join(repr(float(z)) for z in t.detach().flatten()))
put("emb", e)
put("loss", loss.reshape(1))
put("conv.weight", conv.weight.grad)
for name, p in gru.named_parameters():
    put("gru." + name, p.grad)
put("att.W.weight", W.grad); put("att.W.bias", bW.grad)
put("att.U.weight", U.grad); put("att.U.bias", bU.grad)
)PY";
}  // namespace

// conv -> 2-layer GRU -> attention -> L2 norm -> loss against PyTorch (in
// float64, one sequence at a time, so PyTorch sees no padding at all):
// embeddings, loss and every parameter gradient.
BOOST_AUTO_TEST_CASE(encoder_loss_and_gradients_match_torch) {
  TempDir tmp;
  Rng rng(71);
  const int F = 3, C = 4, K = 3, S = 2, P = 2, H = 6, L = 2, A = 4;
  Conv1d conv(be(), "conv", {.in_channels = F, .out_channels = C, .kernel = K, .stride = S,
                             .padding = P}, rng);
  Gru gru(be(), "gru", C, H, L, rng);
  Attention att(be(), "att", H, A, rng);
  L2Norm norm(be());
  SeqData d = random_seqs(rng, {13, 6, 9}, F);
  auto vh = random_vec(rng, 3 * H);
  for (int b = 0; b < 3; ++b) {  // unit rows: M is a cosine matrix on both sides
    double s = 0;
    for (int j = 0; j < H; ++j) s += vh[b * H + j] * vh[b * H + j];
    for (int j = 0; j < H; ++j) vh[b * H + j] = static_cast<float>(vh[b * H + j] / std::sqrt(s));
  }
  Buffer v(be(), vh.size());
  v.upload(vh.data(), vh.size());
  const float margin = 0.9f;  // most hinges open: every path carries gradient
  const SeqShape cs = conv.output_shape(d.shape);
  const float* e = norm.forward(
      att.forward(gru.forward(conv.forward(d.batch.data(), d.shape), cs), cs), 3, H);
  ContrastiveLoss loss(be(), margin);
  const float l = loss.forward(e, v.data(), 3, H);
  std::vector<Parameter*> ps = conv.parameters();
  for (auto* p : gru.parameters()) ps.push_back(p);
  for (auto* p : att.parameters()) ps.push_back(p);
  zero_grad(ps);
  Buffer de(be(), 3 * H), g1(be(), 3 * H), g2(be(), cs.rows() * H), g3(be(), cs.rows() * C);
  loss.backward(de.data(), nullptr);
  norm.backward(de.data(), g1.data());
  att.backward(g1.data(), g2.data());
  gru.backward(g2.data(), g3.data());
  conv.backward(g3.data(), nullptr);

  std::ofstream f(tmp / "in.txt");
  f.precision(9);
  auto put = [&](const std::string& k, const std::vector<float>& xs) {
    f << k;
    for (float x : xs) f << ' ' << x;
    f << '\n';
  };
  put("dims", {F, C, K, S, P, H, L, A});
  put("lengths", {13, 6, 9});
  put("margin", {margin});
  for (auto* p : ps) put(p->name, p->value.to_host());
  put("x", d.batch.to_host());
  put("v", vh);
  f.close();
  std::ofstream(tmp / "ref.py") << kTorchScript;
  const std::string cmd = "/usr/bin/python3 " + (tmp / "ref.py") + " " + (tmp / "in.txt") + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p != nullptr);
  std::string outp;
  char buf[65536];
  while (std::fgets(buf, sizeof buf, p)) outp += buf;
  const int rc = pclose(p);
  if (outp.rfind("NO_TORCH", 0) == 0 || (rc != 0 && outp.find("No module named") != std::string::npos)) {
    BOOST_TEST_MESSAGE("skipped: PyTorch not importable by /usr/bin/python3 (" << outp << ")");
    return;
  }
  BOOST_REQUIRE_MESSAGE(rc == 0, "the PyTorch reference script failed: " << outp);
  std::map<std::string, std::vector<double>> ref;
  std::istringstream in(outp);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    double x;
    while (ls >> x) ref[key].push_back(x);
  }
  // float32 against float64 through conv, 2 GRU layers, attention and a
  // norm: ~1e-7 relative expected; 1e-5 of each tensor's scale allowed.
  auto compare = [&](const std::string& key, const float* got, std::size_t n) {
    BOOST_REQUIRE_MESSAGE(ref[key].size() == n, key << ": PyTorch gave " << ref[key].size() << " values");
    double worst = 0, scale = 1e-3;
    for (std::size_t i = 0; i < n; ++i) {
      worst = std::max(worst, std::fabs(got[i] - ref[key][i]));
      scale = std::max(scale, std::fabs(ref[key][i]));
    }
    BOOST_TEST_MESSAGE("PyTorch comparison: " << key << " largest difference " << worst
                                              << " (scale " << scale << ")");
    BOOST_TEST(worst <= 1e-5 * scale, key << ": " << worst << " at scale " << scale);
  };
  compare("emb", e, 3 * H);
  compare("loss", &l, 1);
  for (auto* q : ps) {
    const auto g = q->grad.to_host();
    compare(q->name, g.data(), g.size());
  }
}

BOOST_AUTO_TEST_SUITE_END()

// One generator for the project (core/random.h). sb-train's resume tests
// compare checkpoints bit for bit, so its draws are pinned here: these are
// the numbers train::Rng drew before it became an alias of sb::Random.
BOOST_AUTO_TEST_SUITE(project_random)

BOOST_AUTO_TEST_CASE(one_engine_for_nn_and_train) {
  static_assert(std::is_base_of_v<sb::Random, sb::nn::Rng>);
  static_assert(std::is_same_v<sb::train::Rng, sb::Random>);
  // The same seed number gives the layers a stream of their own.
  sb::nn::Rng init(1);
  sb::Random derived(sb::nn::Rng::stream(1));
  BOOST_TEST(derived.state() == init.state());
  sb::Random other(1);
  BOOST_TEST(init.next() != other.next());
}

BOOST_AUTO_TEST_CASE(trainer_bits_are_pinned) {
  sb::train::Rng a(5);
  BOOST_TEST(a.next() == 0x49d55178ca54cf69ULL);
  BOOST_TEST(a.next() == 0x9a22115a4d2624dcULL);
  BOOST_TEST(a.next() == 0xa648b1ccf0bbbbaeULL);
  const std::vector<std::uint64_t> want_below{0, 5, 6, 1, 5};
  std::vector<std::uint64_t> got_below;
  for (int i = 0; i < 5; ++i) got_below.push_back(a.below(7));
  BOOST_TEST(got_below == want_below, boost::test_tools::per_element());
  std::vector<int> v(10);
  std::iota(v.begin(), v.end(), 0);
  a.shuffle(v);
  const std::vector<int> want_perm{6, 5, 0, 7, 1, 8, 2, 9, 4, 3};
  BOOST_TEST(v == want_perm, boost::test_tools::per_element());
  a.reseed(123);
  BOOST_TEST(a.next() == 0x325a8fa1d1a069f9ULL);
  const sb::Random::State want_state{0xe10ca331022977a8ULL, 0x92cc742c41c03dbfULL,
                                     0x111da81adf578ac3ULL, 0xe6d06aba071cac1eULL};
  BOOST_TEST(a.state() == want_state);
  sb::train::Rng b;
  b.set_state(a.state());
  for (int i = 0; i < 100; ++i) BOOST_TEST(a.next() == b.next());
}

BOOST_AUTO_TEST_CASE(helpers_are_the_published_functions) {
  // SplitMix64 from state 0 and FNV-1a test vectors (Vigna; Fowler/Noll/Vo).
  std::uint64_t s = 0;
  BOOST_TEST(sb::splitmix64(s) == 0xe220a8397b1dcdafULL);
  BOOST_TEST(sb::fnv1a("") == 0xcbf29ce484222325ULL);
  BOOST_TEST(sb::fnv1a("a") == 0xaf63dc4c8601ec8cULL);
  BOOST_TEST(sb::derive_seed(1, 2, 3) != sb::derive_seed(1, 3, 2));
}

BOOST_AUTO_TEST_CASE(draws_are_in_range_and_sane) {
  sb::Random r(9);
  double sum = 0, sq = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    BOOST_TEST((u >= 0.0 && u < 1.0));
    const double x = r.normal();
    sum += x;
    sq += x * x;
    BOOST_TEST(r.below(3) < 3u);
  }
  BOOST_TEST(std::abs(sum / n) < 0.03);
  BOOST_TEST(std::abs(sq / n - 1.0) < 0.05);
}

BOOST_AUTO_TEST_SUITE_END()
