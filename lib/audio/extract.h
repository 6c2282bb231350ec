// One utterance from audio to features: read (libsndfile), cut at
// max_seconds, resample (libsoxr), MFCC stream, deltas, CMVN. The number of
// rows is known from the audio header before anything is decoded, so a
// writer can announce a record's shape first and stream its rows.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "audio/audio.h"
#include "audio/mfcc.h"

namespace sb {

struct UtterancePlan {
  double in_rate = 0, rate = 0;         // source rate, feature rate
  std::int64_t in_samples = 0;          // source samples used (after max_seconds)
  std::int64_t samples = 0;             // samples at the feature rate
  std::int64_t rows = 0;                // feature frames
  int dim = 0;                          // columns
  double seconds() const { return in_rate > 0 ? static_cast<double>(in_samples) / in_rate : 0; }
};

// Throws sb::Error (without the input's name) when the audio has no samples
// or the options do not fit its rate.
UtterancePlan plan_utterance(const AudioInfo& info, const MfccOptions& o);

// Streams rows to sink(rows, count) in blocks; returns the plan it followed.
// CMVN needs the whole utterance and is not applied here (see below).
// Errors are sb::Error messages starting with the input's name.
using RowSink = std::function<void(const float* rows, std::size_t count)>;
UtterancePlan extract_mfcc(AudioReader& in, const MfccOptions& o, std::string_view key,
                           const RowSink& sink);

// The features of n mono samples in memory at `rate` (a segment of a
// recording), CMVN applied; errors start with `name`.
std::vector<float> extract_mfcc(const float* x, std::size_t n, double rate, const MfccOptions& o,
                                std::string_view key, const std::string& name,
                                UtterancePlan* plan = nullptr);

// The whole matrix (rows x dim, row-major), CMVN applied.
std::vector<float> extract_mfcc(AudioReader& in, const MfccOptions& o, std::string_view key,
                                UtterancePlan* plan = nullptr);

}  // namespace sb
