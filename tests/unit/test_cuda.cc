// lib/backend/cuda: every Backend op on the CUDA backend against the CPU
// backend (the reference), then whole layers of lib/nn on both.
//
// Each case runs the same random inputs -- variable lengths with padding
// included -- through both backends and compares with a normalised error,
//   err = max |cpu - cuda| / max(1, max |cpu|)      (NaN in the same place
//                                                     on both sides agrees)
// Limits, and why:
//   - kOp = 1e-5 for everything but products. The kernels repeat the CPU's
//     arithmetic operation for operation (same polynomials for exp/sigmoid/
//     tanh, same fixed summation orders, no FMA contraction); what remains is
//     CUDA's expf/sqrtf against glibc's (a few ulp) and double sums in
//     another order: ~1e-7 at worst, leaving room for the CPU's fast math
//     to be retuned within a few ulp without breaking this test.
//   - kGemm = 1e-4 for cuBLAS products: cuBLAS sums in its own blocked order.
//     Its rounding error per element is at most ~k u sum_l |a_il b_lj|
//     (u = 6e-8); with entries in [-1, 1] and k <= 300 that is <= 2e-3 against
//     |C| ~ sqrt(k) ~ 17 in the worst case, but the errors of random rounding
//     grow like sqrt(k) u (~1e-6 here). TF32 (10-bit mantissas) would be
//     ~1e-3 and fail, which is intended.
//   - kLayer = 1e-4 for whole layers, relative to the largest element of
//     each tensor but at least to kLayerScale = 1e-3 (outputs are O(1),
//     parameter gradients 1e-3..1e-1; a few are zero in exact arithmetic,
//     such as the attention's output bias, whose gradient is rounding noise
//     on both sides): the products' rounding passes through up to twenty
//     recurrent steps, two layers and attention. Against a float product
//     in yet another order (an exact-sum reference) these layers differ by
//     <= 1.5e-6; a wrong index, gate or padding rule gives errors of order 1.
//
// Without a GPU (cuda_available() false) or in a build without CUDA
// (SB_HAVE_CUDA 0) every comparison is skipped with the reason, by a
// precondition on its suite; `probe` still checks that asking for CUDA then
// fails cleanly, and the program then exits 77 so that meson reports SKIP,
// not OK (nothing was compared). On a machine with a GPU:
//   meson test -C build unit-cuda --print-errorlogs
#define BOOST_TEST_MODULE cuda
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "nn/nn.h"
#include "sb_config.h"
#if SB_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

using namespace sb;
using namespace sb::nn;
namespace utf = boost::unit_test;

namespace {

constexpr double kOp = 1e-5;
constexpr double kGemm = 1e-4;
constexpr double kLayer = 1e-4;
constexpr double kLayerScale = 1e-3;

Backend& cpu() { return cpu_backend(); }

Backend& gpu() {
#if SB_HAVE_CUDA
  return cuda_backend();
#else
  fail("this build has no CUDA backend");
#endif
}

// Suites that need a GPU are skipped, with the reason, when there is none.
boost::test_tools::assertion_result have_gpu(utf::test_unit_id) {
#if SB_HAVE_CUDA
  std::string why;
  if (cuda_available(&why)) return true;
  boost::test_tools::assertion_result r(false);
  r.message() << "no GPU to compare with the CPU: " << why;
  return r;
#else
  boost::test_tools::assertion_result r(false);
  r.message() << "sb was built without CUDA (SB_HAVE_CUDA is 0)";
  return r;
#endif
}

std::vector<float> random_vec(Rng& rng, std::size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

// max |ref - got| / max(floor, max |ref|); NaN (or the same infinity) at the
// same place on both sides agrees, on one side only it is an infinite error.
double normalised_error(const std::vector<float>& ref, const std::vector<float>& got,
                        double floor = 1.0) {
  if (ref.size() != got.size()) return std::numeric_limits<double>::infinity();
  double max_ref = 0.0, max_diff = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const float a = ref[i], b = got[i];
    if (a == b || (std::isnan(a) && std::isnan(b))) {
      if (std::isfinite(a)) max_ref = std::max(max_ref, std::fabs(static_cast<double>(a)));
      continue;
    }
    if (!std::isfinite(a) || !std::isfinite(b)) return std::numeric_limits<double>::infinity();
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(a)));
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(a) - b));
  }
  return max_diff / std::max(floor, max_ref);
}

void expect_close(const std::string& what, const std::vector<float>& ref,
                  const std::vector<float>& got, double limit, double floor = 1.0) {
  BOOST_TEST_REQUIRE(ref.size() == got.size(), what << ": sizes " << ref.size() << " vs "
                                                    << got.size());
  const double err = normalised_error(ref, got, floor);
  BOOST_TEST(err <= limit, what << ": normalised error " << err << " > " << limit);
}

// The same array on both backends.
struct Twin {
  Buffer c, g;
  explicit Twin(std::size_t n) : c(cpu(), n), g(gpu(), n) {}
  explicit Twin(const std::vector<float>& host) : Twin(host.size()) {
    c.upload(host.data(), host.size());
    g.upload(host.data(), host.size());
  }
  void expect(const std::string& what, double limit = kOp) const {
    expect_close(what, c.to_host(), g.to_host(), limit);
  }
};

// A time-major T x B x D batch with random values everywhere, padding
// included: kernels that honour lengths must not read it.
std::vector<float> random_batch(Rng& rng, int T, int B, std::size_t D) {
  return random_vec(rng, static_cast<std::size_t>(T) * static_cast<std::size_t>(B) * D);
}

int conv_out_length(int L, int K, int stride, int pad) {
  const int span = L + 2 * pad - K;
  return L <= 0 || span < 0 ? 0 : span / stride + 1;
}

}  // namespace

// Runs everywhere: without a GPU, asking for the CUDA backend is an
// sb::Error with a reason, never an abort.
BOOST_AUTO_TEST_CASE(probe) {
#if SB_HAVE_CUDA
  std::string why;
  const bool ok = cuda_available(&why);
  BOOST_TEST(!why.empty());
  BOOST_TEST_MESSAGE((ok ? "CUDA device: " : "no CUDA device: ") << why);
  if (ok)
    BOOST_TEST(std::string(cuda_backend().name()) == "cuda");
  else
    BOOST_CHECK_THROW(cuda_backend(), Error);
#else
  BOOST_TEST_MESSAGE("sb was built without CUDA: nothing to probe");
  BOOST_TEST(true);
#endif
}

BOOST_AUTO_TEST_SUITE(ops, *utf::precondition(have_gpu))

BOOST_AUTO_TEST_CASE(memory) {
  Rng rng(1);
  Buffer z(gpu(), 1000);
  const std::vector<float> zeros = z.to_host();
  BOOST_TEST(std::all_of(zeros.begin(), zeros.end(), [](float v) { return v == 0.0f; }));

  const std::vector<float> host = random_vec(rng, 1000);
  Twin t(host);
  BOOST_TEST(t.g.to_host() == host);  // upload/download are exact

  // copy, disjoint and overlapping in both directions (memmove semantics)
  cpu().copy(t.c.data() + 500, t.c.data(), 400);
  gpu().copy(t.g.data() + 500, t.g.data(), 400);
  cpu().copy(t.c.data() + 10, t.c.data() + 20, 300);
  gpu().copy(t.g.data() + 10, t.g.data() + 20, 300);
  cpu().copy(t.c.data() + 30, t.c.data() + 5, 300);
  gpu().copy(t.g.data() + 30, t.g.data() + 5, 300);
  BOOST_TEST(t.c.to_host() == t.g.to_host());

  for (float v : {0.0f, -0.0f, 1.5f}) {
    cpu().fill(t.c.data() + 7, 901, v);
    gpu().fill(t.g.data() + 7, 901, v);
    const std::vector<float> a = t.c.to_host(), b = t.g.to_host();
    BOOST_TEST(a == b);
    BOOST_TEST(std::signbit(b[7]) == std::signbit(v));
  }
  gpu().synchronize();
}

// All four transpose combinations, leading dimensions wider than the
// matrices, beta = 0 over NaN garbage (C must not be read), k = 0.
BOOST_AUTO_TEST_CASE(gemm) {
  Rng rng(2);
  struct Case {
    std::size_t m, n, k;
    float alpha, beta;
  };
  const Case cases[] = {{37, 29, 53, 1.0f, 0.0f},  {64, 48, 300, 0.5f, 1.0f},
                        {1, 17, 9, -1.0f, 0.25f},  {33, 1, 1, 2.0f, 0.0f},
                        {5, 7, 0, 1.0f, 0.5f},     {6, 4, 0, 1.0f, 0.0f}};
  for (const Case& cs : cases)
    for (Trans ta : {Trans::No, Trans::Yes})
      for (Trans tb : {Trans::No, Trans::Yes}) {
        const std::size_t ar = ta == Trans::No ? cs.m : cs.k, ac = ta == Trans::No ? cs.k : cs.m;
        const std::size_t br = tb == Trans::No ? cs.k : cs.n, bc = tb == Trans::No ? cs.n : cs.k;
        const std::size_t lda = ac + 3, ldb = bc + 2, ldc = cs.n + 5;
        Twin a(random_vec(rng, std::max<std::size_t>(ar, 1) * lda));
        Twin b(random_vec(rng, std::max<std::size_t>(br, 1) * ldb));
        std::vector<float> c0 = random_vec(rng, cs.m * ldc);
        if (cs.beta == 0.0f) c0[0] = std::numeric_limits<float>::quiet_NaN();
        Twin c(c0);
        cpu().gemm(ta, tb, cs.m, cs.n, cs.k, cs.alpha, a.c.data(), lda, b.c.data(), ldb,
                   cs.beta, c.c.data(), ldc);
        gpu().gemm(ta, tb, cs.m, cs.n, cs.k, cs.alpha, a.g.data(), lda, b.g.data(), ldb,
                   cs.beta, c.g.data(), ldc);
        c.expect("gemm " + std::to_string(cs.m) + "x" + std::to_string(cs.n) + "x" +
                     std::to_string(cs.k) + (ta == Trans::Yes ? " A^T" : " A") +
                     (tb == Trans::Yes ? " B^T" : " B"),
                 kGemm);
      }
}

BOOST_AUTO_TEST_CASE(gemm_batched) {
  Rng rng(3);
  const std::size_t m = 13, n = 11, k = 19, count = 4;
  for (Trans ta : {Trans::No, Trans::Yes})
    for (Trans tb : {Trans::No, Trans::Yes}) {
      const std::size_t ar = ta == Trans::No ? m : k, ac = ta == Trans::No ? k : m;
      const std::size_t br = tb == Trans::No ? k : n, bc = tb == Trans::No ? n : k;
      const std::size_t lda = ac + 1, ldb = bc + 4, ldc = n + 2;
      const std::size_t sa = ar * lda + 7, sb = br * ldb + 3, sc = m * ldc + 5;
      Twin a(random_vec(rng, sa * count)), b(random_vec(rng, sb * count));
      Twin c(random_vec(rng, sc * count));
      cpu().gemm_batched(ta, tb, m, n, k, 0.75f, a.c.data(), lda, sa, b.c.data(), ldb, sb,
                         0.5f, c.c.data(), ldc, sc, count);
      gpu().gemm_batched(ta, tb, m, n, k, 0.75f, a.g.data(), lda, sa, b.g.data(), ldb, sb,
                         0.5f, c.g.data(), ldc, sc, count);
      c.expect(std::string("gemm_batched") + (ta == Trans::Yes ? " A^T" : " A") +
                   (tb == Trans::Yes ? " B^T" : " B"),
               kGemm);
    }
}

// The CPU backend repacks op(B) in pack_operand; the CUDA one keeps the
// default (gemm_packed is gemm on the original operand).
BOOST_AUTO_TEST_CASE(gemm_packed) {
  Rng rng(15);
  const std::size_t m = 9, n = 72, k = 24;
  for (Trans ta : {Trans::No, Trans::Yes})
    for (Trans tb : {Trans::No, Trans::Yes}) {
      const std::size_t ar = ta == Trans::No ? m : k, ac = ta == Trans::No ? k : m;
      const std::size_t br = tb == Trans::No ? k : n, bc = tb == Trans::No ? n : k;
      const std::size_t lda = ac + 2, ldb = bc + 1, ldc = n + 3;
      Twin a(random_vec(rng, ar * lda)), b(random_vec(rng, br * ldb)),
          c(random_vec(rng, m * ldc));
      PackedOperand pc, pg;
      cpu().pack_operand(tb, k, n, b.c.data(), ldb, pc);
      gpu().pack_operand(tb, k, n, b.g.data(), ldb, pg);
      cpu().gemm_packed(ta, m, 1.25f, a.c.data(), lda, pc, 0.5f, c.c.data(), ldc);
      gpu().gemm_packed(ta, m, 1.25f, a.g.data(), lda, pg, 0.5f, c.g.data(), ldc);
      c.expect(std::string("gemm_packed") + (ta == Trans::Yes ? " A^T" : " A") +
                   (tb == Trans::Yes ? " B^T" : " B"),
               kGemm);
    }
}

BOOST_AUTO_TEST_CASE(axpy_scale_rows) {
  Rng rng(4);
  const std::size_t rows = 301, cols = 67, n = rows * cols;
  Twin x(random_vec(rng, n)), y(random_vec(rng, n));
  cpu().axpy(n, -0.3f, x.c.data(), y.c.data());
  gpu().axpy(n, -0.3f, x.g.data(), y.g.data());
  y.expect("axpy");
  cpu().scale(n, 1.7f, y.c.data());
  gpu().scale(n, 1.7f, y.g.data());
  y.expect("scale");

  Twin bias(random_vec(rng, cols));
  cpu().add_row_vector(y.c.data(), rows, cols, bias.c.data());
  gpu().add_row_vector(y.g.data(), rows, cols, bias.g.data());
  y.expect("add_row_vector");

  for (float beta : {0.0f, 1.0f, 0.5f}) {
    std::vector<float> o = random_vec(rng, cols);
    if (beta == 0.0f) o[3] = std::numeric_limits<float>::quiet_NaN();  // overwritten
    Twin out(o);
    cpu().sum_rows(y.c.data(), rows, cols, beta, out.c.data());
    gpu().sum_rows(y.g.data(), rows, cols, beta, out.g.data());
    out.expect("sum_rows beta " + std::to_string(beta));
  }
}

BOOST_AUTO_TEST_CASE(mask_padding) {
  Rng rng(5);
  const int T = 9, B = 5;
  const std::size_t D = 21;
  const std::vector<int> lengths = {9, 3, 0, 7, 1};
  Twin x(random_batch(rng, T, B, D));
  cpu().mask_padding(x.c.data(), T, B, D, lengths.data());
  gpu().mask_padding(x.g.data(), T, B, D, lengths.data());
  x.expect("mask_padding");
}

BOOST_AUTO_TEST_CASE(tanh) {
  Rng rng(6);
  std::vector<float> v = random_vec(rng, 5000, -12.0f, 12.0f);
  const float inf = std::numeric_limits<float>::infinity();
  const float special[] = {0.0f,  -0.0f, 0.624f, 0.626f, -0.625f, 1e-8f, 88.0f,
                           -90.0f, inf,  -inf,   std::numeric_limits<float>::quiet_NaN()};
  std::copy(std::begin(special), std::end(special), v.begin());
  Twin x(v), y(v.size()), dy(random_vec(rng, v.size())), dx(v.size());
  cpu().tanh_forward(x.c.data(), y.c.data(), v.size());
  gpu().tanh_forward(x.g.data(), y.g.data(), v.size());
  y.expect("tanh_forward");
  cpu().tanh_backward(y.c.data(), dy.c.data(), dx.c.data(), v.size());
  gpu().tanh_backward(y.g.data(), dy.g.data(), dx.g.data(), v.size());
  dx.expect("tanh_backward");
  // in place: dx aliases dy
  cpu().tanh_backward(y.c.data(), dy.c.data(), dy.c.data(), v.size());
  gpu().tanh_backward(y.g.data(), dy.g.data(), dy.g.data(), v.size());
  dy.expect("tanh_backward in place");
}

BOOST_AUTO_TEST_CASE(gru_step) {
  Rng rng(7);
  const std::size_t rows = 7, H = 20;
  const std::vector<unsigned char> active = {1, 1, 0, 1, 0, 1, 1};
  Twin gx(random_vec(rng, rows * 3 * H, -2.0f, 2.0f)), gh(random_vec(rng, rows * 3 * H));
  Twin hp(random_vec(rng, rows * H)), h(random_vec(rng, rows * H)),
      hn(random_vec(rng, rows * H));  // garbage: overwritten, zeros on inactive rows
  cpu().gru_step_forward(gx.c.data(), gh.c.data(), hp.c.data(), h.c.data(), hn.c.data(), rows,
                         H, active.data());
  gpu().gru_step_forward(gx.g.data(), gh.g.data(), hp.g.data(), h.g.data(), hn.g.data(), rows,
                         H, active.data());
  gx.expect("gru_step_forward gates");
  h.expect("gru_step_forward h");
  hn.expect("gru_step_forward hn");

  // Backward from the CPU's forward state on both, to test the step alone.
  Twin gates(gx.c.to_host()), hcache(hn.c.to_host()), dh(random_vec(rng, rows * H));
  Twin dgx(random_vec(rng, rows * 3 * H)), dgh(random_vec(rng, rows * 3 * H)),
      dhp(random_vec(rng, rows * H));
  cpu().gru_step_backward(gates.c.data(), hcache.c.data(), hp.c.data(), dh.c.data(),
                          dgx.c.data(), dgh.c.data(), dhp.c.data(), rows, H, active.data());
  gpu().gru_step_backward(gates.g.data(), hcache.g.data(), hp.g.data(), dh.g.data(),
                          dgx.g.data(), dgh.g.data(), dhp.g.data(), rows, H, active.data());
  dgx.expect("gru_step_backward dgx");
  dgh.expect("gru_step_backward dgh");
  dhp.expect("gru_step_backward dh_prev");
}

BOOST_AUTO_TEST_CASE(attention_pooling) {
  Rng rng(8);
  const int T = 11, B = 6;
  const std::vector<int> lengths = {11, 3, 1, 7, 11, 2};
  for (std::size_t D : {std::size_t{37}, std::size_t{1}, std::size_t{64}}) {
    // Large scores: without the max subtraction exp would overflow.
    std::vector<float> sv = random_batch(rng, T, B, 1);
    for (float& e : sv) e *= 100.0f;
    Twin scores(sv), w(static_cast<std::size_t>(T * B));
    cpu().softmax_time(scores.c.data(), w.c.data(), T, B, lengths.data());
    gpu().softmax_time(scores.g.data(), w.g.data(), T, B, lengths.data());
    w.expect("softmax_time");

    Twin dw(random_batch(rng, T, B, 1)), ds(random_batch(rng, T, B, 1));
    cpu().softmax_time_backward(w.c.data(), dw.c.data(), ds.c.data(), T, B, lengths.data());
    gpu().softmax_time_backward(w.g.data(), dw.g.data(), ds.g.data(), T, B, lengths.data());
    ds.expect("softmax_time_backward");

    // The CPU's weights on both sides from here, to test each op alone.
    Twin wc(w.c.to_host());
    Twin x(random_batch(rng, T, B, D)), out(random_vec(rng, B * D));
    cpu().weighted_sum_time(x.c.data(), wc.c.data(), out.c.data(), T, B, D, lengths.data());
    gpu().weighted_sum_time(x.g.data(), wc.g.data(), out.g.data(), T, B, D, lengths.data());
    out.expect("weighted_sum_time D=" + std::to_string(D));

    Twin dout(random_vec(rng, B * D)), dx(random_batch(rng, T, B, D)),
        dwt(random_batch(rng, T, B, 1));
    cpu().weighted_sum_time_backward(x.c.data(), wc.c.data(), dout.c.data(), dx.c.data(),
                                     dwt.c.data(), T, B, D, lengths.data());
    gpu().weighted_sum_time_backward(x.g.data(), wc.g.data(), dout.g.data(), dx.g.data(),
                                     dwt.g.data(), T, B, D, lengths.data());
    dx.expect("weighted_sum_time_backward dx D=" + std::to_string(D));
    dwt.expect("weighted_sum_time_backward dw D=" + std::to_string(D));
  }
  const std::vector<int> empty = {3, 0};
  Twin s(6), w(6);
  BOOST_CHECK_THROW(gpu().softmax_time(s.g.data(), w.g.data(), 3, 2, empty.data()), Error);
}

BOOST_AUTO_TEST_CASE(gather_scatter) {
  Rng rng(9);
  const std::size_t vocab = 12, dim = 19, n = 50;
  std::vector<std::int32_t> idx(n);
  for (auto& i : idx) i = static_cast<std::int32_t>(rng.below(vocab + 1)) - 1;  // -1: padding
  idx[0] = idx[7] = idx[31] = 4;  // repeats: additions in order of i
  Twin table(random_vec(rng, vocab * dim)), out(random_vec(rng, n * dim));
  cpu().gather_rows(table.c.data(), dim, idx.data(), n, out.c.data());
  gpu().gather_rows(table.g.data(), dim, idx.data(), n, out.g.data());
  out.expect("gather_rows");

  Twin dout(random_vec(rng, n * dim)), dtable(random_vec(rng, vocab * dim));
  cpu().scatter_add_rows(dout.c.data(), dim, idx.data(), n, dtable.c.data());
  gpu().scatter_add_rows(dout.g.data(), dim, idx.data(), n, dtable.g.data());
  dtable.expect("scatter_add_rows");
  // deterministic: the same call again gives the same bits
  Twin again(dtable.g.to_host());
  gpu().scatter_add_rows(dout.g.data(), dim, idx.data(), n, dtable.g.data());
  gpu().scatter_add_rows(dout.g.data(), dim, idx.data(), n, again.g.data());
  BOOST_TEST(dtable.g.to_host() == again.g.to_host());
  const std::vector<std::int32_t> none(n, -1);
  cpu().scatter_add_rows(dout.c.data(), dim, none.data(), n, dtable.c.data());
  gpu().scatter_add_rows(dout.g.data(), dim, none.data(), n, again.g.data());
  BOOST_TEST(dtable.g.to_host() == again.g.to_host());
}

BOOST_AUTO_TEST_CASE(im2col_col2im) {
  Rng rng(10);
  const int B = 5;
  const std::size_t F = 7;
  const std::vector<int> lengths = {12, 5, 1, 9, 12};
  const int T = 12;
  struct Geometry {
    int K, stride, pad;
  };
  for (const Geometry& gm : {Geometry{6, 2, 6}, Geometry{3, 1, 1}, Geometry{1, 1, 0},
                             Geometry{5, 3, 0}, Geometry{2, 4, 1}, Geometry{4, 2, 9}}) {
    std::vector<int> out_lengths(B);
    for (int b = 0; b < B; ++b)
      out_lengths[static_cast<std::size_t>(b)] =
          conv_out_length(lengths[static_cast<std::size_t>(b)], gm.K, gm.stride, gm.pad);
    const int T_out = *std::max_element(out_lengths.begin(), out_lengths.end());
    const std::string tag = " K=" + std::to_string(gm.K) + " stride=" +
                            std::to_string(gm.stride) + " pad=" + std::to_string(gm.pad);
    const std::size_t width = F * static_cast<std::size_t>(gm.K);
    Twin x(random_batch(rng, T, B, F)), col(random_batch(rng, T_out, B, width));
    cpu().im2col_time(x.c.data(), T, B, F, lengths.data(), gm.K, gm.stride, gm.pad,
                      col.c.data(), T_out, out_lengths.data());
    gpu().im2col_time(x.g.data(), T, B, F, lengths.data(), gm.K, gm.stride, gm.pad,
                      col.g.data(), T_out, out_lengths.data());
    col.expect("im2col_time" + tag);

    Twin dcol(random_batch(rng, T_out, B, width)), dx(random_batch(rng, T, B, F));
    cpu().col2im_time(dcol.c.data(), T, B, F, lengths.data(), gm.K, gm.stride, gm.pad,
                      dx.c.data(), T_out, out_lengths.data());
    gpu().col2im_time(dcol.g.data(), T, B, F, lengths.data(), gm.K, gm.stride, gm.pad,
                      dx.g.data(), T_out, out_lengths.data());
    dx.expect("col2im_time" + tag);
  }
}

BOOST_AUTO_TEST_CASE(l2norm) {
  Rng rng(11);
  for (std::size_t dim : {std::size_t{37}, std::size_t{1024}, std::size_t{5}}) {
    const std::size_t rows = 6;
    std::vector<float> xv = random_vec(rng, rows * dim);
    std::fill(xv.begin() + 3 * dim, xv.begin() + 4 * dim, 0.0f);  // a zero row: eps
    Twin x(xv), y(rows * dim), norms(rows);
    cpu().l2norm_rows(x.c.data(), y.c.data(), norms.c.data(), rows, dim, 1e-12f);
    gpu().l2norm_rows(x.g.data(), y.g.data(), norms.g.data(), rows, dim, 1e-12f);
    y.expect("l2norm_rows y dim=" + std::to_string(dim));
    norms.expect("l2norm_rows norms dim=" + std::to_string(dim));

    Twin yc(y.c.to_host()), nc(norms.c.to_host()), dy(random_vec(rng, rows * dim)),
        dx(rows * dim);
    cpu().l2norm_rows_backward(yc.c.data(), nc.c.data(), dy.c.data(), dx.c.data(), rows, dim);
    gpu().l2norm_rows_backward(yc.g.data(), nc.g.data(), dy.g.data(), dx.g.data(), rows, dim);
    dx.expect("l2norm_rows_backward dim=" + std::to_string(dim));
    // in place: dx aliases dy
    cpu().l2norm_rows_backward(yc.c.data(), nc.c.data(), dy.c.data(), dy.c.data(), rows, dim);
    gpu().l2norm_rows_backward(yc.g.data(), nc.g.data(), dy.g.data(), dy.g.data(), rows, dim);
    dy.expect("l2norm_rows_backward in place dim=" + std::to_string(dim));
  }
}

BOOST_AUTO_TEST_CASE(contrastive) {
  Rng rng(12);
  for (std::size_t n : {std::size_t{9}, std::size_t{1}, std::size_t{64}}) {
    Twin M(random_vec(rng, n * n)), dM(random_vec(rng, n * n));
    const float lc = cpu().contrastive_loss(M.c.data(), n, 0.2f, dM.c.data());
    const float lg = gpu().contrastive_loss(M.g.data(), n, 0.2f, dM.g.data());
    expect_close("contrastive_loss n=" + std::to_string(n), {lc}, {lg}, kOp);
    dM.expect("contrastive_loss dM n=" + std::to_string(n));
  }
  // NaN reaches the loss on both
  std::vector<float> m = random_vec(rng, 16);
  m[6] = std::numeric_limits<float>::quiet_NaN();
  Twin M(m), dM(16);
  BOOST_TEST(std::isnan(cpu().contrastive_loss(M.c.data(), 4, 0.2f, dM.c.data())));
  BOOST_TEST(std::isnan(gpu().contrastive_loss(M.g.data(), 4, 0.2f, dM.g.data())));
  dM.expect("contrastive_loss dM with NaN");
}

BOOST_AUTO_TEST_CASE(reductions) {
  Rng rng(13);
  for (std::size_t n : {std::size_t{1000003}, std::size_t{5}, std::size_t{0}}) {
    Twin x(random_vec(rng, n, -3.0f, 3.0f));
    const double sc = cpu().sum_squares(x.c.data(), n);
    const double sg = gpu().sum_squares(x.g.data(), n);
    // Both sum in double, in different orders: ~n * 1e-16 relative at most.
    BOOST_TEST(std::fabs(sc - sg) <= 1e-12 * std::max(1.0, sc),
               "sum_squares n=" << n << ": " << sc << " vs " << sg);
    BOOST_TEST(gpu().all_finite(x.g.data(), n));
  }
  std::vector<float> v = random_vec(rng, 100000);
  for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()})
    for (std::size_t at : {std::size_t{0}, std::size_t{54321}, v.size() - 1}) {
      std::vector<float> w = v;
      w[at] = bad;
      Twin x(w);
      BOOST_TEST(!cpu().all_finite(x.c.data(), w.size()));
      BOOST_TEST(!gpu().all_finite(x.g.data(), w.size()), "all_finite misses " << bad << " at " << at);
    }
}

BOOST_AUTO_TEST_CASE(adam) {
  Rng rng(14);
  const std::size_t n = 3001;
  Twin p(random_vec(rng, n)), m(n), v(n);
  const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  for (int step = 1; step <= 3; ++step) {
    Twin g(random_vec(rng, n, -0.1f, 0.1f));
    const float bc1 = 1.0f - std::pow(b1, static_cast<float>(step));
    const float bc2 = 1.0f - std::pow(b2, static_cast<float>(step));
    cpu().adam_update(p.c.data(), g.c.data(), m.c.data(), v.c.data(), n, lr, b1, b2, eps, bc1,
                      bc2);
    gpu().adam_update(p.g.data(), g.g.data(), m.g.data(), v.g.data(), n, lr, b1, b2, eps, bc1,
                      bc2);
  }
  p.expect("adam p");
  m.expect("adam m");
  v.expect("adam v");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- whole layers through lib/nn ---------------------------------------------
BOOST_AUTO_TEST_SUITE(layers, *utf::precondition(have_gpu))

namespace {

void expect_layer(const std::string& what, Backend& bc, const float* c, Backend& bg,
                  const float* g, std::size_t n, double limit = kLayer) {
  std::vector<float> a(n), b(n);
  if (n > 0) {
    bc.download(a.data(), c, n);
    bg.download(b.data(), g, n);
  }
  expect_close(what, a, b, limit, kLayerScale);
}

void expect_grads(const std::string& what, const std::vector<Parameter*>& pc,
                  const std::vector<Parameter*>& pg) {
  BOOST_TEST_REQUIRE(pc.size() == pg.size());
  for (std::size_t i = 0; i < pc.size(); ++i)
    expect_close(what + " " + pc[i]->name + ".grad", pc[i]->grad.to_host(),
                 pg[i]->grad.to_host(), kLayer, kLayerScale);
}

}  // namespace

// A two-layer GRU over unsorted lengths (inactive rows inside the per-step
// prefix), forward and backward, built from the same seed on each backend.
BOOST_AUTO_TEST_CASE(gru_stack) {
  const SeqShape s = SeqShape::from_lengths({9, 4, 9, 1, 6});
  const int in = 13, hidden = 24;
  Rng data(21);
  std::vector<std::vector<float>> seqs;
  std::vector<const float*> ptrs;
  for (int L : s.lengths) seqs.push_back(random_vec(data, static_cast<std::size_t>(L) * in));
  for (auto& q : seqs) ptrs.push_back(q.data());
  const std::vector<float> dy = random_vec(data, s.rows() * hidden);

  Rng rc(5), rg(5);
  Gru gc(cpu(), "gru", in, hidden, 2, rc), gg(gpu(), "gru", in, hidden, 2, rg);
  Buffer xc, xg;
  pack_sequences(cpu(), ptrs, s, in, xc);
  pack_sequences(gpu(), ptrs, s, in, xg);
  const float* yc = gc.forward(xc.data(), s);
  const float* yg = gg.forward(xg.data(), s);
  expect_layer("gru forward", cpu(), yc, gpu(), yg, s.rows() * hidden);
  expect_layer("gru layer 0", cpu(), gc.layer_output(0), gpu(), gg.layer_output(0),
               s.rows() * hidden);

  Buffer dyc(cpu(), dy.size()), dyg(gpu(), dy.size());
  dyc.upload(dy.data(), dy.size());
  dyg.upload(dy.data(), dy.size());
  Buffer dxc(cpu(), s.rows() * in), dxg(gpu(), s.rows() * in);
  gc.backward(dyc.data(), dxc.data());
  gg.backward(dyg.data(), dxg.data());
  expect_layer("gru dx", cpu(), dxc.data(), gpu(), dxg.data(), s.rows() * in);
  expect_grads("gru", gc.parameters(), gg.parameters());
}

// The GRU layers as the presets use them (1 to 4 layers), over one batch of
// very mixed lengths (1 to 2,000 frames), forward and backward through
// Backend::gru_layer_forward/backward, on both CUDA paths (cuDNN and the
// step loop) against the CPU. Over 2,000 recurrent
// steps the products' rounding compounds: the bound is 1e-3 of the
// largest value, ten times the two-layer, twenty-step case's.
BOOST_AUTO_TEST_CASE(gru_layers_mixed_lengths) {
  const SeqShape s = SeqShape::from_lengths({2000, 1, 731, 2, 1999, 40});
  const int in = 16, hidden = 32;
  Rng data(23);
  std::vector<std::vector<float>> seqs;
  std::vector<const float*> ptrs;
  for (int L : s.lengths) seqs.push_back(random_vec(data, static_cast<std::size_t>(L) * in));
  for (auto& q : seqs) ptrs.push_back(q.data());
  const std::vector<float> dy = random_vec(data, s.rows() * hidden);
#if SB_HAVE_CUDA
  for (const CudaGruPath path : {CudaGruPath::Cudnn, CudaGruPath::Steps})
#endif
  for (int layers = 1; layers <= 4; ++layers) {
#if SB_HAVE_CUDA
    cuda_set_gru_path(path);
    const std::string what = std::string(path == CudaGruPath::Cudnn ? "cudnn" : "steps") + " gru x" +
                             std::to_string(layers);
#else
    const std::string what = "gru x" + std::to_string(layers);
#endif
    Rng rc(6), rg(6);
    Gru gc(cpu(), "gru", in, hidden, layers, rc), gg(gpu(), "gru", in, hidden, layers, rg);
    Buffer xc, xg;
    pack_sequences(cpu(), ptrs, s, in, xc);
    pack_sequences(gpu(), ptrs, s, in, xg);
    const float* yc = gc.forward(xc.data(), s);
    const float* yg = gg.forward(xg.data(), s);
    expect_layer(what + " forward", cpu(), yc, gpu(), yg, s.rows() * hidden, 1e-3);
    Buffer dyc(cpu(), dy.size()), dyg(gpu(), dy.size());
    dyc.upload(dy.data(), dy.size());
    dyg.upload(dy.data(), dy.size());
    Buffer dxc(cpu(), s.rows() * in), dxg(gpu(), s.rows() * in);
    gc.backward(dyc.data(), dxc.data());
    gg.backward(dyg.data(), dxg.data());
    expect_layer(what + " dx", cpu(), dxc.data(), gpu(), dxg.data(), s.rows() * in, 1e-3);
    const auto pc = gc.parameters(), pg = gg.parameters();
    for (std::size_t i = 0; i < pc.size(); ++i)
      expect_close(what + " " + pc[i]->name + ".grad", pc[i]->grad.to_host(), pg[i]->grad.to_host(), 1e-3,
                   kLayerScale);
  }
#if SB_HAVE_CUDA
  cuda_set_gru_path(CudaGruPath::Cudnn);
#endif
}

// The paper's two encoders and their loss, forward and backward:
// speech = conv -> GRU x2 -> attention -> L2, text = embedding -> GRU ->
// attention -> L2, contrastive loss between them.
BOOST_AUTO_TEST_CASE(encoders_and_loss) {
  constexpr int kFeats = 13, kConv = 16, kHidden = 24, kAttn = 10, kVocab = 11, kEmb = 8;
  const SeqShape speech = SeqShape::from_lengths({20, 7, 13, 3, 20});
  const SeqShape text = SeqShape::from_lengths({5, 8, 2, 8, 1});
  const std::size_t B = 5, H = kHidden;

  Rng data(31);
  std::vector<std::vector<float>> seqs;
  std::vector<const float*> ptrs;
  for (int L : speech.lengths)
    seqs.push_back(random_vec(data, static_cast<std::size_t>(L) * kFeats));
  for (auto& q : seqs) ptrs.push_back(q.data());
  std::vector<std::int32_t> ids(text.rows());
  for (auto& id : ids) id = static_cast<std::int32_t>(data.below(kVocab));

  struct Model {
    Backend& be;
    Conv1d conv;
    Gru sgru;
    Attention satt;
    L2Norm snorm;
    Embedding embed;
    Gru tgru;
    Attention tatt;
    L2Norm tnorm;
    ContrastiveLoss loss;
    Model(Backend& b, Rng& rng)
        : be(b),
          conv(b, "speech.conv", {kFeats, kConv, 6, 2, 6, false}, rng),
          sgru(b, "speech.gru", kConv, kHidden, 2, rng),
          satt(b, "speech.attn", kHidden, kAttn, rng),
          snorm(b),
          embed(b, "text.embed", kVocab, kEmb, rng),
          tgru(b, "text.gru", kEmb, kHidden, 1, rng),
          tatt(b, "text.attn", kHidden, kAttn, rng),
          tnorm(b),
          loss(b) {}
    std::vector<Parameter*> parameters() {
      std::vector<Parameter*> ps;
      for (const auto& group : {conv.parameters(), sgru.parameters(), satt.parameters(),
                                embed.parameters(), tgru.parameters(), tatt.parameters()})
        ps.insert(ps.end(), group.begin(), group.end());
      return ps;
    }
  };
  Rng rc(8), rg(8);
  Model mc(cpu(), rc), mg(gpu(), rg);

  Buffer xc, xg;
  pack_sequences(cpu(), ptrs, speech, kFeats, xc);
  pack_sequences(gpu(), ptrs, speech, kFeats, xg);
  auto forward = [&](Model& m, const Buffer& x, const float** u, const float** v) {
    const SeqShape s1 = m.conv.output_shape(speech);
    const float* h = m.sgru.forward(m.conv.forward(x.data(), speech), s1);
    *u = m.snorm.forward(m.satt.forward(h, s1), B, H);
    const float* t = m.tgru.forward(m.embed.forward(ids.data(), text), text);
    *v = m.tnorm.forward(m.tatt.forward(t, text), B, H);
    return m.loss.forward(*u, *v, B, H);
  };
  const float *uc, *vc, *ug, *vg;
  const float lc = forward(mc, xc, &uc, &vc);
  const float lg = forward(mg, xg, &ug, &vg);
  expect_close("loss", {lc}, {lg}, kLayer, kLayerScale);
  expect_layer("speech embedding", cpu(), uc, gpu(), ug, B * H);
  expect_layer("text embedding", cpu(), vc, gpu(), vg, B * H);

  auto backward = [&](Model& m) {
    Buffer du(m.be, B * H), dv(m.be, B * H), d1(m.be, B * H);
    m.loss.backward(du.data(), dv.data());
    const SeqShape s1 = m.conv.output_shape(speech);
    Buffer ds(m.be, s1.rows() * H), dc(m.be, s1.rows() * kConv);
    m.snorm.backward(du.data(), d1.data());
    m.satt.backward(d1.data(), ds.data());
    m.sgru.backward(ds.data(), dc.data());
    m.conv.backward(dc.data(), nullptr);
    Buffer dt(m.be, text.rows() * H), de(m.be, text.rows() * kEmb);
    m.tnorm.backward(dv.data(), d1.data());
    m.tatt.backward(d1.data(), dt.data());
    m.tgru.backward(dt.data(), de.data());
    m.embed.backward(de.data());
  };
  backward(mc);
  backward(mg);
  expect_grads("encoders", mc.parameters(), mg.parameters());
}

BOOST_AUTO_TEST_SUITE_END()

// meson's "skipped" exit status: the probe suite passed, but no comparison ran.
int main(int argc, char** argv) {
  const int rc = boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
  if (rc != 0) return rc;
  std::string why = "sb was built without CUDA (SB_HAVE_CUDA is 0)";
#if SB_HAVE_CUDA
  if (cuda_available(&why)) return 0;
#endif
  std::printf("SKIP: no CPU/CUDA comparison ran: %s\n", why.c_str());
  return 77;
}
