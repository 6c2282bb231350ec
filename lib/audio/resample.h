// Sample-rate conversion with libsoxr (high quality, linear phase), so that
// corpora with mixed rates give comparable features. Output length is fixed
// by the input length alone, round_half_up(n * out_rate / in_rate), so that
// frame counts are known before any audio is decoded.
//
//   std::vector<float> y = sb::resample(x.data(), x.size(), 44100, 16000);
//
// Without libsoxr (built with -Dsoxr=disabled) both entry points throw
// sb::Error; resampling_available() tells beforehand.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace sb {

bool resampling_available();

// Output samples for n input samples.
std::int64_t resampled_length(std::int64_t n, double in_rate, double out_rate);

// One-shot: the whole signal.
std::vector<float> resample(const float* x, std::size_t n, double in_rate, double out_rate);

// Streaming: feed blocks, then finish(). The total written equals
// resampled_length(total input, ...). Single-threaded and deterministic.
class Resampler {
 public:
  Resampler(double in_rate, double out_rate);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // Appends the output for x[0..n) to out (possibly none yet: filter delay).
  void process(const float* x, std::size_t n, std::vector<float>& out);
  // Flushes the filter and appends the rest, padded or cut to the exact length.
  void finish(std::vector<float>& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb
