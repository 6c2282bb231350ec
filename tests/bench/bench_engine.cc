// Times one full 3-task training round of the paper's model on the engine
// (lib/nn): one batch of 16 for each of SPEECH/TEXT, SPEECH/IMAGE and
// TEXT/IMAGE, in the trainer's order (st, si, ti), each task forward, loss,
// backward, clipping at 2.0 and an Adam step over that task's parameters.
// Model as in the paper's best configuration: speech conv (13 -> 64, k 6,
// s 2, p 6) + S = 2 GRU layers, S2I = 2 GRU layers + attention, S2T = 0
// (attention only); text embedding (128) + T = 1 GRU layer, T2I = 1 GRU
// layer + attention, T2S = 0; I2S, I2T linear 4096 -> H; attention hidden 128.
// Inputs: 300-frame utterances, 50-character captions, 4096-d images.
//
//   bench_engine [--threads N] [--rounds R] [--device cpu|cuda[:N]] H [H ...]
// prints, per hidden size, "H <h> sb <seconds per round>".
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/device.h"
#include "core/gemm.h"
#include "nn/nn.h"

using namespace sb;
using namespace sb::nn;

namespace {

constexpr int kBatch = 16, kFrames = 300, kChars = 50, kMfcc = 13, kImage = 4096;
constexpr int kVocab = 40, kEmbed = 128, kAttn = 128;

std::vector<Parameter*> join(std::initializer_list<std::vector<Parameter*>> parts) {
  std::vector<Parameter*> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct Encoder {  // GRU stack + attention + L2 norm on a shared sequence
  Gru gru;
  Attention att;
  L2Norm norm;
  Encoder(Backend& be, const std::string& name, int in, int H, int layers, Rng& rng)
      : gru(be, name + ".gru", in, H, layers, rng),
        att(be, name + ".attn", layers > 0 ? H : in, kAttn, rng),
        norm(be) {}
  std::vector<Parameter*> parameters() { return join({gru.parameters(), att.parameters()}); }
  const float* forward(const float* x, const SeqShape& s) {
    const float* y = att.forward(gru.forward(x, s), s);
    return norm.forward(y, static_cast<std::size_t>(s.batch), static_cast<std::size_t>(gru.output_size()));
  }
  // de: B x H; writes dx (T x B x in) -- accumulated by the caller.
  void backward(Backend& be, const float* de, const SeqShape& s, Buffer& d1, Buffer& d2,
                float* dx) {
    const auto H = static_cast<std::size_t>(gru.output_size());
    d1.resize(be, static_cast<std::size_t>(s.batch) * H);
    norm.backward(de, d1.data());
    d2.resize(be, s.rows() * H);
    att.backward(d1.data(), d2.data());
    gru.backward(d2.data(), dx);
  }
};

struct Model {
  Backend& be;
  int H;
  Rng rng;
  Conv1d conv;
  Gru speech;       // S
  Embedding embed;  // text
  Gru text;         // T
  Encoder s2i, s2t, t2i, t2s;
  Linear i2s, i2t;
  L2Norm ni2s, ni2t;
  ContrastiveLoss loss;
  Model(Backend& b, int h)
      : be(b), H(h), rng(1),
        conv(b, "speech.conv", {}, rng),
        speech(b, "speech.gru", 64, h, 2, rng),
        embed(b, "text.embed", kVocab, kEmbed, rng),
        text(b, "text.gru", kEmbed, h, 1, rng),
        s2i(b, "s2i", h, h, 2, rng),
        s2t(b, "s2t", h, h, 0, rng),
        t2i(b, "t2i", h, h, 1, rng),
        t2s(b, "t2s", h, h, 0, rng),
        i2s(b, "i2s", kImage, h, true, rng),
        i2t(b, "i2t", kImage, h, true, rng),
        ni2s(b), ni2t(b), loss(b) {}
};

struct Batch {
  SeqShape speech_shape, text_shape;
  Buffer mfcc;  // T x B x 13
  std::vector<std::int32_t> chars;
  Buffer images;  // B x 4096
};

struct Round {
  Model& m;
  Batch& data;
  Adam st, si, ti;
  Buffer d1, d2, d3, dshared, de_a, de_b, dimg;
  std::vector<Parameter*> p_st, p_si, p_ti;
  Round(Model& model, Batch& b, std::vector<Parameter*> pst, std::vector<Parameter*> psi,
        std::vector<Parameter*> pti)
      : m(model), data(b), st(pst, {.lr = 2e-4f}), si(psi, {.lr = 2e-4f}), ti(pti, {.lr = 2e-4f}),
        p_st(std::move(pst)), p_si(std::move(psi)), p_ti(std::move(pti)) {}

  const float* speech_forward(SeqShape& cs) {
    cs = m.conv.output_shape(data.speech_shape);
    return m.speech.forward(m.conv.forward(data.mfcc.data(), data.speech_shape), cs);
  }
  void speech_backward(const float* dh, const SeqShape& cs) {
    d3.resize(m.be, cs.rows() * 64);
    m.speech.backward(dh, d3.data());
    m.conv.backward(d3.data(), nullptr);
  }
  const float* text_forward() {
    return m.text.forward(m.embed.forward(data.chars.data(), data.text_shape), data.text_shape);
  }
  void text_backward(const float* dh) {
    d3.resize(m.be, data.text_shape.rows() * kEmbed);
    m.text.backward(dh, d3.data());
    m.embed.backward(d3.data());
  }
  float step(Adam& opt, std::vector<Parameter*>& ps) {
    const float norm = clip_grad_norm(ps, 2.0f);
    opt.step();
    return norm;
  }

  float run() {
    Backend& be = m.be;
    const std::size_t H = static_cast<std::size_t>(m.H), B = kBatch;
    de_a.resize(be, B * H);
    de_b.resize(be, B * H);
    float total = 0;
    SeqShape cs;
    // ---- SPEECH/TEXT
    zero_grad(p_st);
    {
      const float* s = m.s2t.forward(speech_forward(cs), cs);
      const float* t = m.t2s.forward(text_forward(), data.text_shape);
      total += m.loss.forward(s, t, B, H);
      m.loss.backward(de_a.data(), de_b.data());
      dshared.resize(be, cs.rows() * H);
      m.s2t.backward(be, de_a.data(), cs, d1, d2, dshared.data());
      speech_backward(dshared.data(), cs);
      dshared.resize(be, data.text_shape.rows() * H);
      m.t2s.backward(be, de_b.data(), data.text_shape, d1, d2, dshared.data());
      text_backward(dshared.data());
      step(st, p_st);
    }
    // ---- SPEECH/IMAGE
    zero_grad(p_si);
    {
      const float* s = m.s2i.forward(speech_forward(cs), cs);
      const float* v = m.ni2s.forward(m.i2s.forward(data.images.data(), B), B, H);
      total += m.loss.forward(s, v, B, H);
      m.loss.backward(de_a.data(), de_b.data());
      dshared.resize(be, cs.rows() * H);
      m.s2i.backward(be, de_a.data(), cs, d1, d2, dshared.data());
      speech_backward(dshared.data(), cs);
      dimg.resize(be, B * H);
      m.ni2s.backward(de_b.data(), dimg.data());
      m.i2s.backward(dimg.data(), nullptr);
      step(si, p_si);
    }
    // ---- TEXT/IMAGE
    zero_grad(p_ti);
    {
      const float* t = m.t2i.forward(text_forward(), data.text_shape);
      const float* v = m.ni2t.forward(m.i2t.forward(data.images.data(), B), B, H);
      total += m.loss.forward(t, v, B, H);
      m.loss.backward(de_a.data(), de_b.data());
      dshared.resize(be, data.text_shape.rows() * H);
      m.t2i.backward(be, de_a.data(), data.text_shape, d1, d2, dshared.data());
      text_backward(dshared.data());
      dimg.resize(be, B * H);
      m.ni2t.backward(de_b.data(), dimg.data());
      m.i2t.backward(dimg.data(), nullptr);
      step(ti, p_ti);
    }
    return total;
  }
};

// CPU time of the whole process: with --threads 1 on a busy machine, the
// time the round would take on a quiet core (waiting for a core is not
// counted).
double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Floating-point work of one round from the layer shapes (products only:
// elementwise work is a few percent), to set the time against the BLAS rate.
double round_flops(int H) {
  const double B = kBatch, Ts = Conv1d::output_length(kFrames, {}), Tt = kChars, h = H;
  auto gru = [&](double T, double in, int layers) {
    double f = 0;
    for (int k = 0; k < layers; ++k) f += 18 * T * B * h * ((k == 0 ? in : h) + h);
    return f;
  };
  auto attn = [&](double T) { return 6 * T * B * h * kAttn; };
  const double conv = 6 * Ts * B * kMfcc * 6 * 64, lin = 4 * B * kImage * h;
  const double speech = conv + gru(Ts, 64, 2), text = gru(Tt, kEmbed, 1);
  const double st = speech + attn(Ts) + text + attn(Tt);
  const double si = speech + gru(Ts, h, 2) + attn(Ts) + lin;
  const double ti = text + gru(Tt, h, 1) + attn(Tt) + lin;
  return st + si + ti;
}

// The rate of the two kinds of product in the round, measured now: the
// per-step recurrent one (16 x H by H x 3H) and an all-steps one (154*16 x H
// by H x 3H), through the backend (sb's kernel where the CPU has AVX-512)
// and through OpenBLAS directly (sb::sgemm). On a shared machine this is
// the yardstick for the round's time.
struct Rates {
  double sb_step, sb_all, blas_step, blas_all;
};
Rates product_rates(Backend& be, int H) {
  const std::size_t h = static_cast<std::size_t>(H), rows = 154 * kBatch;
  Buffer a(be, rows * h), w(be, 3 * h * h), c(be, rows * 3 * h);
  Rates r{};
  for (int pass = 0; pass < 4; ++pass) {
    const std::size_t m = pass % 2 == 0 ? kBatch : rows;
    const double flops = 2.0 * m * 3 * h * h;
    const int reps = std::max(3, static_cast<int>(2e8 / flops));
    auto once = [&] {
      if (pass < 2)
        be.gemm(Trans::No, Trans::Yes, m, 3 * h, h, 1.0f, a.data(), h, w.data(), h, 0.0f, c.data(), 3 * h);
      else
        sgemm(Trans::No, Trans::Yes, m, 3 * h, h, 1.0f, a.data(), h, w.data(), h, 0.0f, c.data(), 3 * h);
    };
    once();
    double best = 1e30;
    for (int rep = 0; rep < reps; ++rep) {
      const double t0 = now();
      once();
      best = std::min(best, now() - t0);
    }
    const double rate = flops / best / 1e9;  // best of: the machine's quiet moments
    (pass == 0 ? r.sb_step : pass == 1 ? r.sb_all : pass == 2 ? r.blas_step : r.blas_all) = rate;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, rounds = 0;
  std::string device = "cpu";
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
      device = argv[++i];
    else
      sizes.push_back(std::atoi(argv[i]));
  }
  if (sizes.empty()) sizes = {128, 256, 1024};
  Backend& be = open_device(parse_device(device), threads);
  for (int H : sizes) {
    Model m(be, H);
    Batch b;
    Rng rng(7);
    b.speech_shape = SeqShape::from_lengths(std::vector<int>(kBatch, kFrames));
    b.text_shape = SeqShape::from_lengths(std::vector<int>(kBatch, kChars));
    std::vector<float> host(b.speech_shape.rows() * kMfcc);
    for (auto& x : host) x = rng.uniform(-1, 1);
    b.mfcc.resize(be, host.size());
    b.mfcc.upload(host.data(), host.size());
    b.chars.resize(b.text_shape.rows());
    for (auto& c : b.chars) c = static_cast<std::int32_t>(rng.below(kVocab));
    host.assign(static_cast<std::size_t>(kBatch) * kImage, 0);
    for (auto& x : host) x = rng.uniform(0, 1);
    b.images.resize(be, host.size());
    b.images.upload(host.data(), host.size());

    auto p_speech = join({m.conv.parameters(), m.speech.parameters()});
    auto p_text = join({m.embed.parameters(), m.text.parameters()});
    Round r(m, b, join({p_speech, m.s2t.parameters(), p_text, m.t2s.parameters()}),
            join({p_speech, m.s2i.parameters(), m.i2s.parameters()}),
            join({p_text, m.t2i.parameters(), m.i2t.parameters()}));
    const int n = rounds > 0 ? rounds : (H >= 1024 ? 3 : 10);
    float loss = r.run();  // warm-up: allocations, page faults
    std::vector<double> times, cpu;
    for (int i = 0; i < n; ++i) {
      const double t0 = now(), c0 = cpu_now();
      loss = r.run();
      times.push_back(now() - t0);
      cpu.push_back(cpu_now() - c0);
    }
    std::sort(times.begin(), times.end());
    std::sort(cpu.begin(), cpu.end());
    const double median = times[times.size() / 2];
    const Rates rates = product_rates(be, H);
    std::printf(
        "H %d sb %.4f s/round (median of %d, min %.4f; %.1f GFLOP/round = %.1f GFLOP/s; "
        "CPU time %.4f s/round; loss %.4f; threads %d)\n"
        "   products now, best of (GFLOP/s): sb %.1f per-step, %.1f all-steps; "
        "OpenBLAS %.1f per-step, %.1f all-steps\n",
        H, median, n, times.front(), round_flops(H) / 1e9, round_flops(H) / median / 1e9,
        cpu[cpu.size() / 2], loss, threads, rates.sb_step, rates.sb_all, rates.blas_step, rates.blas_all);
    std::fflush(stdout);
  }
  return 0;
}
