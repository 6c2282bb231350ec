// MFCC features as in the paper's peer code (python_speech_features' `mfcc`
// with nfft=512, all else default), plus the options the rest of the field
// uses. The default definition, for mono x at rate r:
//
//  1. pre-emphasis over the whole signal: y[0] = x[0], y[n] = x[n] - 0.97 x[n-1]
//  2. frames of L = round_half_up(0.025 r) samples every S = round_half_up(0.010 r);
//     1 frame if len <= L, else 1 + ceil((len - L) / S); the last frame is
//     zero-padded; rectangular window
//  3. P = |rfft(frame, N)|^2 / N, N = max(512, next power of two >= L)
//  4. E = sum of P over all N/2+1 bins, floored at machine epsilon (2^-52)
//  5. 26 triangular mel filters over 0 .. r/2: mel(f) = 2595 log10(1 + f/700),
//     28 points equally spaced in mel, bin[j] = floor((N+1) hz(mel_j) / r);
//     filter j rises from bin[j] to bin[j+1] and falls to bin[j+2]
//  6. log of the filter outputs (floored at machine epsilon), orthonormal
//     DCT-II, 13 coefficients, lifter c_n *= 1 + 11 sin(pi n / 22)
//  7. c_0 replaced by log E
//
// Then, optionally, deltas (python_speech_features' `delta`, edge-padded)
// and per-utterance mean/variance normalisation.
//
// MfccStyle::Kaldi is what Kaldi's compute-mfcc-feats computes (with
// MfccOptions::use_kaldi_defaults: its defaults, dither 0). For samples
// scaled to int16 range (x 32768), per frame of L = int(0.025 r) samples
// every S = int(0.010 r):
//
//  1. frames: snip-edges, 1 + (len - L) / S frames, none if len < L; without
//     snip-edges (len + S/2) / S frames centred on t S + S/2, the signal
//     reflected at its ends (x[-1] = x[0], x[len] = x[len-1])
//  2. dither (Gaussian, per frame), then DC removal: x -= mean(x)
//  3. raw energy E = sum x^2 (before pre-emphasis and window), floored at FLT_EPSILON
//  4. pre-emphasis within the frame: x[i] -= 0.97 x[i-1], x[0] -= 0.97 x[0]
//  5. Povey window (Hann^0.85, symmetric), zero-padded to N = next power of two >= L
//  6. P = |rfft|^2 (no 1/N); 23 triangles on mel(f) = 1127 ln(1 + f/700)
//     between 20 Hz and r/2, interpolated in the mel domain over bins 0..N/2-1
//  7. log, floored at FLT_EPSILON; orthonormal DCT-II, 13 kept, lifter 22;
//     c_0 := log E
// Kaldi-style frames are computed in float64 (see MfccFrame::Impl).
//
// Classes follow the SPTK shape: settings fixed in the constructor, scratch
// memory owned by the object, one object per thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/options_itf.h"

namespace sb {

enum class Window { Rect, Hamming, Hann, Povey };
enum class MfccStyle { Peer, Kaldi };
enum class Cmvn { None, Mean, MeanVar };

// What the command line spells differently from MfccOptions' fields: the
// enums as words and `energy` as a negative flag. MfccOptions::Register binds
// these; MfccOptions::set_from converts them once the values are parsed.
struct MfccSpelling {
  std::string window, cmvn;
  bool no_energy = false;
  bool kaldi = false;
};

struct MfccOptions {
  double frame_length_ms = 25;  // window length; L = round_half_up(ms/1000 * r)
  double frame_shift_ms = 10;   // hop; S = round_half_up(ms/1000 * r)
  Window window = Window::Rect;
  int fft_size = 512;           // minimum N; raised to the next power of two >= L
  int num_filters = 26;
  int num_ceps = 13;
  double low_freq = 0;          // Hz
  double high_freq = 0;         // Hz; 0 = r/2, negative = r/2 + high_freq (Kaldi)
  double preemph = 0.97;        // 0 = none
  double lifter = 22;           // 0 = none
  bool energy = true;           // c_0 := log E
  int deltas = 0;               // 0 static, 1 + delta, 2 + delta + delta-delta
  int delta_window = 2;         // N in d_t = sum n (c_{t+n} - c_{t-n}) / (2 sum n^2)
  Cmvn cmvn = Cmvn::None;       // per utterance
  double dither = 0;            // standard deviation of Gaussian noise added to samples
  std::uint64_t seed = 0;       // dither seed (mixed with the utterance key)
  MfccStyle style = MfccStyle::Peer;
  // MfccStyle::Kaldi only (Kaldi's options of the same names).
  bool snip_edges = true;       // frames only where they fit, else centred and reflected
  bool remove_dc = true;        // subtract each frame's mean
  bool raw_energy = true;       // log E before pre-emphasis and window, else after the window
  // Input side (lib/audio/extract.h).
  double rate = 0;              // resample to this rate first (libsoxr); 0 = keep
  int channel = -1;             // -1 = average the channels
  double max_seconds = 0;       // keep only the first max_seconds of audio; 0 = all

  int dim() const { return num_ceps * (1 + deltas); }
  // Throws sb::UsageError naming the option when a setting is out of range.
  void validate() const;

  // Kaldi's Register: the feature options (not the input side: rate and
  // channel mean different things per input kind, so sb-mfcc declares them),
  // with their help and ranges, defaults from the current values. Ranges
  // that depend on other options (num-ceps <= num-filters, frame-shift <=
  // frame-length, fft-size a power of two) are left to validate().
  void Register(OptionsItf& o, MfccSpelling& words);
  // Takes the parsed words back into window, cmvn, energy and style.
  void set_from(const MfccSpelling& words);

  // compute-mfcc-feats' defaults, dither 0: style Kaldi, Povey window, 23
  // filters, low edge 20 Hz, N the next power of two >= L. Called before the
  // parsed values are applied, so that what the user gives still wins.
  void use_kaldi_defaults(MfccSpelling& words);
  // Options that mean something only with --kaldi (given without it: usage error).
  static const std::vector<std::string>& kaldi_only_options();
};

Window window_from_name(std::string_view name);  // rect|hamming|hann|povey; UsageError
const char* window_name(Window w);
Cmvn cmvn_from_name(std::string_view name);      // none|mean|meanvar; UsageError
const char* cmvn_name(Cmvn c);

// The window of L samples: symmetric (period L - 1), as numpy and Kaldi.
std::vector<float> frame_window(Window w, int length);
// Kaldi's mel scale, 1127 ln(1 + hz/700).
double kaldi_mel(double hz);
// 1 + (L/2) sin(pi k / L) for k < num_ceps (all 1 when L is 0).
std::vector<double> lifter_coefficients(int num_ceps, double lifter);

// Frame geometry for a rate; throws sb::Error when the options do not fit
// the rate (a filter above r/2, a frame shorter than 2 samples, ...).
struct FrameGeometry {
  int length = 0;  // L
  int shift = 0;   // S
  int fft = 0;     // N
  MfccStyle style = MfccStyle::Peer;
  bool snip_edges = true;  // Kaldi style only
};
FrameGeometry frame_geometry(const MfccOptions& o, double rate);
// Frames for len samples. Peer: 1 if len <= L else 1 + ceil((len - L) / S).
// Kaldi: snip-edges 0 if len < L else 1 + (len - L) / S; else (len + S/2) / S.
std::int64_t num_frames(std::int64_t len, const FrameGeometry& g);
// Kaldi style: the first sample of frame t (negative for centred frames at the start).
std::int64_t first_sample(std::int64_t t, const FrameGeometry& g);

// Static features of single frames (num_ceps values each).
class MfccFrame {
 public:
  MfccFrame(const MfccOptions& o, double rate);
  ~MfccFrame();
  MfccFrame(const MfccFrame&) = delete;
  MfccFrame& operator=(const MfccFrame&) = delete;

  const FrameGeometry& geometry() const { return g_; }
  // Peer style: L pre-emphasised samples. Kaldi style: L raw samples (int16
  // scale, dithered); DC removal, energy, pre-emphasis happen here.
  // out: num_ceps values.
  void compute(const float* frame, float* out);
  // count (1..kBlock) frames starting stride samples apart from `first`;
  // out: count rows of num_ceps. The same bits as count calls of compute().
  static constexpr int kBlock = 8;
  void compute_block(const float* first, std::size_t stride, int count, float* out);

  // The filterbank as a dense num_filters x (N/2+1) matrix (tests, docs).
  std::vector<float> dense_filterbank() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  FrameGeometry g_;
};

// Appends delta features of a stream of rows, with the lag the window needs.
// Rows of width `width` go in; rows of width + src_width come out, the input
// row followed by the delta of its columns [src, src + src_width).
class DeltaStage {
 public:
  DeltaStage(int width, int src, int src_width, int window);
  // Pushes one row; appends 0 or 1 finished rows to out.
  void push(const float* row, std::vector<float>& out);
  // Appends the rows still held (edge padding at the end).
  void finish(std::vector<float>& out);
  int out_width() const { return width_ + src_width_; }

 private:
  void emit(std::int64_t t, std::int64_t last, std::vector<float>& out);
  int width_, src_, src_width_, window_;
  float scale_;
  std::int64_t pushed_ = 0, emitted_ = 0;
  std::vector<float> ring_;  // the last 2N+1 rows, row i at (i mod (2N+1))
};

// An utterance, sample block by sample block: pre-emphasis, framing, MFCC,
// deltas. Rows (dim() floats each) are appended to `out` as they complete.
class MfccStream {
 public:
  // `key` seeds the dither together with opt.seed, so that results do not
  // depend on the order or thread in which utterances are processed.
  MfccStream(const MfccOptions& opt, double rate, std::string_view key = "");
  ~MfccStream();
  MfccStream(const MfccStream&) = delete;
  MfccStream& operator=(const MfccStream&) = delete;

  int dim() const { return dim_; }
  const FrameGeometry& geometry() const { return frame_.geometry(); }

  void push(const float* x, std::size_t n, std::vector<float>& out);
  // Computes the last, zero-padded frames. Throws sb::Error if no sample was
  // pushed (an utterance without audio has no features).
  void finish(std::vector<float>& out);
  std::int64_t samples() const { return total_; }

 private:
  // n frames (1..MfccFrame::kBlock) stride samples apart, through the
  // frame block, the deltas and out.
  void frames_at(const float* first, std::size_t stride, int n, std::vector<float>& out);
  void emit_static(const float* c, std::vector<float>& out);
  double gauss();
  void push_kaldi(const float* x, std::size_t n, std::vector<float>& out);
  void finish_kaldi(std::vector<float>& out);
  void finish_deltas(std::vector<float>& out);
  // Kaldi style: frame t's samples (reflected at the ends), dithered, into kframe_.
  void gather_kaldi(std::int64_t t);

  MfccOptions opt_;
  MfccFrame frame_;
  int dim_;
  std::vector<float> buf_;   // storage; only grows, so refills need no zeroing
  std::size_t len_ = 0;      // pre-emphasised samples in buf_ not yet consumed
  std::size_t head_ = 0;     // start of the next frame within buf_
  std::int64_t total_ = 0;   // samples pushed
  std::int64_t frames_ = 0;  // static frames computed
  float prev_ = 0;           // last raw sample, for pre-emphasis across blocks
  std::vector<float> tmp_;
  std::vector<float> block_;  // MfccFrame::kBlock rows of static cepstra
  std::int64_t origin_ = 0;  // Kaldi style: the sample index of buf_[0]
  std::vector<float> kframe_;
  std::unique_ptr<DeltaStage> d1_, d2_;
  std::uint64_t rng_;
  bool have_spare_ = false;
  double spare_ = 0;
};

// Per-utterance mean (and variance) normalisation of a rows x dim matrix.
// A column with zero variance is only centred.
void apply_cmvn(float* data, std::int64_t rows, int dim, Cmvn mode);

}  // namespace sb
