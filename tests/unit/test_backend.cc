// lib/backend: every CPU primitive against a naive double-precision
// reference, the fast exp/sigmoid/tanh against libm, Buffer semantics and
// the thread knob.
#define BOOST_TEST_MODULE backend
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/fastmath.h"
#include "core/error.h"
#include "core/gemm.h"

using namespace sb;

namespace {

Backend& be() { return cpu_backend(); }

std::vector<float> rnd(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 g(seed);
  std::vector<float> v(n);
  // Not std::uniform_real_distribution: its output differs between
  // standard libraries, and these inputs are fixed test data.
  for (auto& x : v) x = lo + (hi - lo) * static_cast<float>(g() >> 8) / 16777216.0f;
  return v;
}

Buffer dev(const std::vector<float>& host) {
  Buffer b(be(), host.size());
  b.upload(host.data(), host.size());
  return b;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

}  // namespace

BOOST_AUTO_TEST_CASE(buffer_is_zeroed_owned_and_movable) {
  Buffer a(be(), 10);
  BOOST_TEST(a.size() == 10u);
  for (float x : a.to_host()) BOOST_TEST(x == 0.0f);
  const std::vector<float> v = {1, 2, 3};
  a.upload(v.data(), 3);
  BOOST_TEST(a.to_host()[2] == 3.0f);
  float* p = a.data();
  a.resize(be(), 5);  // shrinking keeps the allocation
  BOOST_TEST(a.data() == p);
  BOOST_TEST(a.size() == 5u);
  Buffer b = std::move(a);
  BOOST_TEST(b.data() == p);
  BOOST_TEST(a.data() == nullptr);
  BOOST_TEST(a.empty());
  b.zero();
  BOOST_TEST(b.to_host()[0] == 0.0f);
  BOOST_CHECK_THROW(b.upload(std::vector<float>(6).data(), 6), Error);
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0u);
}

BOOST_AUTO_TEST_CASE(thread_knob) {
  set_num_threads(3);
  BOOST_TEST(num_threads() == 3);
  set_num_threads(0);  // all cores
  BOOST_TEST(num_threads() >= 1);
  set_num_threads(1);
  BOOST_TEST(num_threads() == 1);
}

BOOST_AUTO_TEST_CASE(gemm_all_transposes_against_reference_and_plain) {
  const std::size_t m = 7, n = 9, k = 13;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const auto a = rnd(m * k, 1), b = rnd(k * n, 2), c0 = rnd(m * n, 3);
      const std::size_t lda = ta ? m : k, ldb = tb ? k : n;
      std::vector<double> ref(m * n);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          double s = 0;
          for (std::size_t p = 0; p < k; ++p)
            s += static_cast<double>(ta ? a[p * lda + i] : a[i * lda + p]) *
                 (tb ? b[j * ldb + p] : b[p * ldb + j]);
          ref[i * n + j] = 0.5 * s + 2.0 * c0[i * n + j];
        }
      Buffer A = dev(a), Bm = dev(b), C = dev(c0);
      be().gemm(ta ? Trans::Yes : Trans::No, tb ? Trans::Yes : Trans::No, m, n, k, 0.5f,
                A.data(), lda, Bm.data(), ldb, 2.0f, C.data(), n);
      BOOST_TEST(max_abs_diff(C.to_host(), ref) < 1e-5);
      std::vector<float> cp = c0;
      sgemm_plain(ta ? Trans::Yes : Trans::No, tb ? Trans::Yes : Trans::No, m, n, k, 0.5f,
                  a.data(), lda, b.data(), ldb, 2.0f, cp.data(), n);
      BOOST_TEST(max_abs_diff(cp, ref) < 1e-5);
    }
}

BOOST_AUTO_TEST_CASE(gemm_beta_zero_overwrites_nan) {
  const auto a = rnd(4, 1), b = rnd(4, 2);
  std::vector<float> c(4, std::numeric_limits<float>::quiet_NaN());
  Buffer A = dev(a), Bm = dev(b), C = dev(c);
  be().gemm(Trans::No, Trans::No, 2, 2, 2, 1.0f, A.data(), 2, Bm.data(), 2, 0.0f, C.data(), 2);
  for (float x : C.to_host()) BOOST_TEST(std::isfinite(x));
}

BOOST_AUTO_TEST_CASE(plain_gemm_rows_do_not_depend_on_the_batch) {
  // The embedded profile's promise: a row's product is the same bits
  // whatever rows surround it.
  const std::size_t k = 50, n = 33;
  const auto a = rnd(20 * k, 4), b = rnd(n * k, 5);
  std::vector<float> all(20 * n), one(n);
  sgemm_plain(Trans::No, Trans::Yes, 20, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, all.data(), n);
  for (std::size_t r : {0u, 7u, 19u}) {
    sgemm_plain(Trans::No, Trans::Yes, 1, n, k, 1.0f, a.data() + r * k, k, b.data(), k, 0.0f,
                one.data(), n);
    BOOST_TEST(std::memcmp(one.data(), all.data() + r * n, n * sizeof(float)) == 0);
  }
}

BOOST_AUTO_TEST_CASE(gemm_batched_is_count_gemms) {
  const std::size_t m = 3, n = 4, k = 5, count = 3;
  const auto a = rnd(count * m * k, 6), b = rnd(count * k * n, 7);
  Buffer A = dev(a), Bm = dev(b), C(be(), count * m * n), C1(be(), m * n);
  be().gemm_batched(Trans::No, Trans::No, m, n, k, 1.0f, A.data(), k, m * k, Bm.data(), n, k * n,
                    0.0f, C.data(), n, m * n, count);
  for (std::size_t i = 0; i < count; ++i) {
    be().gemm(Trans::No, Trans::No, m, n, k, 1.0f, A.data() + i * m * k, k,
              Bm.data() + i * k * n, n, 0.0f, C1.data(), n);
    BOOST_TEST(std::memcmp(C1.data(), C.data() + i * m * n, m * n * sizeof(float)) == 0);
  }
}

BOOST_AUTO_TEST_CASE(fast_math_accuracy) {
  // Relative error of exp over its useful range and absolute error of
  // sigmoid/tanh over +-20, against libm in double: a few float ulps.
  double worst_exp = 0, worst_sig = 0, worst_tanh = 0;
  for (int i = -200000; i <= 200000; ++i) {
    const float x = static_cast<float>(i) * 1e-4f;
    const double e = std::exp(static_cast<double>(x));
    worst_exp = std::max(worst_exp, std::fabs(cpu::exp_f(x) - e) / e);
    const float y = x * 4.0f;  // -80..80 for exp's range
    const double ey = std::exp(static_cast<double>(y));
    if (std::isfinite(ey) && ey < 1e38 && ey > 1e-37)
      worst_exp = std::max(worst_exp, std::fabs(cpu::exp_f(y) - ey) / ey);
    worst_sig = std::max(worst_sig, std::fabs(cpu::sigmoid_f(x) - 1.0 / (1.0 + std::exp(-static_cast<double>(x)))));
    const double t = std::tanh(static_cast<double>(x));
    // tanh: relative near zero (where the polynomial is used), absolute beyond.
    worst_tanh = std::max(worst_tanh, std::fabs(cpu::tanh_f(x) - t) / std::max(std::fabs(t), 1e-3));
  }
  BOOST_TEST_MESSAGE("exp rel " << worst_exp << ", sigmoid abs " << worst_sig << ", tanh " << worst_tanh);
  BOOST_TEST(worst_exp < 4e-7);
  BOOST_TEST(worst_sig < 2e-7);
  BOOST_TEST(worst_tanh < 4e-7);
  // Tiny arguments: tanh(x) = x to float precision, exactly odd.
  BOOST_TEST(cpu::tanh_f(1e-6f) == 1e-6f);
  BOOST_TEST(cpu::tanh_f(-0.3f) == -cpu::tanh_f(0.3f));
  // Saturation and special values.
  BOOST_TEST(cpu::tanh_f(100.0f) == 1.0f);
  BOOST_TEST(cpu::tanh_f(-std::numeric_limits<float>::infinity()) == -1.0f);
  BOOST_TEST(cpu::sigmoid_f(-200.0f) >= 0.0f);
  BOOST_TEST(cpu::sigmoid_f(-200.0f) < 1e-30f);
  BOOST_TEST(cpu::sigmoid_f(200.0f) == 1.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  BOOST_TEST(std::isnan(cpu::exp_f(nan)));
  BOOST_TEST(std::isnan(cpu::tanh_f(nan)));
  BOOST_TEST(std::isnan(cpu::sigmoid_f(nan)));
}

BOOST_AUTO_TEST_CASE(tanh_kernels) {
  const auto x = rnd(37, 8, -3, 3);
  Buffer X = dev(x), Y(be(), 37), D(be(), 37);
  be().tanh_forward(X.data(), Y.data(), 37);
  const auto y = Y.to_host();
  for (std::size_t i = 0; i < 37; ++i) BOOST_TEST(std::fabs(y[i] - std::tanh(x[i])) < 3e-7);
  const auto dy = rnd(37, 9);
  Buffer DY = dev(dy);
  be().tanh_backward(Y.data(), DY.data(), D.data(), 37);
  const auto d = D.to_host();
  for (std::size_t i = 0; i < 37; ++i)
    BOOST_TEST(std::fabs(d[i] - dy[i] * (1 - y[i] * y[i])) < 1e-7);
}

BOOST_AUTO_TEST_CASE(rows_columns_and_masks) {
  const auto x = rnd(3 * 4, 10);
  const std::vector<float> bias = {1, 2, 3, 4};
  Buffer X = dev(x), Bv = dev(bias), S(be(), 4);
  be().add_row_vector(X.data(), 3, 4, Bv.data());
  auto xh = X.to_host();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) BOOST_TEST(xh[r * 4 + c] == x[r * 4 + c] + bias[c]);
  const std::vector<float> s0 = {10, 10, 10, 10};
  S.upload(s0.data(), 4);
  be().sum_rows(X.data(), 3, 4, 1.0f, S.data());  // accumulates
  const auto sh = S.to_host();
  for (int c = 0; c < 4; ++c)
    BOOST_TEST(sh[c] == 10.0f + xh[c] + xh[4 + c] + xh[8 + c], boost::test_tools::tolerance(1e-6f));
  be().sum_rows(X.data(), 3, 4, 0.0f, S.data());  // overwrites
  BOOST_TEST(S.to_host()[0] == xh[0] + xh[4] + xh[8], boost::test_tools::tolerance(1e-6f));
  // mask: T = 3, B = 2, lengths {3, 1}: rows (1,1) and (2,1) are padding.
  std::vector<float> m(3 * 2 * 2, 5.0f);
  Buffer M = dev(m);
  const int lengths[2] = {3, 1};
  be().mask_padding(M.data(), 3, 2, 2, lengths);
  const auto mh = M.to_host();
  BOOST_TEST(mh[0] == 5.0f);
  BOOST_TEST(mh[2] == 5.0f);   // t0 b1
  BOOST_TEST(mh[6] == 0.0f);   // t1 b1
  BOOST_TEST(mh[10] == 0.0f);  // t2 b1
  BOOST_TEST(mh[8] == 5.0f);   // t2 b0
}

BOOST_AUTO_TEST_CASE(gru_step_kernels_match_the_equations) {
  const std::size_t rows = 3, H = 5;
  auto gx = rnd(rows * 3 * H, 11, -2, 2);
  const auto gx0 = gx;
  const auto gh = rnd(rows * 3 * H, 12, -2, 2), hp = rnd(rows * H, 13);
  const unsigned char active[3] = {1, 0, 1};
  Buffer GX = dev(gx), GH = dev(gh), HP = dev(hp), Hh(be(), rows * H), HN(be(), rows * H);
  be().gru_step_forward(GX.data(), GH.data(), HP.data(), Hh.data(), HN.data(), rows, H, active);
  const auto g = GX.to_host(), h = Hh.to_host(), hn = HN.to_host();
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < H; ++j) {
      const std::size_t o = r * 3 * H;
      if (!active[r]) {
        BOOST_TEST(h[r * H + j] == 0.0f);
        BOOST_TEST(g[o + j] == 0.0f);
        continue;
      }
      const double rr = sig(gx0[o + j] + gh[o + j]);
      const double z = sig(gx0[o + H + j] + gh[o + H + j]);
      const double n = std::tanh(gx0[o + 2 * H + j] + rr * gh[o + 2 * H + j]);
      BOOST_TEST(std::fabs(h[r * H + j] - ((1 - z) * n + z * hp[r * H + j])) < 1e-6);
      BOOST_TEST(std::fabs(g[o + j] - rr) < 1e-6);
      BOOST_TEST(std::fabs(g[o + H + j] - z) < 1e-6);
      BOOST_TEST(std::fabs(g[o + 2 * H + j] - n) < 1e-6);
      BOOST_TEST(hn[r * H + j] == gh[o + 2 * H + j]);
    }
  // Backward against the chain rule written out in double.
  const auto dh = rnd(rows * H, 14);
  Buffer DH = dev(dh), DGX(be(), rows * 3 * H), DGH(be(), rows * 3 * H), DHP(be(), rows * H);
  be().gru_step_backward(GX.data(), HN.data(), HP.data(), DH.data(), DGX.data(), DGH.data(),
                         DHP.data(), rows, H, active);
  const auto dgx = DGX.to_host(), dgh = DGH.to_host(), dhp = DHP.to_host();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < H; ++j) {
      const std::size_t o = r * 3 * H;
      if (!active[r]) {
        BOOST_TEST(dgx[o + j] == 0.0f);
        BOOST_TEST(dhp[r * H + j] == 0.0f);
        continue;
      }
      const double rr = g[o + j], z = g[o + H + j], n = g[o + 2 * H + j], d = dh[r * H + j];
      const double dan = d * (1 - z) * (1 - n * n);
      BOOST_TEST(std::fabs(dgx[o + 2 * H + j] - dan) < 1e-6);
      BOOST_TEST(std::fabs(dgh[o + 2 * H + j] - dan * rr) < 1e-6);
      BOOST_TEST(std::fabs(dgx[o + j] - dan * hn[r * H + j] * rr * (1 - rr)) < 1e-6);
      BOOST_TEST(dgh[o + j] == dgx[o + j]);
      BOOST_TEST(std::fabs(dgx[o + H + j] - d * (hp[r * H + j] - n) * z * (1 - z)) < 1e-6);
      BOOST_TEST(std::fabs(dhp[r * H + j] - d * z) < 1e-6);
    }
}

BOOST_AUTO_TEST_CASE(softmax_and_weighted_sum_over_time) {
  const int T = 4, B = 3;
  const int lengths[3] = {4, 1, 2};
  const auto s = rnd(T * B, 15, -3, 3);
  Buffer S = dev(s), W(be(), T * B);
  be().softmax_time(S.data(), W.data(), T, B, lengths);
  const auto w = W.to_host();
  for (int b = 0; b < B; ++b) {
    double z = 0;
    for (int t = 0; t < lengths[b]; ++t) z += std::exp(s[t * B + b]);
    for (int t = 0; t < T; ++t) {
      const double want = t < lengths[b] ? std::exp(s[t * B + b]) / z : 0.0;
      BOOST_TEST(std::fabs(w[t * B + b] - want) < 1e-7);
    }
  }
  const auto dw = rnd(T * B, 16);
  Buffer DW = dev(dw), DS(be(), T * B);
  be().softmax_time_backward(W.data(), DW.data(), DS.data(), T, B, lengths);
  const auto ds = DS.to_host();
  for (int b = 0; b < B; ++b) {
    double dot = 0;
    for (int t = 0; t < lengths[b]; ++t) dot += w[t * B + b] * dw[t * B + b];
    for (int t = 0; t < T; ++t) {
      const double want = t < lengths[b] ? w[t * B + b] * (dw[t * B + b] - dot) : 0.0;
      BOOST_TEST(std::fabs(ds[t * B + b] - want) < 1e-7);
    }
  }
  const std::size_t D = 5;
  const auto x = rnd(T * B * D, 17);
  Buffer X = dev(x), O(be(), B * D);
  be().weighted_sum_time(X.data(), W.data(), O.data(), T, B, D, lengths);
  const auto o = O.to_host();
  for (int b = 0; b < B; ++b)
    for (std::size_t d = 0; d < D; ++d) {
      double want = 0;
      for (int t = 0; t < lengths[b]; ++t) want += w[t * B + b] * x[(t * B + b) * D + d];
      BOOST_TEST(std::fabs(o[b * D + d] - want) < 1e-6);
    }
  const auto dout = rnd(B * D, 18);
  Buffer DO = dev(dout), DX(be(), T * B * D), DW2(be(), T * B);
  be().weighted_sum_time_backward(X.data(), W.data(), DO.data(), DX.data(), DW2.data(), T, B, D,
                                  lengths);
  const auto dx = DX.to_host(), dw2 = DW2.to_host();
  for (int t = 0; t < T; ++t)
    for (int b = 0; b < B; ++b) {
      double dot = 0;
      for (std::size_t d = 0; d < D; ++d) {
        const double want = t < lengths[b] ? w[t * B + b] * dout[b * D + d] : 0.0;
        BOOST_TEST(std::fabs(dx[(t * B + b) * D + d] - want) < 1e-7);
        dot += x[(t * B + b) * D + d] * dout[b * D + d];
      }
      BOOST_TEST(std::fabs(dw2[t * B + b] - (t < lengths[b] ? dot : 0.0)) < 1e-6);
    }
  const int empty[3] = {4, 0, 2};
  BOOST_CHECK_THROW(be().softmax_time(S.data(), W.data(), T, B, empty), Error);
}

BOOST_AUTO_TEST_CASE(gather_and_scatter_rows) {
  const auto table = rnd(5 * 3, 19);
  const std::int32_t idx[4] = {4, -1, 0, 4};
  Buffer Tb = dev(table), O(be(), 4 * 3), G(be(), 5 * 3);
  be().gather_rows(Tb.data(), 3, idx, 4, O.data());
  const auto o = O.to_host();
  for (int d = 0; d < 3; ++d) {
    BOOST_TEST(o[d] == table[4 * 3 + d]);
    BOOST_TEST(o[3 + d] == 0.0f);
    BOOST_TEST(o[6 + d] == table[d]);
  }
  const auto dout = rnd(4 * 3, 20);
  Buffer DO = dev(dout);
  be().scatter_add_rows(DO.data(), 3, idx, 4, G.data());
  const auto g = G.to_host();
  for (int d = 0; d < 3; ++d) {
    BOOST_TEST(g[4 * 3 + d] == dout[d] + dout[9 + d]);
    BOOST_TEST(g[d] == dout[6 + d]);
    BOOST_TEST(g[3 + d] == 0.0f);
  }
}

BOOST_AUTO_TEST_CASE(im2col_and_col2im_are_adjoint) {
  // <col2im(dc), x> = <dc, im2col(x)> for the valid frames: the backward
  // pass of the convolution's data movement is exactly its transpose.
  const int T = 9, B = 2, K = 4, stride = 2, pad = 3, T_out = 6;
  const std::size_t F = 3;
  const int lengths[2] = {9, 5};
  const int out_lengths[2] = {(9 + 6 - 4) / 2 + 1, (5 + 6 - 4) / 2 + 1};  // 6, 4
  auto x = rnd(T * B * F, 21);
  for (int t = 5; t < T; ++t)
    for (std::size_t f = 0; f < F; ++f) x[(t * B + 1) * F + f] = 0.0f;  // padding
  const auto dc = rnd(T_out * B * F * K, 22);
  Buffer X = dev(x), C(be(), T_out * B * F * K), DC = dev(dc), DX(be(), T * B * F);
  be().im2col_time(X.data(), T, B, F, lengths, K, stride, pad, C.data(), T_out, out_lengths);
  be().col2im_time(DC.data(), T, B, F, lengths, K, stride, pad, DX.data(), T_out, out_lengths);
  const auto c = C.to_host(), dx = DX.to_host();
  double lhs = 0, rhs = 0;
  for (std::size_t i = 0; i < x.size(); ++i) lhs += static_cast<double>(dx[i]) * x[i];
  for (std::size_t i = 0; i < c.size(); ++i) rhs += static_cast<double>(dc[i]) * c[i];
  BOOST_TEST(lhs == rhs, boost::test_tools::tolerance(1e-9));
  // A spot value: output frame 1 of sequence 0, channel f = 2, tap k = 2
  // reads input frame 1*2 - 3 + 2 = 1.
  BOOST_TEST(c[((1 * B + 0) * F + 2) * K + 2] == x[(1 * B + 0) * F + 2]);
  // Taps before the start are zero padding.
  BOOST_TEST(c[((0 * B + 0) * F + 0) * K + 0] == 0.0f);
  // Output rows past a sequence's output length are zero.
  for (std::size_t i = 0; i < F * K; ++i) BOOST_TEST(c[(5 * B + 1) * F * K + i] == 0.0f);
  // Input-gradient padding frames stay zero.
  for (std::size_t f = 0; f < F; ++f) BOOST_TEST(dx[(6 * B + 1) * F + f] == 0.0f);
}

BOOST_AUTO_TEST_CASE(l2norm_rows_and_backward) {
  const std::vector<float> x = {3, 4, 1, 0, 0, 0};
  Buffer X = dev(x), Y(be(), 6), N(be(), 3);
  be().l2norm_rows(X.data(), Y.data(), N.data(), 3, 2, 1e-12f);
  const auto y = Y.to_host(), n = N.to_host();
  BOOST_TEST(y[0] == 0.6f);
  BOOST_TEST(y[1] == 0.8f);
  BOOST_TEST(y[2] == 1.0f);
  BOOST_TEST(n[0] == 5.0f);
  BOOST_TEST(n[2] == 1e-12f);
  BOOST_TEST(y[4] == 0.0f);
  const std::vector<float> dy = {1, 0, 0, 1, 1, 1};
  Buffer DY = dev(dy), DX(be(), 6);
  be().l2norm_rows_backward(Y.data(), N.data(), DY.data(), DX.data(), 3, 2);
  const auto dx = DX.to_host();
  // (dy - y <y,dy>) / |x| = ((1,0) - 0.6 (0.6,0.8)) / 5 = (0.128, -0.096)
  BOOST_TEST(dx[0] == 0.128f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(dx[1] == -0.096f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(dx[2] == 0.0f);  // along the unit vector (1,0): removed
  BOOST_TEST(dx[3] == 1.0f);
}

BOOST_AUTO_TEST_CASE(contrastive_loss_against_reference) {
  const std::size_t n = 6;
  const auto M = rnd(n * n, 23);
  Buffer Md = dev(M), dM(be(), n * n);
  const float margin = 0.4f;
  const float l = be().contrastive_loss(Md.data(), n, margin, dM.data());
  double ref = 0;
  std::vector<double> g(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      const double c1 = margin + M[i * n + j] - M[j * n + j];
      const double c2 = margin + M[i * n + j] - M[i * n + i];
      if (c1 > 0) { ref += c1; g[i * n + j] += 1; g[j * n + j] -= 1; }
      if (c2 > 0) { ref += c2; g[i * n + j] += 1; g[i * n + i] -= 1; }
    }
  ref /= n * n;
  BOOST_TEST(l == ref, boost::test_tools::tolerance(1e-6));
  const auto d = dM.to_host();
  for (std::size_t i = 0; i < n * n; ++i) BOOST_TEST(std::fabs(d[i] - g[i] / (n * n)) < 1e-7);
  // A NaN anywhere reaches the result.
  auto bad = M;
  bad[7] = std::numeric_limits<float>::quiet_NaN();
  Buffer Bd = dev(bad);
  BOOST_TEST(std::isnan(be().contrastive_loss(Bd.data(), n, margin, dM.data())));
}

BOOST_AUTO_TEST_CASE(reductions_and_finiteness) {
  const auto x = rnd(1001, 24);
  double ref = 0;
  for (float v : x) ref += static_cast<double>(v) * v;
  Buffer X = dev(x);
  BOOST_TEST(be().sum_squares(X.data(), x.size()) == ref, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(be().all_finite(X.data(), x.size()));
  for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    auto y = x;
    y[500] = bad;
    Buffer Y = dev(y);
    BOOST_TEST(!be().all_finite(Y.data(), y.size()));
  }
}

BOOST_AUTO_TEST_CASE(adam_update_formula) {
  const std::vector<float> p0 = {1.0f, -2.0f}, g = {0.5f, -0.1f}, m0 = {0.1f, 0.2f}, v0 = {0.01f, 0.02f};
  Buffer P = dev(p0), G = dev(g), Mb = dev(m0), V = dev(v0);
  const float lr = 0.01f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  const float bc1 = 1 - b1 * b1 * b1, bc2 = 1 - b2 * b2 * b2;  // step 3
  be().adam_update(P.data(), G.data(), Mb.data(), V.data(), 2, lr, b1, b2, eps, bc1, bc2);
  const auto p = P.to_host(), m = Mb.to_host(), v = V.to_host();
  for (int i = 0; i < 2; ++i) {
    const double mm = 0.9 * m0[i] + 0.1 * g[i];
    const double vv = 0.999 * v0[i] + 0.001 * g[i] * g[i];
    const double want = p0[i] - lr / bc1 * mm / (std::sqrt(vv) / std::sqrt(bc2) + eps);
    BOOST_TEST(m[i] == mm, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(v[i] == vv, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(p[i] == want, boost::test_tools::tolerance(1e-6));
  }
}
