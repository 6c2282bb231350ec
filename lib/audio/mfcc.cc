#include "audio/mfcc.h"

#include <kissfft/kiss_fftr.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>

#include "core/error.h"
#include "core/random.h"

// On x86-64 the frame-block code and the float64 FFT are also built for
// AVX2 (one register per 8 float lanes or 4 doubles instead of two SSE ones)
// and chosen at load time; the lanes compute the same scalar operations
// either way (no FMA), so the bits do not change.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SB_MFCC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SB_MFCC_CLONES
#endif

namespace sb {

namespace {

// numpy.finfo(float).eps, the floor the peer applies before taking logs.
constexpr float kLogFloor = static_cast<float>(std::numeric_limits<double>::epsilon());
// Kaldi floors energies at the float epsilon instead.
constexpr float kKaldiLogFloor = std::numeric_limits<float>::epsilon();
// Kaldi reads 16-bit audio as integers; libsndfile gives [-1, 1).
constexpr float kInt16Scale = 32768.0f;

// python_speech_features rounds frame sizes with decimal ROUND_HALF_UP.
std::int64_t round_half_up(double x) { return static_cast<std::int64_t>(std::floor(x + 0.5)); }

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

bool is_pow2(std::int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

}  // namespace

void MfccOptions::validate() const {
  if (!(frame_length_ms > 0 && frame_length_ms <= 10000))
    usage_fail("--frame-length must be in (0, 10000] ms, not ", frame_length_ms);
  if (!(frame_shift_ms > 0 && frame_shift_ms <= frame_length_ms))
    usage_fail("--frame-shift must be in (0, frame length] ms, not ", frame_shift_ms);
  if (!is_pow2(fft_size) || fft_size < 2 || fft_size > (1 << 20))
    usage_fail("--fft-size must be a power of two in [2, 1048576], not ", fft_size);
  if (num_filters < 1 || num_filters > 1024)
    usage_fail("--num-filters must be in [1, 1024], not ", num_filters);
  if (num_ceps < 1 || num_ceps > num_filters)
    usage_fail("--num-ceps must be in [1, num-filters = ", num_filters, "], not ", num_ceps);
  if (!(low_freq >= 0)) usage_fail("--low-freq must be >= 0, not ", low_freq);
  if (high_freq > 0 && !(high_freq > low_freq))
    usage_fail("--high-freq (", high_freq, ") must be above --low-freq (", low_freq, ")");
  if (!std::isfinite(high_freq)) usage_fail("--high-freq must be finite");
  if (!(preemph >= 0 && preemph <= 1)) usage_fail("--preemph must be in [0, 1], not ", preemph);
  if (!(lifter >= 0 && lifter < 1e6)) usage_fail("--lifter must be >= 0, not ", lifter);
  if (deltas < 0 || deltas > 2) usage_fail("--deltas must be 0, 1 or 2, not ", deltas);
  if (delta_window < 1 || delta_window > 100)
    usage_fail("--delta-window must be in [1, 100], not ", delta_window);
  if (!(dither >= 0 && dither < 1e3)) usage_fail("--dither must be >= 0, not ", dither);
  if (!(rate >= 0 && rate < 1e7)) usage_fail("--rate must be in [0, 1e7) Hz, not ", rate);
  if (channel < -1 || channel > 1023) usage_fail("--channel must be in [0, 1023], not ", channel);
  if (!(max_seconds >= 0 && std::isfinite(max_seconds)))
    usage_fail("--max-seconds must be >= 0, not ", max_seconds);
}

void MfccOptions::Register(OptionsItf& o, MfccSpelling& w) {
  w.window = window_name(window);
  w.cmvn = cmvn_name(cmvn);
  w.no_energy = !energy;
  o.add("frame-length", &frame_length_ms, "frame length, ms", 0.01, 10000);
  o.add("frame-shift", &frame_shift_ms, "frame shift, ms, at most the frame length", 0.01, 10000);
  o.add("window", &w.window, "window shape", {"rect", "hamming", "hann", "povey"});
  o.add("fft-size", &fft_size, "minimum FFT size, a power of 2, grown to fit a frame", 2, 1 << 20);
  o.add("num-filters", &num_filters, "mel filters", 1, 1024);
  o.add("num-ceps", &num_ceps, "cepstra kept, at most --num-filters", 1, 1024);
  o.add("low-freq", &low_freq, "lowest filter edge, Hz", 0, 1e7);
  o.add("high-freq", &high_freq, "highest filter edge, Hz (0 = r/2; < 0: r/2 + value)", -1e7, 1e7);
  o.add("preemph", &preemph, "pre-emphasis coefficient (0 = none)", 0, 1);
  o.add("lifter", &lifter, "cepstral lifter L (0 = none)", 0, 999999);
  o.add("no-energy", &w.no_energy, "keep c0 instead of replacing it with log frame energy");
  o.add("deltas", &deltas, "append deltas: 1 (+delta) or 2 (+delta, +delta-delta)", 0, 2);
  o.add("delta-window", &delta_window, "delta regression half-width N", 1, 100);
  o.add("cmvn", &w.cmvn, "per-utterance normalisation", {"none", "mean", "meanvar"});
  o.add("dither", &dither, "Gaussian noise of this standard deviation (samples in [-1,1); --kaldi: int16 units, per frame)", 0, 999);
  o.add("seed", &seed, "dither seed (mixed with each key)", 0, UINT64_MAX);
  o.add("kaldi", &w.kaldi, "Kaldi's compute-mfcc-feats (its defaults, dither 0; see man sb-mfcc)");
  o.add("snip-edges", &snip_edges,
        "--kaldi: frames only where they fit (--snip-edges=false: centred, edges reflected)");
  o.add("remove-dc-offset", &remove_dc, "--kaldi: subtract each frame's mean (=false: keep it)");
  o.add("raw-energy", &raw_energy,
        "--kaldi: log energy before pre-emphasis and window (=false: after the window)");
  o.add("max-seconds", &max_seconds, "use only the first S seconds (0 = all)", 0, std::numeric_limits<double>::max());
}

void MfccOptions::set_from(const MfccSpelling& w) {
  window = window_from_name(w.window);
  cmvn = cmvn_from_name(w.cmvn);
  energy = !w.no_energy;
  style = w.kaldi ? MfccStyle::Kaldi : MfccStyle::Peer;
}

void MfccOptions::use_kaldi_defaults(MfccSpelling& w) {
  style = MfccStyle::Kaldi;
  frame_length_ms = 25;
  frame_shift_ms = 10;
  window = Window::Povey;
  fft_size = 2;  // no minimum: N is the next power of two >= L
  num_filters = 23;
  num_ceps = 13;
  low_freq = 20;
  high_freq = 0;
  preemph = 0.97;
  lifter = 22;
  energy = true;
  dither = 0;
  snip_edges = remove_dc = raw_energy = true;
  w.window = window_name(window);
  w.cmvn = cmvn_name(cmvn);
  w.no_energy = false;
  w.kaldi = true;
}

const std::vector<std::string>& MfccOptions::kaldi_only_options() {
  static const std::vector<std::string> names = {"snip-edges", "remove-dc-offset", "raw-energy"};
  return names;
}

std::vector<float> frame_window(Window w, int length) {
  std::vector<float> out(static_cast<std::size_t>(length), 1.0f);
  const double a = 2 * std::numbers::pi / (length - 1);  // symmetric, as numpy and Kaldi
  for (int i = 0; i < length; ++i) {
    double c = std::cos(a * i), v = 1;
    switch (w) {
      case Window::Hamming: v = 0.54 - 0.46 * c; break;
      case Window::Hann: v = 0.5 - 0.5 * c; break;
      case Window::Povey: v = std::pow(0.5 - 0.5 * c, 0.85); break;
      case Window::Rect: break;
    }
    out[static_cast<std::size_t>(i)] = static_cast<float>(v);
  }
  return out;
}

double kaldi_mel(double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); }

std::vector<double> lifter_coefficients(int num_ceps, double lifter) {
  std::vector<double> c(static_cast<std::size_t>(num_ceps), 1.0);
  if (lifter > 0)
    for (int k = 0; k < num_ceps; ++k)
      c[static_cast<std::size_t>(k)] = 1 + lifter / 2 * std::sin(std::numbers::pi * k / lifter);
  return c;
}

Window window_from_name(std::string_view name) {
  if (name == "rect" || name == "rectangular") return Window::Rect;
  if (name == "hamming") return Window::Hamming;
  if (name == "hann" || name == "hanning") return Window::Hann;
  if (name == "povey") return Window::Povey;
  usage_fail("--window must be rect, hamming, hann or povey, not '", name, "'");
}

const char* window_name(Window w) {
  switch (w) {
    case Window::Rect: return "rect";
    case Window::Hamming: return "hamming";
    case Window::Hann: return "hann";
    case Window::Povey: return "povey";
  }
  return "?";
}

Cmvn cmvn_from_name(std::string_view name) {
  if (name == "none") return Cmvn::None;
  if (name == "mean") return Cmvn::Mean;
  if (name == "meanvar") return Cmvn::MeanVar;
  usage_fail("--cmvn must be none, mean or meanvar, not '", name, "'");
}

const char* cmvn_name(Cmvn c) {
  switch (c) {
    case Cmvn::None: return "none";
    case Cmvn::Mean: return "mean";
    case Cmvn::MeanVar: return "meanvar";
  }
  return "?";
}

FrameGeometry frame_geometry(const MfccOptions& o, double rate) {
  if (!(rate > 0 && rate < 1e7)) fail("unsupported sample rate ", rate);
  FrameGeometry g;
  g.style = o.style;
  g.snip_edges = o.snip_edges;
  const bool kaldi = o.style == MfccStyle::Kaldi;
  // Kaldi truncates (FrameExtractionOptions::WindowSize), the peer rounds.
  std::int64_t len = kaldi ? static_cast<std::int64_t>(rate * 0.001 * o.frame_length_ms)
                           : round_half_up(o.frame_length_ms / 1000.0 * rate);
  std::int64_t shift = kaldi ? static_cast<std::int64_t>(rate * 0.001 * o.frame_shift_ms)
                             : round_half_up(o.frame_shift_ms / 1000.0 * rate);
  if (len < 2) fail("a ", o.frame_length_ms, " ms frame at ", rate, " Hz has fewer than 2 samples");
  if (shift < 1) fail("a ", o.frame_shift_ms, " ms shift at ", rate, " Hz is under one sample");
  if (len > (1 << 20)) fail("a ", o.frame_length_ms, " ms frame at ", rate, " Hz is too long");
  std::int64_t n = o.fft_size;
  // The peer truncates frames longer than its fixed N = 512; sb grows N.
  while (n < len) n *= 2;
  g.length = static_cast<int>(len);
  g.shift = static_cast<int>(std::min(shift, len));
  g.fft = static_cast<int>(n);
  return g;
}

std::int64_t num_frames(std::int64_t len, const FrameGeometry& g) {
  if (g.style == MfccStyle::Kaldi) {
    if (!g.snip_edges) return (len + g.shift / 2) / g.shift;
    return len < g.length ? 0 : 1 + (len - g.length) / g.shift;
  }
  if (len <= g.length) return 1;
  return 1 + (len - g.length + g.shift - 1) / g.shift;
}

std::int64_t first_sample(std::int64_t t, const FrameGeometry& g) {
  if (g.snip_edges) return t * g.shift;
  return t * g.shift + g.shift / 2 - g.length / 2;  // Kaldi's FirstSampleOfFrame
}

// ---- one frame -------------------------------------------------------------

struct MfccFrame::Impl {
  kiss_fftr_cfg fft = nullptr;
  std::vector<float> window;          // empty: rectangular
  std::vector<float> fft_in;          // N, tail [L, N) stays zero
  std::vector<kiss_fft_cpx> fft_out;  // N/2 + 1
  std::vector<float> power;           // N/2 + 1
  // Sparse filterbank: filter j has weights[off[j] .. off[j+1]) on bins
  // first[j], first[j] + 1, ...
  std::vector<int> first, off;
  std::vector<float> weights;
  // Block layout (compute_block): bin-major power spectra and log filter
  // outputs, kBlock lanes each. Lanes past a short block hold stale finite
  // values and are never read out.
  std::vector<float> power_t, logmel_t;
  std::vector<float> dct;  // num_ceps x num_filters, lifter folded in
  int num_filters = 0, num_ceps = 0;
  bool energy = true;
  float inv_n = 0;
  // Kaldi style: the whole frame in float64 (a radix-2 FFT of our own, as
  // KissFFT is built for float here). Kaldi and torchaudio compute in
  // float32, and two float32 evaluations of the liftered high cepstra
  // differ by up to ~1e-3 on loud frames (the weakest mel bands sit 70 dB
  // below the strongest); float64 keeps sb within ~1e-5 of the exact value.
  bool kaldi = false, remove_dc = true, raw_energy = true;
  double preemph = 0;
  std::vector<double> x, re, im, zr, zi, tw_r, tw_i, split_r, split_i, dct64, weights64;
  std::vector<int> bitrev;
  void setup_kaldi_fft(int n);
  void fft64(int n);
  void compute_kaldi(const float* frame, float* out, int L);
  ~Impl() {
    if (fft) kiss_fftr_free(fft);
  }
};

MfccFrame::MfccFrame(const MfccOptions& o, double rate) : impl_(std::make_unique<Impl>()) {
  g_ = frame_geometry(o, rate);
  Impl& m = *impl_;
  const int L = g_.length, N = g_.fft, bins = N / 2 + 1;
  m.kaldi = o.style == MfccStyle::Kaldi;
  if (!m.kaldi) {
    m.fft = kiss_fftr_alloc(N, 0, nullptr, nullptr);
    if (!m.fft) fail("cannot set up a ", N, "-point FFT");
  }
  m.fft_in.assign(static_cast<std::size_t>(N), 0.0f);
  m.fft_out.resize(static_cast<std::size_t>(bins));
  m.power.resize(static_cast<std::size_t>(bins));
  m.inv_n = static_cast<float>(1.0 / N);
  m.num_filters = o.num_filters;
  m.num_ceps = o.num_ceps;
  m.energy = o.energy;
  m.remove_dc = o.remove_dc;
  m.raw_energy = o.raw_energy;
  m.preemph = o.preemph;
  if (m.kaldi) m.setup_kaldi_fft(N);

  if (o.window != Window::Rect) m.window = frame_window(o.window, L);

  // Mel filterbank, computed as python_speech_features does (float64,
  // numpy.linspace, floor of (N+1) hz / r) so that bin edges agree exactly.
  const double nyquist = rate / 2;
  double hi = o.high_freq > 0 ? o.high_freq : nyquist + o.high_freq;
  if (hi > nyquist) fail("--high-freq ", hi, " Hz is above half the sample rate (", rate, " Hz)");
  if (!(hi > o.low_freq))
    fail("mel filters need --low-freq (", o.low_freq, ") below --high-freq (", hi, " Hz at ", rate,
         " Hz)");
  const int F = o.num_filters, P = F + 2;
  if (m.kaldi) {
    // Kaldi's MelBanks: F + 2 edges equally spaced on its mel scale; each
    // FFT bin below Nyquist weighs in by its own mel value's place on the
    // triangle (interpolation in the mel domain, not in bins). Kaldi and
    // torchaudio compute the weights in float32, in different orders; the
    // float64 weights here are the definition's (they differ from
    // torchaudio's by up to 6e-6).
    const double lo = kaldi_mel(o.low_freq), delta = (kaldi_mel(hi) - lo) / (F + 1);
    const double bin_hz = rate / N;
    m.off.push_back(0);
    for (int j = 0; j < F; ++j) {
      const double left = lo + j * delta, centre = lo + (j + 1) * delta, right = lo + (j + 2) * delta;
      int first = -1;
      for (int i = 0; i < N / 2; ++i) {
        const double mel = kaldi_mel(bin_hz * i);
        if (!(mel > left && mel < right)) {
          if (first >= 0) break;  // past the triangle
          continue;
        }
        if (first < 0) first = i;
        const double w = mel <= centre ? (mel - left) / (centre - left) : (right - mel) / (right - centre);
        m.weights.push_back(static_cast<float>(w));
        m.weights64.push_back(w);
      }
      if (first < 0)
        fail(F, " mel filters between ", o.low_freq, " and ", hi, " Hz leave filter ", j + 1,
             " without an FFT bin at ", rate, " Hz (N = ", N, "): use fewer --num-filters");
      m.first.push_back(first);
      m.off.push_back(static_cast<int>(m.weights.size()));
    }
  }
  const double lo_mel = hz_to_mel(o.low_freq), hi_mel = hz_to_mel(hi);
  const double step = (hi_mel - lo_mel) / (P - 1);
  std::vector<double> bin(static_cast<std::size_t>(P));
  for (int i = 0; i < P && !m.kaldi; ++i) {
    double mel = i == P - 1 ? hi_mel : i * step + lo_mel;
    bin[static_cast<std::size_t>(i)] = std::floor((N + 1) * mel_to_hz(mel) / rate);
  }
  if (!m.kaldi) m.off.push_back(0);
  for (int j = 0; j < F && !m.kaldi; ++j) {
    const double b0 = bin[static_cast<std::size_t>(j)], b1 = bin[static_cast<std::size_t>(j) + 1],
                 b2 = bin[static_cast<std::size_t>(j) + 2];
    const int i0 = static_cast<int>(b0), i1 = static_cast<int>(b1), i2 = static_cast<int>(b2);
    m.first.push_back(std::clamp(i0, 0, bins - 1));
    for (int i = i0; i < i2; ++i) {
      double w = i < i1 ? (i - b0) / (b1 - b0) : (b2 - i) / (b2 - b1);
      if (i >= 0 && i < bins) m.weights.push_back(static_cast<float>(w));
    }
    if (i2 <= i0) m.first.back() = 0;
    m.off.push_back(static_cast<int>(m.weights.size()));
  }
  m.power_t.assign(static_cast<std::size_t>(bins) * kBlock, 0.0f);
  m.logmel_t.assign(static_cast<std::size_t>(F) * kBlock, 0.0f);

  const int C = o.num_ceps;
  m.dct.resize(static_cast<std::size_t>(C) * F);
  const std::vector<double> lifter = lifter_coefficients(C, o.lifter);
  for (int k = 0; k < C; ++k) {
    double scale = k == 0 ? std::sqrt(1.0 / F) : std::sqrt(2.0 / F);
    double lift = lifter[static_cast<std::size_t>(k)];
    for (int j = 0; j < F; ++j)
      m.dct[static_cast<std::size_t>(k) * F + j] =
          static_cast<float>(lift * scale * std::cos(std::numbers::pi * k * (2 * j + 1) / (2.0 * F)));
  if (m.kaldi) {
    m.dct64.resize(static_cast<std::size_t>(C) * F);
    for (int k = 0; k < C; ++k)
      for (int j = 0; j < F; ++j)
        m.dct64[static_cast<std::size_t>(k) * F + j] = lifter[static_cast<std::size_t>(k)] *
            (k == 0 ? std::sqrt(1.0 / F) : std::sqrt(2.0 / F)) * std::cos(std::numbers::pi * k * (2 * j + 1) / (2.0 * F));
  }
  }
}

// The real N-point DFT as an N/2-point complex one: z[n] = x[2n] + i x[2n+1]
// through an iterative radix-2 FFT (each stage's twiddles stored
// contiguously, so that its butterflies vectorise), then split into the
// spectra of the even and odd samples and recombined.
void MfccFrame::Impl::setup_kaldi_fft(int n) {
  const std::size_t N = static_cast<std::size_t>(n), M = N / 2;
  x.assign(N, 0.0);
  re.resize(N);
  im.resize(N);
  zr.resize(M);
  zi.resize(M);
  tw_r.clear();
  tw_i.clear();
  for (std::size_t len = 2; len <= M; len <<= 1)
    for (std::size_t k = 0; k < len / 2; ++k) {
      const double a = 2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(len);
      tw_r.push_back(std::cos(a));
      tw_i.push_back(-std::sin(a));
    }
  split_r.resize(M);
  split_i.resize(M);
  for (std::size_t k = 0; k < M; ++k) {
    const double a = 2 * std::numbers::pi * static_cast<double>(k) / n;
    split_r[k] = std::cos(a);
    split_i[k] = -std::sin(a);
  }
  bitrev.resize(M);
  int bits = 0;
  while ((std::size_t{1} << bits) < M) ++bits;
  for (std::size_t i = 0; i < M; ++i) {
    std::size_t r = 0;
    for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
    bitrev[i] = static_cast<int>(r);
  }
}

// x (N real samples) -> re, im: bins 0 .. N/2.
SB_MFCC_CLONES
void MfccFrame::Impl::fft64(int n) {
  const std::size_t M = static_cast<std::size_t>(n) / 2;
  double* r = zr.data();
  double* i = zi.data();
  for (std::size_t k = 0; k < M; ++k) {
    const std::size_t j = static_cast<std::size_t>(bitrev[k]);
    r[j] = x[2 * k];
    i[j] = x[2 * k + 1];
  }
  const double* wr = tw_r.data();
  const double* wi = tw_i.data();
  for (std::size_t len = 2; len <= M; len <<= 1) {
    const std::size_t half = len / 2;
    for (std::size_t b = 0; b < M; b += len) {
      double *pr = r + b, *pi = i + b, *qr = pr + half, *qi = pi + half;
      for (std::size_t k = 0; k < half; ++k) {
        const double vr = qr[k] * wr[k] - qi[k] * wi[k], vi = qr[k] * wi[k] + qi[k] * wr[k];
        qr[k] = pr[k] - vr;
        qi[k] = pi[k] - vi;
        pr[k] += vr;
        pi[k] += vi;
      }
    }
    wr += half;
    wi += half;
  }
  re[0] = r[0] + i[0];
  im[0] = 0;
  re[M] = r[0] - i[0];
  im[M] = 0;
  for (std::size_t k = 1; k < M; ++k) {
    // E = (Z[k] + conj Z[M-k]) / 2, O = (Z[k] - conj Z[M-k]) / 2i; X[k] = E + W^k O.
    const double er = 0.5 * (r[k] + r[M - k]), ei = 0.5 * (i[k] - i[M - k]);
    const double orr = 0.5 * (i[k] + i[M - k]), oi = -0.5 * (r[k] - r[M - k]);
    re[k] = er + split_r[k] * orr - split_i[k] * oi;
    im[k] = ei + split_r[k] * oi + split_i[k] * orr;
  }
}

// Kaldi's ProcessWindow and MfccComputer::Compute.
void MfccFrame::Impl::compute_kaldi(const float* frame, float* out, int L) {
  const int N = static_cast<int>(x.size());
  double* v = x.data();
  for (int i = 0; i < L; ++i) v[i] = frame[i];
  if (remove_dc) {
    double sum = 0;
    for (int i = 0; i < L; ++i) sum += v[i];
    const double mean = sum / L;
    for (int i = 0; i < L; ++i) v[i] -= mean;
  }
  auto log_energy = [&] {
    double e = 0;
    for (int i = 0; i < L; ++i) e += v[i] * v[i];
    return std::log(std::max(e, static_cast<double>(kKaldiLogFloor)));
  };
  double log_e = raw_energy ? log_energy() : 0;
  if (preemph != 0) {
    for (int i = L - 1; i > 0; --i) v[i] -= preemph * v[i - 1];
    v[0] -= preemph * v[0];
  }
  if (!window.empty())
    for (int i = 0; i < L; ++i) v[i] *= window[static_cast<std::size_t>(i)];
  if (!raw_energy) log_e = log_energy();
  for (int i = L; i < N; ++i) v[i] = 0;
  fft64(N);
  std::vector<double>& P = re;  // |X|^2 in place (Kaldi does not divide by N)
  for (int i = 0; i <= N / 2; ++i)
    P[static_cast<std::size_t>(i)] = re[static_cast<std::size_t>(i)] * re[static_cast<std::size_t>(i)] +
                                     im[static_cast<std::size_t>(i)] * im[static_cast<std::size_t>(i)];
  std::vector<double>& logmel64 = im;  // the spectrum's imaginary part is spent
  for (int j = 0; j < num_filters; ++j) {
    const double* p = P.data() + first[static_cast<std::size_t>(j)];
    const int b = off[static_cast<std::size_t>(j)], e = off[static_cast<std::size_t>(j) + 1];
    double s = 0;
    for (int k = b; k < e; ++k) s += weights64[static_cast<std::size_t>(k)] * p[k - b];
    logmel64[static_cast<std::size_t>(j)] = std::log(std::max(s, static_cast<double>(kKaldiLogFloor)));
  }
  for (int k = 0; k < num_ceps; ++k) {
    double s = 0;
    for (int j = 0; j < num_filters; ++j) s += dct64[static_cast<std::size_t>(k) * num_filters + j] * logmel64[static_cast<std::size_t>(j)];
    out[k] = static_cast<float>(s);
  }
  if (energy) out[0] = static_cast<float>(log_e);
}

MfccFrame::~MfccFrame() = default;

void MfccFrame::compute(const float* frame, float* out) { compute_block(frame, 0, 1, out); }

namespace {
// One float per frame of a block: GCC's and Clang's vector extension, which
// lowers to SSE, AVX or NEON registers (or scalars) and computes each lane
// with the scalar operation, so every lane has the bits of scalar code.
typedef float Lanes __attribute__((vector_size(MfccFrame::kBlock * sizeof(float))));
// (An out-parameter, not a return value: a 32-byte vector returned without
// AVX enabled changes the ABI, and GCC warns.)
inline void load_lanes(Lanes& v, const float* p) { std::memcpy(&v, p, sizeof v); }
}  // namespace

// Frames go through KissFFT one at a time; everything after the FFT runs on
// a block of kBlock frames with one SIMD lane per frame (the spectra stored
// bin-major, power_t[bin * kBlock + lane]). Each lane does exactly the
// scalar sums of one frame, in the same order, so the block and a single
// frame give the same bits, and the compiler is free to vectorise across
// lanes (multiplies and adds, no FMA: -ffp-contract=off).
SB_MFCC_CLONES
void MfccFrame::compute_block(const float* first, std::size_t stride, int count, float* out) {
  Impl& m = *impl_;
  const int L = g_.length, bins = g_.fft / 2 + 1, C = m.num_ceps, F = m.num_filters;
  if (count < 1 || count > kBlock) fail("internal error: MfccFrame block of ", count, " frames");
  if (m.kaldi) {
    for (int b = 0; b < count; ++b) m.compute_kaldi(first + b * stride, out + b * C, L);
    return;
  }
  constexpr int B = kBlock;
  float* in = m.fft_in.data();
  float* PT = m.power_t.data();
  float energy[B];
  for (int b = 0; b < count; ++b) {
    const float* frame = first + static_cast<std::size_t>(b) * stride;
    if (m.window.empty()) {
      std::memcpy(in, frame, sizeof(float) * static_cast<std::size_t>(L));
    } else {
      const float* w = m.window.data();
      for (int i = 0; i < L; ++i) in[i] = frame[i] * w[i];
    }
    kiss_fftr(m.fft, in, m.fft_out.data());

    // Power spectrum, then the frame energy as eight partial sums (bin i
    // into sum i mod 8, the tail into sum 0): vector adds without
    // reassociating, as we build without -ffast-math.
    const kiss_fft_cpx* X = m.fft_out.data();
    float* P = m.power.data();
    for (int i = 0; i < bins; ++i) P[i] = (X[i].r * X[i].r + X[i].i * X[i].i) * m.inv_n;
    float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= bins; i += 8)
      for (int k = 0; k < 8; ++k) part[k] += P[i + k];
    for (; i < bins; ++i) part[0] += P[i];
    energy[b] = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    for (int j = 0; j < bins; ++j) PT[static_cast<std::size_t>(j) * B + b] = P[j];
  }

  // Filterbank: filter j is one sum over its bins, in bin order, per lane.
  const float* w = m.weights.data();
  float* LT = m.logmel_t.data();
  for (int j = 0; j < F; ++j) {
    const float* p = PT + static_cast<std::size_t>(m.first[static_cast<std::size_t>(j)]) * B;
    const int kb = m.off[static_cast<std::size_t>(j)], ke = m.off[static_cast<std::size_t>(j) + 1];
    Lanes sum = {}, v;
    for (int k = kb; k < ke; ++k, p += B) {
      load_lanes(v, p);
      sum += w[k] * v;
    }
    float* lm = LT + static_cast<std::size_t>(j) * B;
    for (int l = 0; l < count; ++l) lm[l] = std::log(std::max(sum[l], kLogFloor));
  }

  // DCT (lifter folded in): coefficient k is one sum over the filters, in order.
  const float* d = m.dct.data();
  for (int k = 0; k < C; ++k) {
    Lanes sum = {}, v;
    for (int j = 0; j < F; ++j) {
      load_lanes(v, LT + static_cast<std::size_t>(j) * B);
      sum += d[k * F + j] * v;
    }
    for (int l = 0; l < count; ++l) out[l * C + k] = sum[l];
  }
  if (m.energy)
    for (int l = 0; l < count; ++l) out[l * C] = std::log(std::max(energy[l], kLogFloor));
}

std::vector<float> MfccFrame::dense_filterbank() const {
  const Impl& m = *impl_;
  const int bins = g_.fft / 2 + 1;
  std::vector<float> fb(static_cast<std::size_t>(m.num_filters) * bins, 0.0f);
  for (int j = 0; j < m.num_filters; ++j)
    for (int k = m.off[static_cast<std::size_t>(j)]; k < m.off[static_cast<std::size_t>(j) + 1]; ++k)
      fb[static_cast<std::size_t>(j) * bins + m.first[static_cast<std::size_t>(j)] +
         (k - m.off[static_cast<std::size_t>(j)])] = m.weights[static_cast<std::size_t>(k)];
  return fb;
}

// ---- deltas ----------------------------------------------------------------

DeltaStage::DeltaStage(int width, int src, int src_width, int window)
    : width_(width), src_(src), src_width_(src_width), window_(window) {
  double denom = 0;
  for (int n = 1; n <= window; ++n) denom += 2.0 * n * n;
  scale_ = static_cast<float>(1.0 / denom);
  ring_.resize(static_cast<std::size_t>(2 * window + 1) * static_cast<std::size_t>(width));
}

void DeltaStage::push(const float* row, std::vector<float>& out) {
  const std::int64_t R = 2 * window_ + 1;
  std::memcpy(&ring_[static_cast<std::size_t>(pushed_ % R) * static_cast<std::size_t>(width_)], row,
              sizeof(float) * static_cast<std::size_t>(width_));
  ++pushed_;
  // Row t is complete once row t + N has arrived.
  if (pushed_ - 1 - window_ >= emitted_) emit(emitted_, pushed_ - 1, out);
}

void DeltaStage::finish(std::vector<float>& out) {
  while (emitted_ < pushed_) emit(emitted_, pushed_ - 1, out);
}

void DeltaStage::emit(std::int64_t t, std::int64_t last, std::vector<float>& out) {
  const std::int64_t R = 2 * window_ + 1;
  auto row = [&](std::int64_t i) {
    i = std::clamp<std::int64_t>(i, 0, last);  // edge padding, as numpy.pad(mode='edge')
    return &ring_[static_cast<std::size_t>(i % R) * static_cast<std::size_t>(width_)];
  };
  const float* x = row(t);
  out.insert(out.end(), x, x + width_);
  std::size_t at = out.size();
  out.resize(at + static_cast<std::size_t>(src_width_));
  for (int c = 0; c < src_width_; ++c) {
    float s = 0;
    for (int n = 1; n <= window_; ++n)
      s += static_cast<float>(n) * (row(t + n)[src_ + c] - row(t - n)[src_ + c]);
    out[at + static_cast<std::size_t>(c)] = s * scale_;
  }
  ++emitted_;
}

// ---- the stream ------------------------------------------------------------

MfccStream::MfccStream(const MfccOptions& opt, double rate, std::string_view key)
    : opt_(opt), frame_(opt, rate), dim_(opt.dim()), rng_(opt.seed ^ fnv1a(key)) {
  block_.resize(static_cast<std::size_t>(opt.num_ceps) * MfccFrame::kBlock);
  buf_.resize(static_cast<std::size_t>(geometry().length) + 8192);
  if (opt.style == MfccStyle::Kaldi) kframe_.resize(static_cast<std::size_t>(geometry().length));
  const int C = opt.num_ceps;
  if (opt.deltas >= 1) d1_ = std::make_unique<DeltaStage>(C, 0, C, opt.delta_window);
  if (opt.deltas >= 2) d2_ = std::make_unique<DeltaStage>(2 * C, C, C, opt.delta_window);
}

MfccStream::~MfccStream() = default;

double MfccStream::gauss() {
  // Box-Muller on 53-bit uniforms: the same numbers on every platform.
  if (have_spare_) {
    have_spare_ = false;
    return spare_;
  }
  double u1 = (static_cast<double>(splitmix64(rng_) >> 11) + 1.0) * 0x1.0p-53;
  double u2 = static_cast<double>(splitmix64(rng_) >> 11) * 0x1.0p-53;
  double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2 * std::numbers::pi * u2);
  have_spare_ = true;
  return r * std::cos(2 * std::numbers::pi * u2);
}

void MfccStream::push(const float* x, std::size_t n, std::vector<float>& out) {
  if (opt_.style == MfccStyle::Kaldi) return push_kaldi(x, n, out);
  const FrameGeometry& g = geometry();
  const float a = static_cast<float>(opt_.preemph);
  const float dither = static_cast<float>(opt_.dither);
  std::size_t at = len_;
  if (buf_.size() < at + n) buf_.resize(at + n);
  len_ = at + n;
  float* y = buf_.data() + at;
  float prev = prev_;
  if (dither > 0) {
    for (std::size_t i = 0; i < n; ++i) {
      float xi = x[i] + dither * static_cast<float>(gauss());
      y[i] = (total_ == 0 && i == 0) ? xi : xi - a * prev;
      prev = xi;
    }
  } else if (n > 0) {
    // y[i] = x[i] - a x[i-1] with x[i-1] read from x, not carried in a
    // variable, so that the loop vectorises.
    y[0] = total_ == 0 ? x[0] : x[0] - a * prev;
    for (std::size_t i = 1; i < n; ++i) y[i] = x[i] - a * x[i - 1];
    prev = x[n - 1];
  }
  prev_ = prev;
  total_ += static_cast<std::int64_t>(n);

  const std::size_t L = static_cast<std::size_t>(g.length), S = static_cast<std::size_t>(g.shift);
  while (len_ - head_ >= L) {
    const std::size_t fit = 1 + (len_ - head_ - L) / S;
    const int n = static_cast<int>(std::min<std::size_t>(MfccFrame::kBlock, fit));
    frames_at(buf_.data() + head_, S, n, out);
    head_ += static_cast<std::size_t>(n) * S;
  }
  // Keep only the samples later frames still need (fewer than L).
  if (head_ > 0) {
    std::size_t keep = len_ > head_ ? len_ - head_ : 0;
    if (keep) std::memmove(buf_.data(), buf_.data() + head_, sizeof(float) * keep);
    len_ = keep;
    head_ = 0;
  }
}

// Kaldi style: buf_ holds raw samples (int16 scale) from index origin_ on;
// frame t is computed once its last sample has arrived, and samples no
// later frame needs are dropped. Only frames that run past the end wait for
// finish(): they need the total length to reflect.
void MfccStream::push_kaldi(const float* x, std::size_t n, std::vector<float>& out) {
  const FrameGeometry& g = geometry();
  if (buf_.size() < len_ + n) buf_.resize(len_ + n);
  float* y = buf_.data() + len_;
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * kInt16Scale;
  len_ += n;
  total_ += static_cast<std::int64_t>(n);
  while (first_sample(frames_, g) + g.length <= total_) {
    gather_kaldi(frames_);
    frames_at(kframe_.data(), 0, 1, out);
  }
  // Keep from the next frame's first sample (or from 0 while frames still
  // reach before the start and reflect into the first samples).
  const std::int64_t keep_from = std::max<std::int64_t>(0, first_sample(frames_, g));
  if (keep_from > origin_) {
    const std::size_t drop = static_cast<std::size_t>(std::min<std::int64_t>(keep_from - origin_, static_cast<std::int64_t>(len_)));
    std::memmove(buf_.data(), buf_.data() + drop, sizeof(float) * (len_ - drop));
    len_ -= drop;
    origin_ += static_cast<std::int64_t>(drop);
  }
}

void MfccStream::gather_kaldi(std::int64_t t) {
  const FrameGeometry& g = geometry();
  const std::int64_t start = first_sample(t, g), n = total_;
  float* f = kframe_.data();
  if (start >= origin_ && start + g.length <= std::min<std::int64_t>(n, origin_ + static_cast<std::int64_t>(len_))) {
    // Inside the signal and held: a plain copy (every frame but the edges).
    std::memcpy(f, buf_.data() + (start - origin_), sizeof(float) * static_cast<std::size_t>(g.length));
  } else {
    for (int s = 0; s < g.length; ++s) {
      std::int64_t i = start + s;
      // Kaldi's ExtractWindow: reflect around either end, as often as needed
      // (-1 -> 0, -2 -> 1; n -> n - 1, n + 1 -> n - 2).
      while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - 1 - i;
      if (i < origin_ || i >= origin_ + static_cast<std::int64_t>(len_))
        fail("internal error: Kaldi frame ", t, " needs sample ", i, ", no longer held");
      f[s] = buf_[static_cast<std::size_t>(i - origin_)];
    }
  }
  if (opt_.dither > 0)  // Kaldi dithers each frame, in int16 units
    for (int s = 0; s < g.length; ++s) f[s] += static_cast<float>(opt_.dither * gauss());
}

void MfccStream::finish_kaldi(std::vector<float>& out) {
  const FrameGeometry& g = geometry();
  const std::int64_t want = num_frames(total_, g);
  if (want == 0)
    fail(total_, " samples are fewer than one ", g.length, "-sample frame (Kaldi's --snip-edges)");
  while (frames_ < want) {
    gather_kaldi(frames_);
    frames_at(kframe_.data(), 0, 1, out);
  }
}

void MfccStream::finish(std::vector<float>& out) {
  if (total_ == 0) fail("no audio samples");
  if (opt_.style == MfccStyle::Kaldi) {
    finish_kaldi(out);
    finish_deltas(out);
    return;
  }
  const FrameGeometry& g = geometry();
  const std::int64_t want = num_frames(total_, g);
  std::vector<float> padded(static_cast<std::size_t>(g.length));
  // Frames that run past the end are zero-padded; each starts S after the last.
  std::size_t at = head_;
  while (frames_ < want) {
    std::size_t have = at < len_ ? len_ - at : 0;
    std::size_t n = std::min<std::size_t>(have, padded.size());
    std::fill(padded.begin(), padded.end(), 0.0f);
    if (n) std::memcpy(padded.data(), buf_.data() + at, sizeof(float) * n);
    frames_at(padded.data(), 0, 1, out);
    at += static_cast<std::size_t>(g.shift);
  }
  finish_deltas(out);
}

void MfccStream::finish_deltas(std::vector<float>& out) {
  if (d1_) {
    tmp_.clear();
    d1_->finish(tmp_);
    if (d2_) {
      for (std::size_t r = 0; r < tmp_.size(); r += static_cast<std::size_t>(d1_->out_width()))
        d2_->push(&tmp_[r], out);
      d2_->finish(out);
    } else {
      out.insert(out.end(), tmp_.begin(), tmp_.end());
    }
  }
}

void MfccStream::frames_at(const float* first, std::size_t stride, int n, std::vector<float>& out) {
  frame_.compute_block(first, stride, n, block_.data());
  frames_ += n;
  for (int r = 0; r < n; ++r)
    emit_static(block_.data() + static_cast<std::size_t>(r) * static_cast<std::size_t>(opt_.num_ceps), out);
}

void MfccStream::emit_static(const float* c, std::vector<float>& out) {
  if (!d1_) {
    out.insert(out.end(), c, c + opt_.num_ceps);
    return;
  }
  if (!d2_) {
    d1_->push(c, out);
    return;
  }
  tmp_.clear();
  d1_->push(c, tmp_);
  if (!tmp_.empty()) d2_->push(tmp_.data(), out);
}

void apply_cmvn(float* data, std::int64_t rows, int dim, Cmvn mode) {
  if (mode == Cmvn::None || rows <= 0) return;
  const std::size_t D = static_cast<std::size_t>(dim);
  std::vector<double> mean(D, 0.0), var(D, 0.0);
  for (std::int64_t t = 0; t < rows; ++t)
    for (std::size_t c = 0; c < D; ++c) mean[c] += data[static_cast<std::size_t>(t) * D + c];
  for (auto& m : mean) m /= static_cast<double>(rows);
  if (mode == Cmvn::MeanVar) {
    for (std::int64_t t = 0; t < rows; ++t)
      for (std::size_t c = 0; c < D; ++c) {
        double d = data[static_cast<std::size_t>(t) * D + c] - mean[c];
        var[c] += d * d;
      }
  }
  for (std::size_t c = 0; c < D; ++c) {
    double sd = mode == Cmvn::MeanVar ? std::sqrt(var[c] / static_cast<double>(rows)) : 0.0;
    double inv = sd > 1e-12 ? 1.0 / sd : 1.0;
    for (std::int64_t t = 0; t < rows; ++t) {
      float& x = data[static_cast<std::size_t>(t) * D + c];
      x = static_cast<float>((x - mean[c]) * inv);
    }
  }
}

}  // namespace sb
