#include "audio/extract.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <new>

#include "audio/resample.h"
#include "core/error.h"

namespace sb {

UtterancePlan plan_utterance(const AudioInfo& info, const MfccOptions& o) {
  UtterancePlan p;
  p.in_rate = info.rate;
  p.in_samples = info.frames;
  // Compared in double before any conversion: --max-seconds 1e300 (or 1e15
  // at 16 kHz) is past int64, and converting it was undefined behaviour that
  // turned a good file into "no audio samples".
  if (o.max_seconds > 0) {
    const double cap = std::floor(o.max_seconds * info.rate);
    if (cap < static_cast<double>(p.in_samples)) p.in_samples = static_cast<std::int64_t>(cap);
  }
  if (p.in_samples <= 0) fail("no audio samples");
  p.rate = o.rate > 0 ? o.rate : info.rate;
  p.samples = p.rate == p.in_rate ? p.in_samples : resampled_length(p.in_samples, p.in_rate, p.rate);
  if (p.samples <= 0) fail("no audio samples left after resampling to ", p.rate, " Hz");
  const FrameGeometry g = frame_geometry(o, p.rate);
  p.rows = num_frames(p.samples, g);
  if (p.rows == 0)
    fail(p.samples, " samples are fewer than one ", g.length, "-sample frame (Kaldi's --snip-edges)");
  p.dim = o.dim();
  return p;
}

namespace {

// Reads up to n samples; 0 at the end.
using SampleSource = std::function<std::size_t(float* out, std::size_t n)>;

UtterancePlan extract_from(const AudioInfo& info, const std::string& name, const SampleSource& read,
                           const MfccOptions& o, std::string_view key, const RowSink& sink) {
  UtterancePlan plan;
  std::unique_ptr<MfccStream> stream;
  std::unique_ptr<Resampler> rs;
  try {
    plan = plan_utterance(info, o);
    stream = std::make_unique<MfccStream>(o, plan.rate, key);
    if (plan.rate != plan.in_rate) rs = std::make_unique<Resampler>(plan.in_rate, plan.rate);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    fail(name, ": ", e.what());
  }
  MfccStream& mfcc = *stream;

  constexpr std::size_t kBlock = 8192;
  std::vector<float> block(kBlock), resampled, rows;
  std::int64_t left = plan.in_samples, written = 0;
  auto flush = [&] {
    if (rows.empty()) return;
    std::size_t n = rows.size() / static_cast<std::size_t>(plan.dim);
    sink(rows.data(), n);
    written += static_cast<std::int64_t>(n);
    rows.clear();
  };
  while (left > 0) {
    std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(left, kBlock));
    std::size_t got = read(block.data(), want);
    if (got == 0) fail(name, ": audio ends early (", plan.in_samples - left, " samples read)");
    left -= static_cast<std::int64_t>(got);
    if (rs) {
      resampled.clear();
      rs->process(block.data(), got, resampled);
      mfcc.push(resampled.data(), resampled.size(), rows);
    } else {
      mfcc.push(block.data(), got, rows);
    }
    flush();
  }
  if (rs) {
    resampled.clear();
    rs->finish(resampled);
    mfcc.push(resampled.data(), resampled.size(), rows);
  }
  mfcc.finish(rows);
  flush();
  if (written != plan.rows || mfcc.samples() != plan.samples)
    fail(name, ": internal error: ", written, " frames from ", mfcc.samples(),
         " samples, expected ", plan.rows, " from ", plan.samples);
  return plan;
}

}  // namespace

UtterancePlan extract_mfcc(AudioReader& in, const MfccOptions& o, std::string_view key,
                           const RowSink& sink) {
  return extract_from(in.info(), in.name(), [&](float* out, std::size_t n) { return in.read(out, n); },
                      o, key, sink);
}

std::vector<float> extract_mfcc(const float* x, std::size_t n, double rate, const MfccOptions& o,
                                std::string_view key, const std::string& name, UtterancePlan* plan_out) {
  AudioInfo info;
  info.rate = rate;
  info.channels = 1;
  info.frames = static_cast<std::int64_t>(n);
  std::size_t at = 0;
  std::vector<float> out;
  UtterancePlan plan = extract_from(
      info, name,
      [&](float* dst, std::size_t want) {
        const std::size_t k = std::min(want, n - at);
        std::copy(x + at, x + at + k, dst);
        at += k;
        return k;
      },
      o, key, [&](const float* rows, std::size_t count) {
        out.insert(out.end(), rows, rows + count * static_cast<std::size_t>(o.dim()));
      });
  apply_cmvn(out.data(), plan.rows, plan.dim, o.cmvn);
  if (plan_out) *plan_out = plan;
  return out;
}

std::vector<float> extract_mfcc(AudioReader& in, const MfccOptions& o, std::string_view key,
                                UtterancePlan* plan_out) {
  std::vector<float> out;
  try {
    // The header's length is a claim (a FLAC header on stdin can claim
    // 22 GB): reserve at most kReserveFloats, then grow with what is decoded.
    constexpr std::size_t kReserveFloats = std::size_t{1} << 22;
    UtterancePlan p = plan_utterance(in.info(), o);
    out.reserve(std::min(kReserveFloats, static_cast<std::size_t>(p.rows) * static_cast<std::size_t>(p.dim)));
  } catch (const Error&) {
    // The call below reports it, with the input's name.
  }
  UtterancePlan plan = extract_mfcc(in, o, key, [&](const float* rows, std::size_t n) {
    try {
      out.insert(out.end(), rows, rows + n * static_cast<std::size_t>(o.dim()));
    } catch (const std::bad_alloc&) {
      fail(in.name(), ": out of memory holding ", out.size() / static_cast<std::size_t>(o.dim()),
           " frames of features");
    }
  });
  apply_cmvn(out.data(), plan.rows, plan.dim, o.cmvn);
  if (plan_out) *plan_out = plan;
  return out;
}

}  // namespace sb
