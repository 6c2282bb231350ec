// lib/audio: MFCC against the reference values in $SB_TESTDATA/mfcc (computed
// in float64 by the peer's definition), streaming invariance, frame counts,
// deltas, CMVN, dither, resampling and the audio reader's error handling.
#define BOOST_TEST_MODULE audio
#include <sndfile.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <numbers>
#include <string>
#include <unistd.h>
#include <vector>

#include "audio/audio.h"
#include "audio/extract.h"
#include "audio/inputs.h"
#include "audio/mfcc.h"
#include "audio/resample.h"
#include "core/error.h"
#include "io/npy.h"

namespace fs = std::filesystem;
namespace tt = boost::test_tools;
using namespace sb;

namespace {

fs::path testdata() {
  const char* d = std::getenv("SB_TESTDATA");
  BOOST_REQUIRE_MESSAGE(d && *d, "SB_TESTDATA is not set");
  return fs::path(d) / "mfcc";
}

std::vector<float> mfcc_of(const std::vector<float>& x, double rate, const MfccOptions& o,
                           std::size_t block) {
  MfccStream s(o, rate);
  std::vector<float> out;
  for (std::size_t i = 0; i < x.size(); i += block)
    s.push(x.data() + i, std::min(block, x.size() - i), out);
  s.finish(out);
  return out;
}

// A 16-bit mono WAV in memory (the header written out by hand so that the
// test controls every byte, including a lying data size).
std::vector<unsigned char> wav_bytes(const std::vector<short>& pcm, int rate,
                                     std::uint32_t declared_data = 0xFFFFFFFFu) {
  std::vector<unsigned char> b;
  auto u32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
  };
  auto u16 = [&](std::uint16_t v) {
    b.push_back(static_cast<unsigned char>(v));
    b.push_back(static_cast<unsigned char>(v >> 8));
  };
  auto tag = [&](const char* t) { b.insert(b.end(), t, t + 4); };
  std::uint32_t data = static_cast<std::uint32_t>(pcm.size() * 2);
  if (declared_data == 0xFFFFFFFFu) declared_data = data;
  tag("RIFF");
  u32(36 + declared_data);
  tag("WAVE");
  tag("fmt ");
  u32(16);
  u16(1);
  u16(1);
  u32(static_cast<std::uint32_t>(rate));
  u32(static_cast<std::uint32_t>(rate * 2));
  u16(2);
  u16(16);
  tag("data");
  u32(declared_data);
  for (short s : pcm) u16(static_cast<std::uint16_t>(s));
  return b;
}

std::vector<float> sine(double f, double rate, std::size_t n, double amp = 0.5) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(amp * std::sin(2 * std::numbers::pi * f * static_cast<double>(i) / rate));
  return x;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reference)

// Every audio file in testdata/mfcc with an X.npy beside it must match it.
BOOST_AUTO_TEST_CASE(every_reference_file_matches) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(testdata())) {
    fs::path p = entry.path();
    if (p.extension() == ".npy" || p.extension() == ".md") continue;
    fs::path npy = p;
    npy += ".npy";
    if (!fs::exists(npy)) continue;
    ++files;
    Tensor want = read_npy(npy.string());
    std::vector<float> ref = want.to_f32();
    AudioReader in(p.string());
    UtterancePlan plan;
    std::vector<float> got = extract_mfcc(in, MfccOptions{}, p.stem().string(), &plan);
    BOOST_TEST_REQUIRE(want.rank() == 2, p.filename());
    BOOST_TEST(plan.rows == want.dim(0), p.filename() << ": rows");
    BOOST_TEST(plan.dim == want.dim(1), p.filename() << ": columns");
    BOOST_TEST_REQUIRE(got.size() == ref.size(), p.filename());
    double worst = 0;
    bool finite = true;
    for (std::size_t i = 0; i < got.size(); ++i) {
      finite = finite && std::isfinite(got[i]);
      worst = std::max(worst, std::abs(static_cast<double>(got[i]) - ref[i]));
    }
    BOOST_TEST_MESSAGE(p.filename().string() << ": " << plan.rows << " x " << plan.dim
                                             << ", max |delta| = " << worst);
    BOOST_TEST(finite, p.filename() << ": non-finite value");
    BOOST_TEST(worst <= 2e-3, p.filename() << ": max |delta| " << worst);
  }
  BOOST_TEST(files >= 8, "reference files found: " << files);
}

BOOST_AUTO_TEST_CASE(flac_equals_wav) {
  AudioReader a((testdata() / "speech-16k-s16.wav").string());
  AudioReader b((testdata() / "speech-16k.flac").string());
  BOOST_TEST(extract_mfcc(a, {}, "x") == extract_mfcc(b, {}, "x"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(framing)

BOOST_AUTO_TEST_CASE(geometry_per_rate) {
  MfccOptions o;
  auto g16 = frame_geometry(o, 16000), g8 = frame_geometry(o, 8000), g44 = frame_geometry(o, 44100);
  BOOST_TEST((g16.length == 400 && g16.shift == 160 && g16.fft == 512));
  BOOST_TEST((g8.length == 200 && g8.shift == 80 && g8.fft == 512));
  // 0.025 * 44100 = 1102.5 rounds half up to 1103 > 1024, so N grows to 2048.
  BOOST_TEST((g44.length == 1103 && g44.shift == 441 && g44.fft == 2048));
}

BOOST_AUTO_TEST_CASE(frame_counts) {
  auto g = frame_geometry(MfccOptions{}, 16000);
  BOOST_TEST(num_frames(1, g) == 1);
  BOOST_TEST(num_frames(400, g) == 1);
  BOOST_TEST(num_frames(401, g) == 2);
  BOOST_TEST(num_frames(560, g) == 2);
  BOOST_TEST(num_frames(561, g) == 3);
  BOOST_TEST(num_frames(16000, g) == 99);  // 1 + ceil(15600 / 160)
}

// Block boundaries must not change a single bit of the output.
BOOST_AUTO_TEST_CASE(streaming_is_block_size_invariant) {
  std::vector<float> x = sine(440, 16000, 7777);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] += 0.01f * static_cast<float>((i * 7919) % 13) - 0.06f;
  for (int deltas = 0; deltas <= 2; ++deltas) {
    MfccOptions o;
    o.deltas = deltas;
    auto whole = mfcc_of(x, 16000, o, x.size());
    BOOST_TEST(whole.size() == static_cast<std::size_t>(num_frames(7777, frame_geometry(o, 16000)) * o.dim()));
    for (std::size_t block : {1, 7, 160, 399, 4096})
      BOOST_TEST((mfcc_of(x, 16000, o, block) == whole), "deltas " << deltas << " block " << block);
  }
}

// A block of frames (one SIMD lane each) gives each frame the bits it gets alone.
BOOST_AUTO_TEST_CASE(frame_blocks_equal_single_frames) {
  std::vector<float> x = sine(330, 16000, 4000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] += 0.02f * static_cast<float>((i * 104729) % 17) - 0.16f;
  for (Window w : {Window::Rect, Window::Hamming}) {
    MfccOptions o;
    o.window = w;
    MfccFrame f(o, 16000);
    const std::size_t C = static_cast<std::size_t>(o.num_ceps), S = 160;
    for (int count = 1; count <= MfccFrame::kBlock; ++count) {
      std::vector<float> block(C * static_cast<std::size_t>(count)), one(C);
      f.compute_block(x.data() + 37, S, count, block.data());
      for (int b = 0; b < count; ++b) {
        f.compute(x.data() + 37 + static_cast<std::size_t>(b) * S, one.data());
        BOOST_TEST((std::vector<float>(block.begin() + static_cast<std::ptrdiff_t>(C) * b,
                                       block.begin() + static_cast<std::ptrdiff_t>(C) * (b + 1)) == one),
                   "window " << window_name(w) << " frame " << b << " of " << count);
      }
    }
    std::vector<float> out(C * (MfccFrame::kBlock + 1));
    BOOST_CHECK_THROW(f.compute_block(x.data(), S, MfccFrame::kBlock + 1, out.data()), Error);
    BOOST_CHECK_THROW(f.compute_block(x.data(), S, 0, out.data()), Error);
  }
}

// 16-bit PCM is read as int16 and scaled by sb: the samples must be the
// floats libsndfile itself gives.
BOOST_AUTO_TEST_CASE(pcm16_samples_equal_libsndfile_floats) {
  for (const char* name : {"speech-16k-s16.wav", "speech-16k.flac", "speech-44k-stereo.wav"}) {
    const std::string path = (testdata() / name).string();
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    BOOST_REQUIRE(f);
    BOOST_REQUIRE_EQUAL(info.format & SF_FORMAT_SUBMASK, SF_FORMAT_PCM_16);
    std::vector<float> want(static_cast<std::size_t>(info.frames * info.channels));
    BOOST_REQUIRE_EQUAL(sf_readf_float(f, want.data(), info.frames), info.frames);
    sf_close(f);
    AudioReader r(path, 0);  // channel 0: the interleaved samples, unmixed
    std::vector<float> got(static_cast<std::size_t>(info.frames));
    BOOST_REQUIRE_EQUAL(r.read(got.data(), got.size()), got.size());
    bool same = true;
    for (std::size_t i = 0; i < got.size(); ++i)
      same = same && got[i] == want[i * static_cast<std::size_t>(info.channels)];
    BOOST_TEST(same, name);
  }
}

BOOST_AUTO_TEST_CASE(no_samples_is_an_error) {
  MfccStream s(MfccOptions{}, 16000);
  std::vector<float> out;
  BOOST_CHECK_THROW(s.finish(out), Error);
}

BOOST_AUTO_TEST_CASE(silence_is_finite_and_floored) {
  std::vector<float> x(1000, 0.0f);
  auto c = mfcc_of(x, 16000, MfccOptions{}, 1000);
  BOOST_TEST_REQUIRE(c.size() == 5u * 13u);
  const float log_eps = static_cast<float>(std::log(std::numeric_limits<double>::epsilon()));
  for (int t = 0; t < 5; ++t) {
    BOOST_TEST(c[static_cast<std::size_t>(t) * 13] == log_eps, tt::tolerance(1e-5f));
    for (int k = 1; k < 13; ++k) BOOST_TEST(std::abs(c[static_cast<std::size_t>(t) * 13 + k]) < 1e-3f);
  }
}

// The pre-emphasis filter runs over the whole signal, so a constant signal
// leaves only its first sample: frame 0 differs from frame 1 onwards.
BOOST_AUTO_TEST_CASE(preemphasis_spans_the_signal) {
  std::vector<float> x(2000, 0.25f);
  MfccOptions o;
  o.preemph = 1.0;
  auto c = mfcc_of(x, 16000, o, 333);
  // Frame 1 (samples 160..559) is all zero after y[n] = x[n] - x[n-1].
  const float log_eps = static_cast<float>(std::log(std::numeric_limits<double>::epsilon()));
  BOOST_TEST(c[13] == log_eps, tt::tolerance(1e-5f));
  // Frame 0 holds y[0] = 0.25 alone: P = 0.0625 / 512 in each of 257 bins.
  BOOST_TEST(c[0] == std::log(257 * 0.0625f / 512), tt::tolerance(1e-4f));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(options)

BOOST_AUTO_TEST_CASE(filterbank_shape) {
  MfccFrame f(MfccOptions{}, 16000);
  auto fb = f.dense_filterbank();
  BOOST_TEST_REQUIRE(fb.size() == 26u * 257u);
  for (int j = 0; j < 26; ++j) {
    float peak = *std::max_element(fb.begin() + j * 257, fb.begin() + (j + 1) * 257);
    BOOST_TEST(peak == 1.0f, "filter " << j);
  }
  // The top edge is bin floor(513 * 8000 / 16000) = 256, which the peer's
  // half-open ranges leave out.
  for (int j = 0; j < 26; ++j) BOOST_TEST(fb[static_cast<std::size_t>(j) * 257 + 256] == 0.0f);
}

BOOST_AUTO_TEST_CASE(windows_change_the_features) {
  std::vector<float> x = sine(1000, 16000, 4000);
  std::vector<float> rect = mfcc_of(x, 16000, MfccOptions{}, 4000);
  for (Window w : {Window::Hamming, Window::Hann, Window::Povey}) {
    MfccOptions o;
    o.window = w;
    auto c = mfcc_of(x, 16000, o, 4000);
    BOOST_TEST(c.size() == rect.size());
    BOOST_TEST((c != rect), window_name(w));
    // A window < 1 removes energy: log E drops.
    BOOST_TEST(c[13] < rect[13], window_name(w));
  }
  BOOST_TEST((window_from_name("hann") == Window::Hann));
  BOOST_CHECK_THROW(window_from_name("blackman"), UsageError);
}

BOOST_AUTO_TEST_CASE(energy_off_keeps_c0) {
  std::vector<float> x = sine(700, 16000, 3000);
  MfccOptions on, off;
  off.energy = false;
  auto a = mfcc_of(x, 16000, on, 3000), b = mfcc_of(x, 16000, off, 3000);
  BOOST_TEST(a[0] != b[0]);
  BOOST_TEST(std::equal(a.begin() + 1, a.begin() + 13, b.begin() + 1));
}

BOOST_AUTO_TEST_CASE(cepstra_and_filters) {
  MfccOptions o;
  o.num_ceps = 20;
  o.num_filters = 40;
  o.low_freq = 20;
  o.high_freq = 7600;
  o.lifter = 0;
  auto c = mfcc_of(sine(300, 16000, 1600), 16000, o, 1600);
  BOOST_TEST(c.size() == 9u * 20u);  // 1 + ceil(1200 / 160)
  o.num_ceps = 41;
  BOOST_CHECK_THROW(o.validate(), UsageError);
  o.num_ceps = 13;
  o.high_freq = 9000;  // above 8 kHz Nyquist
  BOOST_CHECK_THROW(MfccFrame(o, 16000), Error);
}

BOOST_AUTO_TEST_CASE(validate_ranges) {
  auto bad = [](auto set) {
    MfccOptions o;
    set(o);
    BOOST_CHECK_THROW(o.validate(), UsageError);
  };
  bad([](MfccOptions& o) { o.frame_length_ms = 0; });
  bad([](MfccOptions& o) { o.frame_shift_ms = 30; });
  bad([](MfccOptions& o) { o.fft_size = 500; });
  bad([](MfccOptions& o) { o.preemph = 1.5; });
  bad([](MfccOptions& o) { o.deltas = 3; });
  bad([](MfccOptions& o) { o.dither = -1; });
  bad([](MfccOptions& o) { o.max_seconds = -2; });
  MfccOptions ok;
  BOOST_CHECK_NO_THROW(ok.validate());
}

// python_speech_features' delta: d_t = sum_n n (c_{t+n} - c_{t-n}) / (2 sum n^2),
// with edge padding. For c_t = t and N = 2 the interior is 1; at t = 0 the
// left neighbours are c_0: (1*1 + 2*2) / 10 = 0.5; at t = 1: (1*2 + 2*3 - 0 - 0)/10 ...
BOOST_AUTO_TEST_CASE(delta_known_values) {
  DeltaStage d(1, 0, 1, 2);
  std::vector<float> out;
  for (int t = 0; t < 6; ++t) {
    float v = static_cast<float>(t);
    d.push(&v, out);
  }
  d.finish(out);
  // rows: [c_t, d_t]
  const float want[6] = {0.5f, 0.8f, 1.0f, 1.0f, 0.8f, 0.5f};
  BOOST_TEST_REQUIRE(out.size() == 12u);
  for (int t = 0; t < 6; ++t) {
    BOOST_TEST(out[static_cast<std::size_t>(2 * t)] == static_cast<float>(t));
    BOOST_TEST(out[static_cast<std::size_t>(2 * t + 1)] == want[t], tt::tolerance(1e-6f));
  }
  // A single row has zero delta.
  DeltaStage one(1, 0, 1, 2);
  std::vector<float> o1;
  float v = 3;
  one.push(&v, o1);
  one.finish(o1);
  BOOST_TEST((o1 == std::vector<float>{3.0f, 0.0f}));
}

BOOST_AUTO_TEST_CASE(delta_delta_layout) {
  MfccOptions o;
  o.deltas = 2;
  auto x = sine(500, 16000, 5000);
  auto c = mfcc_of(x, 16000, o, 5000);
  auto s = mfcc_of(x, 16000, MfccOptions{}, 5000);
  const std::size_t T = s.size() / 13;
  BOOST_TEST_REQUIRE(c.size() == T * 39);
  for (std::size_t t = 0; t < T; ++t)
    BOOST_TEST(std::equal(s.begin() + static_cast<long>(t * 13), s.begin() + static_cast<long>(t * 13 + 13),
                          c.begin() + static_cast<long>(t * 39)));
  // delta of c0 at an interior frame, recomputed from the static features.
  const std::size_t t = 10;
  float d = 0;
  for (int n = 1; n <= 2; ++n) d += static_cast<float>(n) * (s[(t + n) * 13] - s[(t - n) * 13]);
  BOOST_TEST(c[t * 39 + 13] == d / 10, tt::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(cmvn_normalises) {
  std::vector<float> m = {1, 10, 3, 10, 5, 10};  // 3 rows x 2
  auto a = m;
  apply_cmvn(a.data(), 3, 2, Cmvn::Mean);
  BOOST_TEST((a == std::vector<float>{-2, 0, 0, 0, 2, 0}));
  apply_cmvn(m.data(), 3, 2, Cmvn::MeanVar);
  const float s = static_cast<float>(std::sqrt(1.5));  // 2 / sqrt(8/3)
  BOOST_TEST(m[0] == -s, tt::tolerance(1e-6f));
  BOOST_TEST(m[4] == s, tt::tolerance(1e-6f));
  BOOST_TEST(m[1] == 0.0f);  // constant column: centred only
  BOOST_CHECK_THROW(cmvn_from_name("var"), UsageError);
}

BOOST_AUTO_TEST_CASE(dither_is_seeded_per_utterance) {
  std::vector<float> x(3000, 0.0f);
  MfccOptions o;
  o.dither = 1e-3;
  o.seed = 7;
  auto run = [&](std::string_view key, std::size_t block) {
    MfccStream s(o, 16000, key);
    std::vector<float> out;
    for (std::size_t i = 0; i < x.size(); i += block) s.push(x.data() + i, std::min(block, x.size() - i), out);
    s.finish(out);
    return out;
  };
  auto a = run("utt1", 3000);
  BOOST_TEST((a == run("utt1", 17)));
  BOOST_TEST((a != run("utt2", 3000)));
  // Noise of standard deviation 1e-3 has power ~1e-6 per sample: log E is
  // near log(400 * 1e-6) rather than at the floor.
  BOOST_TEST(std::abs(a[13] - std::log(400e-6f)) < 0.5f);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(input)

BOOST_AUTO_TEST_CASE(memory_equals_file) {
  fs::path p = testdata() / "speech-8k-s16.wav";
  std::ifstream f(p, std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Audio a = read_audio(p.string());
  Audio b = read_audio_memory(bytes.data(), bytes.size(), "mem");
  BOOST_TEST(a.rate == 8000);
  BOOST_TEST((a.samples == b.samples));
  BOOST_TEST(!a.samples.empty());
}

BOOST_AUTO_TEST_CASE(stereo_is_averaged_or_picked) {
  fs::path p = testdata() / "speech-44k-stereo.wav";
  Audio mix = read_audio(p.string());
  Audio left = read_audio(p.string(), 0), right = read_audio(p.string(), 1);
  BOOST_TEST_REQUIRE(mix.samples.size() == left.samples.size());
  double worst = 0;
  for (std::size_t i = 0; i < mix.samples.size(); ++i)
    worst = std::max(worst, std::abs(double(mix.samples[i]) - (double(left.samples[i]) + right.samples[i]) / 2));
  BOOST_TEST(worst < 1e-7);
  BOOST_CHECK_THROW(read_audio(p.string(), 2), Error);
}

BOOST_AUTO_TEST_CASE(wav_samples_are_normalised) {
  auto b = wav_bytes({0, 16384, -32768, 32767}, 16000);
  Audio a = read_audio_memory(b.data(), b.size(), "four");
  BOOST_TEST((a.samples == std::vector<float>{0.0f, 0.5f, -1.0f, 32767.0f / 32768}));
}

BOOST_AUTO_TEST_CASE(truncated_wav_is_an_error) {
  auto b = wav_bytes(std::vector<short>(1000, 100), 16000, 4000);  // promises 2000 samples
  try {
    read_audio_memory(b.data(), b.size(), "cut.wav");
    BOOST_FAIL("no error for a truncated WAV");
  } catch (const Error& e) {
    std::string m = e.what();
    BOOST_TEST(m.rfind("cut.wav: truncated", 0) == 0, m);
  }
}

// Every container libsndfile writes, cut at three quarters: an error every
// time (a truncated file, or a format whose header records no length and is
// therefore refused), never a shorter utterance; the whole file reads fully
// where the format is accepted.
BOOST_AUTO_TEST_CASE(every_format_cut_short_is_an_error) {
  const fs::path dir = fs::temp_directory_path() / ("sb-test-formats." + std::to_string(::getpid()));
  fs::create_directories(dir);
  int majors = 0;
  sf_command(nullptr, SFC_GET_FORMAT_MAJOR_COUNT, &majors, sizeof majors);
  int tried = 0;
  for (int i = 0; i < majors; ++i) {
    SF_FORMAT_INFO fi{};
    fi.format = i;
    sf_command(nullptr, SFC_GET_FORMAT_MAJOR, &fi, sizeof fi);
    if ((fi.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RAW) continue;  // no header: --raw's own checks
    SF_INFO info{};
    info.samplerate = 16000;
    info.channels = 1;
    bool writable = false;
    for (int sub : {SF_FORMAT_PCM_16, SF_FORMAT_PCM_S8, SF_FORMAT_VORBIS, SF_FORMAT_OPUS,
                    SF_FORMAT_MPEG_LAYER_III, SF_FORMAT_FLOAT}) {
      info.format = fi.format | sub;
      if (sf_format_check(&info)) {
        writable = true;
        break;
      }
    }
    if (!writable) continue;
    const std::string path = (dir / (std::string("whole.") + fi.extension)).string();
    SNDFILE* w = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!w) continue;
    std::vector<float> x(16000);
    for (std::size_t j = 0; j < x.size(); ++j) x[j] = 0.3f * std::sin(0.05f * static_cast<float>(j));
    sf_writef_float(w, x.data(), static_cast<sf_count_t>(x.size()));
    sf_close(w);
    ++tried;
    std::ifstream in(path, std::ios::binary);
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string cut_name = std::string("cut.") + fi.extension;
    bool whole_ok = false;
    try {
      whole_ok = read_audio_memory(bytes.data(), bytes.size(), path).samples.size() >= 15000;
    } catch (const Error& e) {
      BOOST_TEST_MESSAGE(fi.name << ": refused whole: " << e.what());
    }
    try {
      const Audio a = read_audio_memory(bytes.data(), bytes.size() * 3 / 4, cut_name);
      BOOST_ERROR(fi.name << ": a file cut to 3/4 read as " << a.samples.size() << " samples");
    } catch (const Error& e) {
      const std::string m = e.what();
      BOOST_TEST(m.rfind(cut_name + ": ", 0) == 0, m);
      BOOST_TEST_MESSAGE(fi.name << (whole_ok ? " (read whole)" : " (refused)") << ": cut: " << m);
    }
  }
  fs::remove_all(dir);
  BOOST_TEST(tried >= 15);
}

BOOST_AUTO_TEST_CASE(non_finite_and_huge_samples_are_errors) {
  const fs::path dir = fs::temp_directory_path() / ("sb-test-nan." + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto float_wav = [&](float bad, const std::string& name) {
    const std::string path = (dir / name).string();
    SF_INFO info{};
    info.samplerate = 16000;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* w = sf_open(path.c_str(), SFM_WRITE, &info);
    BOOST_REQUIRE(w);
    sf_command(w, SFC_SET_NORM_FLOAT, nullptr, SF_FALSE);
    std::vector<float> x(4000, 0.25f);
    x[1234] = bad;
    sf_writef_float(w, x.data(), static_cast<sf_count_t>(x.size()));
    sf_close(w);
    return path;
  };
  auto message = [](const std::string& path) -> std::string {
    try {
      read_audio(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  const std::string nan = message(float_wav(std::nanf(""), "nan.wav"));
  BOOST_TEST(nan.find("nan.wav: sample 1234 is nan") != std::string::npos, nan);
  const std::string inf = message(float_wav(std::numeric_limits<float>::infinity(), "inf.wav"));
  BOOST_TEST(inf.find("inf.wav: sample 1234 is inf") != std::string::npos, inf);
  const std::string huge = message(float_wav(1e30f, "huge.wav"));
  BOOST_TEST(huge.find("huge.wav: sample 1234 is 1e+30 (beyond") != std::string::npos, huge);
  BOOST_TEST(message(float_wav(1.5f, "loud.wav")).empty());  // overshoot is audio
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(bad_inputs_name_the_input) {
  std::vector<unsigned char> junk(100, 'x');
  auto starts = [](const std::function<void()>& f, const std::string& prefix) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what()).rfind(prefix, 0) == 0;
    }
    return false;
  };
  BOOST_TEST(starts([&] { read_audio_memory(junk.data(), junk.size(), "junk.wav"); }, "junk.wav: "));
  BOOST_TEST(starts([&] { read_audio_memory(junk.data(), 0, "empty.wav"); }, "empty.wav: empty"));
  BOOST_TEST(starts([&] { read_audio("/nonexistent/x.wav"); }, "/nonexistent/x.wav: "));
  // A header with no samples reads fine but has no features.
  auto hdr = wav_bytes({}, 16000);
  AudioReader in(hdr.data(), hdr.size(), "nothing.wav");
  BOOST_TEST(starts([&] { extract_mfcc(in, {}, "k"); }, "nothing.wav: no audio samples"));
}

BOOST_AUTO_TEST_CASE(raw_pcm) {
  std::vector<unsigned char> b = {0x00, 0x40, 0x00, 0xC0, 0xFF, 0x7F};  // 16384, -16384, 32767
  RawFormat raw;
  raw.rate = 8000;
  AudioReader in(b.data(), b.size(), "raw", -1, &raw);
  BOOST_TEST(in.info().frames == 3);
  BOOST_TEST(in.info().rate == 8000);
  std::vector<float> x(3);
  BOOST_TEST(in.read(x.data(), 3) == 3u);
  BOOST_TEST((x == std::vector<float>{0.5f, -0.5f, 32767.0f / 32768}));
  // A byte left over is a cut sample, not a shorter signal.
  BOOST_CHECK_THROW(AudioReader(b.data(), 5, "raw", -1, &raw), Error);
  raw.encoding = "s12";
  BOOST_CHECK_THROW(AudioReader(b.data(), b.size(), "raw", -1, &raw), Error);
}

BOOST_AUTO_TEST_CASE(max_seconds_cuts) {
  AudioReader in((testdata() / "speech-16k-s16.wav").string());
  MfccOptions o;
  o.max_seconds = 0.5;
  UtterancePlan plan;
  auto c = extract_mfcc(in, o, "k", &plan);
  BOOST_TEST(plan.in_samples == 8000);
  BOOST_TEST(plan.rows == 49);  // 1 + ceil((8000 - 400) / 160)
  AudioReader full((testdata() / "speech-16k-s16.wav").string());
  auto all = extract_mfcc(full, {}, "k");
  // The first frames see the same samples.
  BOOST_TEST(std::equal(c.begin(), c.begin() + 13 * 40, all.begin()));
}

BOOST_AUTO_TEST_CASE(sources) {
  BOOST_TEST(key_from_path("a/b/utt1.wav") == "utt1");
  BOOST_TEST(key_from_path("x.tar.gz") == "x.tar");
  BOOST_TEST(key_from_path("dir/.hidden") == ".hidden");
  fs::path scp = fs::temp_directory_path() / ("sb-test-audio-" + std::to_string(::getpid()) + ".scp");
  {
    std::ofstream f(scp);
    f << "u1 " << (testdata() / "short-16k.wav").string() << "\n\n"
      << "u2 cat " << (testdata() / "short-16k.wav").string() << " |\n";
  }
  auto list = read_wav_scp(scp.string());
  fs::remove(scp);
  BOOST_TEST_REQUIRE(list.size() == 2u);
  BOOST_TEST((list[0].key == "u1" && list[0].is_file()));
  BOOST_TEST(list[1].is_command());
  BOOST_TEST(list[1].origin == scp.string() + ":3");
  auto a = open_source(list[0], -1, nullptr, nullptr);
  auto b = open_source(list[1], -1, nullptr, nullptr);
  BOOST_TEST((extract_mfcc(*a, {}, "k") == extract_mfcc(*b, {}, "k")));
  BOOST_CHECK_THROW(run_command("exit 3"), Error);
  BOOST_TEST((run_command("printf abc").bytes() == std::vector<unsigned char>{'a', 'b', 'c'}));
  BOOST_TEST(run_command("head -c 200000 /dev/zero").size() == 200000);
  // Spooled to $TMPDIR: a directory that cannot hold it is an error naming the command.
  ::setenv("TMPDIR", "/nonexistent-sb-dir", 1);
  BOOST_CHECK_EXCEPTION(run_command("printf abc"), Error, [](const Error& e) {
    return std::string(e.what()).find("command 'printf abc'") != std::string::npos &&
           std::string(e.what()).find("/nonexistent-sb-dir") != std::string::npos;
  });
  ::unsetenv("TMPDIR");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(resampling)

BOOST_AUTO_TEST_CASE(length_and_fidelity) {
  if (!resampling_available()) {
    BOOST_TEST_MESSAGE("built without libsoxr");
    BOOST_CHECK_THROW(resample(nullptr, 0, 16000, 8000), Error);
    return;
  }
  auto x = sine(1000, 44100, 44100);
  auto y = resample(x.data(), x.size(), 44100, 16000);
  BOOST_TEST(y.size() == 16000u);
  BOOST_TEST(resampled_length(300, 16000, 8000) == 150);
  BOOST_TEST(resampled_length(3, 44100, 16000) == 1);  // 1.088 rounds to 1
  // Away from the edges the output is the same sine sampled at 16 kHz.
  auto want = sine(1000, 16000, 16000);
  double worst = 0;
  for (std::size_t i = 1000; i < 15000; ++i) worst = std::max(worst, double(std::abs(y[i] - want[i])));
  BOOST_TEST(worst < 1e-3);
  // Streaming in odd blocks gives the same samples.
  Resampler r(44100, 16000);
  std::vector<float> z;
  for (std::size_t i = 0; i < x.size(); i += 1234) r.process(x.data() + i, std::min<std::size_t>(1234, x.size() - i), z);
  r.finish(z);
  BOOST_TEST((z == y));
}

BOOST_AUTO_TEST_CASE(features_at_another_rate) {
  if (!resampling_available()) return;
  AudioReader in((testdata() / "speech-44k-stereo.wav").string());
  MfccOptions o;
  o.rate = 16000;
  UtterancePlan plan;
  auto c = extract_mfcc(in, o, "k", &plan);
  BOOST_TEST(plan.rate == 16000);
  BOOST_TEST(plan.samples == resampled_length(plan.in_samples, 44100, 16000));
  BOOST_TEST(plan.rows == num_frames(plan.samples, frame_geometry(o, 16000)));
  BOOST_TEST(c.size() == static_cast<std::size_t>(plan.rows) * 13);
}

BOOST_AUTO_TEST_SUITE_END()

// Kaldi-compatible MFCC (MfccStyle::Kaldi): each piece against answers
// worked out by hand or from Kaldi's definitions; the whole pipeline is
// compared with torchaudio.compliance.kaldi in tests/cli/mfcc_kaldi.sh.
BOOST_AUTO_TEST_SUITE(kaldi)

MfccOptions kaldi_options() {
  MfccOptions o;
  MfccSpelling w;
  o.use_kaldi_defaults(w);
  return o;
}

BOOST_AUTO_TEST_CASE(defaults_are_compute_mfcc_feats) {
  MfccOptions o = kaldi_options();
  BOOST_TEST((o.style == MfccStyle::Kaldi && o.window == Window::Povey));
  BOOST_TEST(o.num_filters == 23);
  BOOST_TEST(o.num_ceps == 13);
  BOOST_TEST(o.low_freq == 20);
  BOOST_TEST(o.dither == 0);
  BOOST_TEST((o.snip_edges && o.remove_dc && o.raw_energy && o.energy));
  o.validate();
  // The words the command line parses back agree.
  MfccSpelling w;
  MfccOptions p;
  p.use_kaldi_defaults(w);
  p.set_from(w);
  BOOST_TEST((p.style == MfccStyle::Kaldi && p.window == Window::Povey && p.energy));
}

BOOST_AUTO_TEST_CASE(povey_window) {
  // Hann^0.85 over 5 samples: 0, 0.5^0.85, 1, 0.5^0.85, 0.
  auto w = frame_window(Window::Povey, 5);
  const float half = 0.5547847f;
  BOOST_TEST(w[0] == 0.0f, tt::tolerance(1e-7f));
  BOOST_TEST(w[1] == half, tt::tolerance(1e-6f));
  BOOST_TEST(w[2] == 1.0f, tt::tolerance(1e-7f));
  BOOST_TEST(w[3] == half, tt::tolerance(1e-6f));
  BOOST_TEST(std::abs(w[4]) < 1e-7f);
  auto h = frame_window(Window::Hamming, 5);
  BOOST_TEST(h[0] == 0.08f, tt::tolerance(1e-6f));
  BOOST_TEST(h[2] == 1.0f, tt::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(mel_scale_and_lifter) {
  BOOST_TEST(kaldi_mel(700) == 1127.0 * std::log(2.0), tt::tolerance(1e-12));
  BOOST_TEST(kaldi_mel(0) == 0.0);
  auto l = lifter_coefficients(13, 22);
  BOOST_TEST(l[0] == 1.0);
  BOOST_TEST(l[11] == 12.0, tt::tolerance(1e-12));  // 1 + 11 sin(pi/2)
  BOOST_TEST(l[1] == 1 + 11 * std::sin(std::numbers::pi / 22), tt::tolerance(1e-12));
  for (double v : lifter_coefficients(4, 0)) BOOST_TEST(v == 1.0);
}

BOOST_AUTO_TEST_CASE(geometry_and_frame_counts) {
  MfccOptions o = kaldi_options();
  FrameGeometry g = frame_geometry(o, 16000);
  BOOST_TEST(g.length == 400);
  BOOST_TEST(g.shift == 160);
  BOOST_TEST(g.fft == 512);
  FrameGeometry g8 = frame_geometry(o, 8000);
  BOOST_TEST((g8.length == 200 && g8.shift == 80 && g8.fft == 256));
  // 44.1 kHz: Kaldi truncates 1102.5 to 1102 (the peer rounds to 1103).
  BOOST_TEST(frame_geometry(o, 44100).length == 1102);
  BOOST_TEST(num_frames(399, g) == 0);
  BOOST_TEST(num_frames(400, g) == 1);
  BOOST_TEST(num_frames(559, g) == 1);
  BOOST_TEST(num_frames(560, g) == 2);
  o.snip_edges = false;
  g = frame_geometry(o, 16000);
  BOOST_TEST(num_frames(1000, g) == 6);  // (1000 + 80) / 160
  BOOST_TEST(num_frames(79, g) == 0);
  BOOST_TEST(first_sample(0, g) == -120);  // centred on 80: 80 - 200
  BOOST_TEST(first_sample(2, g) == 200);
}

BOOST_AUTO_TEST_CASE(mel_bank_edges_at_16k) {
  // 23 triangles, 20 Hz .. 8 kHz, N = 512 (31.25 Hz bins), worked out from
  // Kaldi's MelBanks in float64: filter 1 covers bins 1..5, filter 23
  // bins 204..255; bin 256 (Nyquist) is in none.
  MfccFrame f(kaldi_options(), 16000);
  auto fb = f.dense_filterbank();
  const int bins = 257;
  BOOST_TEST_REQUIRE(fb.size() == 23u * bins);
  auto row = [&](int j) { return &fb[static_cast<std::size_t>(j) * bins]; };
  auto first = [&](int j) { int i = 0; while (i < bins && row(j)[i] == 0) ++i; return i; };
  auto last = [&](int j) { int i = bins - 1; while (i >= 0 && row(j)[i] == 0) --i; return i; };
  BOOST_TEST(first(0) == 1);
  BOOST_TEST(last(0) == 5);
  BOOST_TEST(first(22) == 204);
  BOOST_TEST(last(22) == 255);
  BOOST_TEST(row(0)[1] == 0.14932837f, tt::tolerance(1e-5f));
  BOOST_TEST(row(0)[2] == 0.55237826f, tt::tolerance(1e-5f));
  BOOST_TEST(row(22)[204] == 0.00863632f, tt::tolerance(1e-4f));
  for (int j = 0; j < 23; ++j) BOOST_TEST(row(j)[256] == 0.0f);
}

BOOST_AUTO_TEST_CASE(too_many_filters_is_an_error) {
  // 8 kHz, N = 256: 128 filters over 20..4000 Hz leave some without a bin.
  MfccOptions o = kaldi_options();
  o.num_filters = 128;
  o.num_ceps = 13;
  BOOST_CHECK_THROW(MfccFrame(o, 8000), Error);
}

BOOST_AUTO_TEST_CASE(hand_checkable_frames) {
  MfccOptions o = kaldi_options();
  MfccFrame f(o, 16000);
  std::vector<float> x(400, 3.0f), c(13);
  // A constant frame is all DC: energy and every mel band are floored at
  // FLT_EPSILON, so c0 = ln(2^-23) and the DCT of a constant leaves 0 above c0.
  f.compute(x.data(), c.data());
  BOOST_TEST(c[0] == std::log(std::numeric_limits<float>::epsilon()), tt::tolerance(1e-6f));
  for (int k = 1; k < 13; ++k) BOOST_TEST(std::abs(c[k]) < 1e-4f);
  // +-1 alternating: mean 0, raw energy 400 (before pre-emphasis and window).
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = i % 2 ? -1.0f : 1.0f;
  f.compute(x.data(), c.data());
  BOOST_TEST(c[0] == std::log(400.0f), tt::tolerance(1e-6f));
  // Without DC removal a constant 3 keeps its energy 400 * 9.
  o.remove_dc = false;
  MfccFrame keep(o, 16000);
  std::fill(x.begin(), x.end(), 3.0f);
  keep.compute(x.data(), c.data());
  BOOST_TEST(c[0] == std::log(3600.0f), tt::tolerance(1e-6f));
  // Energy after the window instead (raw-energy false): Kaldi's
  // pre-emphasis turns a constant 3 into 3 - 0.97 * 3 = 0.09 everywhere
  // (x[0] included), so E = sum (0.09 w_i)^2.
  o.raw_energy = false;
  MfccFrame windowed(o, 16000);
  windowed.compute(x.data(), c.data());
  double e = 0;
  for (float w : frame_window(Window::Povey, 400)) e += (0.09 * w) * (0.09 * w);
  BOOST_TEST(c[0] == std::log(static_cast<float>(e)), tt::tolerance(1e-4f));
}

BOOST_AUTO_TEST_CASE(samples_are_int16_scaled_and_streamed) {
  // Features of x in [-1, 1) are those of the frame 32768 x.
  MfccOptions o = kaldi_options();
  auto x = sine(440, 16000, 1000, 0.25);
  auto c = mfcc_of(x, 16000, o, 1000);
  BOOST_TEST_REQUIRE(c.size() == 4u * 13);  // 1 + (1000 - 400) / 160
  MfccFrame f(o, 16000);
  std::vector<float> frame(400), want(13);
  for (int i = 0; i < 400; ++i) frame[static_cast<std::size_t>(i)] = x[static_cast<std::size_t>(160 + i)] * 32768.0f;
  f.compute(frame.data(), want.data());
  for (int k = 0; k < 13; ++k) BOOST_TEST(c[13 + static_cast<std::size_t>(k)] == want[static_cast<std::size_t>(k)]);
  for (std::size_t block : {1u, 7u, 160u, 401u})
    BOOST_TEST((mfcc_of(x, 16000, o, block) == c));
}

BOOST_AUTO_TEST_CASE(centred_frames_reflect_the_edges) {
  MfccOptions o = kaldi_options();
  o.snip_edges = false;
  auto x = sine(300, 16000, 1000, 0.25);
  auto c = mfcc_of(x, 16000, o, 1000);
  BOOST_TEST_REQUIRE(c.size() == 6u * 13);
  // Frame 0 starts at -120: samples 119 .. 0 reflected, then 0 .. 279.
  // Frame 5 starts at 680 and runs to 1079: 999 .. 920 reflected at the end.
  MfccFrame f(o, 16000);
  std::vector<float> frame(400), want(13);
  auto at = [&](long i) {
    if (i < 0) i = -i - 1;
    if (i >= 1000) i = 2 * 1000 - 1 - i;
    return x[static_cast<std::size_t>(i)] * 32768.0f;
  };
  for (long t : {0L, 5L}) {
    for (long s = 0; s < 400; ++s) frame[static_cast<std::size_t>(s)] = at(t * 160 - 120 + s);
    f.compute(frame.data(), want.data());
    for (int k = 0; k < 13; ++k)
      BOOST_TEST(c[static_cast<std::size_t>(t * 13 + k)] == want[static_cast<std::size_t>(k)]);
  }
  for (std::size_t block : {1u, 100u, 333u}) BOOST_TEST((mfcc_of(x, 16000, o, block) == c));
  // Shorter than one frame: still (n + 80) / 160 frames, reflected as often as needed.
  auto y = sine(300, 16000, 250, 0.25);
  BOOST_TEST(mfcc_of(y, 16000, o, 50).size() == 2u * 13);
}

BOOST_AUTO_TEST_CASE(too_short_for_a_frame_is_an_error) {
  MfccOptions o = kaldi_options();
  auto x = sine(300, 16000, 399);
  MfccStream s(o, 16000);
  std::vector<float> out;
  s.push(x.data(), x.size(), out);
  BOOST_CHECK_THROW(s.finish(out), Error);
  AudioInfo info;
  info.rate = 16000;
  info.frames = 399;
  BOOST_CHECK_THROW(plan_utterance(info, o), Error);
}

BOOST_AUTO_TEST_CASE(dither_per_frame_is_seeded) {
  MfccOptions o = kaldi_options();
  std::vector<float> silence(1600, 0.0f);
  auto quiet = mfcc_of(silence, 16000, o, 1600);
  BOOST_TEST(quiet[0] == std::log(std::numeric_limits<float>::epsilon()), tt::tolerance(1e-6f));
  o.dither = 1.0;  // Kaldi's default, in int16 units
  o.seed = 5;
  MfccStream a(o, 16000, "k"), b(o, 16000, "k"), other(o, 16000, "j");
  std::vector<float> ca, cb, co;
  a.push(silence.data(), 1600, ca); a.finish(ca);
  b.push(silence.data(), 1600, cb); b.finish(cb);
  other.push(silence.data(), 1600, co); other.finish(co);
  BOOST_TEST((ca == cb));
  BOOST_TEST((ca != co));
  // Unit Gaussian noise over 400 samples, mean removed: E ~ 400, log E ~ 6.
  BOOST_TEST(std::abs(ca[0] - std::log(400.0f)) < 0.5f);
}

BOOST_AUTO_TEST_CASE(peer_defaults_are_untouched) {
  // Kaldi's options do nothing to the peer style (its bits are checked
  // against the reference files above).
  MfccOptions p;
  MfccOptions q;
  q.snip_edges = false;
  q.remove_dc = false;
  q.raw_energy = false;
  auto x = sine(440, 16000, 3000);
  BOOST_TEST((mfcc_of(x, 16000, p, 3000) == mfcc_of(x, 16000, q, 512)));
}

BOOST_AUTO_TEST_CASE(ark_offsets_and_segments) {
  BOOST_TEST(is_ark_offset("data/wav.ark:1234"));
  BOOST_TEST(is_ark_offset(" wav.ark:0 "));
  BOOST_TEST(is_ark_offset("wav.ark:12[0:799]"));
  BOOST_TEST(!is_ark_offset("a.wav"));
  BOOST_TEST(!is_ark_offset("c:/x.wav"));
  BOOST_TEST(!is_ark_offset("wav.ark:"));
  BOOST_TEST(!is_ark_offset(":12"));
  Segment s;
  s.rec = "r";
  s.start = 0.5;
  s.end = 1.25;
  SampleRange r = segment_samples(s, 16000 * 3, 16000, 0.5);
  BOOST_TEST((r.begin == 8000 && r.end == 20000));
  s.end = -1;
  r = segment_samples(s, 48000, 16000, 0.5);
  BOOST_TEST(r.end == 48000);
  s.end = 3.3;  // 0.3 s past a 3 s recording: clamped
  r = segment_samples(s, 48000, 16000, 0.5);
  BOOST_TEST(r.end == 48000);
  s.end = 3.6;  // 0.6 s past: refused
  BOOST_CHECK_THROW(segment_samples(s, 48000, 16000, 0.5), Error);
  s.start = 3.0;
  s.end = 3.2;
  BOOST_CHECK_THROW(segment_samples(s, 48000, 16000, 0.5), Error);
}

BOOST_AUTO_TEST_SUITE_END()
