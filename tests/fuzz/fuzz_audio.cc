// libFuzzer target: AudioReader over bytes in memory (libsndfile's virtual
// I/O: WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF, ... and headerless PCM). The
// first byte chooses the channel (average or channel 0) and whether the
// rest is read as raw PCM of one of a few encodings. Every sample read must
// be finite and the reader must end in samples or an sb::Error; reading
// stops after a bound so that a header promising hours stays cheap.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "audio/audio.h"
#include "core/error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sb::fuzz::MemFile quiet("audio-fuzz");  // only for the warning sink
  (void)quiet;
  if (size == 0) return 0;
  static const char* const kRaw[] = {"s16le", "s16be", "s24le", "s32le", "f32le", "f64le", "u8", "s8"};
  const int channel = (data[0] & 1) ? 0 : -1;
  sb::RawFormat raw;
  const bool is_raw = (data[0] & 2) != 0;
  if (is_raw) {
    raw.encoding = kRaw[(data[0] >> 2) & 7];
    raw.rate = 16000;
    raw.channels = 1 + ((data[0] >> 5) & 1);
  }
  try {
    sb::AudioReader in(data + 1, size - 1, "fuzz.audio", channel, is_raw ? &raw : nullptr);
    float block[1024];
    std::size_t total = 0;
    while (std::size_t n = in.read(block, sizeof block / sizeof block[0])) {
      for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(block[i])) std::abort();  // the reader promises samples in [-1, 1)
      if ((total += n) > (std::size_t{1} << 20)) break;
    }
  } catch (const sb::Error& e) {
    sb::fuzz::report(e);
  }
  return 0;
}
