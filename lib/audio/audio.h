// Reading audio as mono float samples in [-1, 1) through libsndfile: files
// (WAV, FLAC, OGG, ... anything libsndfile reads), bytes in memory (virtual
// I/O; stdin is read into memory first because libsndfile seeks while it
// parses headers), and headerless PCM (`RawFormat`).
//
//   sb::AudioReader in("a.flac");          // or "-" for stdin
//   std::vector<float> block(4096);
//   while (std::size_t n = in.read(block.data(), block.size())) use(block, n);
//
//   sb::Audio a = sb::read_audio("a.wav");  // the whole file at once
//
// Every error is an sb::Error whose message starts with the input's name:
// "a.wav: truncated file (header promises 32000 bytes of data, 9956 present)".
// A reader never returns fewer samples than info().frames without throwing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sb {

// Headerless PCM: sample encoding, rate and channel count given by the user.
struct RawFormat {
  std::string encoding = "s16le";  // see raw_encodings()
  double rate = 0;
  int channels = 1;
};
// The encodings RawFormat accepts, for help text: "s16le, s16be, ...".
std::string raw_encodings();

struct AudioInfo {
  double rate = 0;
  int channels = 0;           // channels in the source; read() gives one
  std::int64_t frames = 0;    // samples per channel
  std::string format;         // "WAV PCM 16-bit", for messages and -v
};

// A stream's bytes (a `cmd |` entry's output, standard input) kept in an
// unlinked temporary file in $TMPDIR (else /tmp): libsndfile then reads it
// as it reads any file, block by block, and the size checks that tell a cut
// file from a short one apply. A long recording costs disk, not memory, and
// a full disk is an error naming the stream, never a shorter recording.
class SpooledStream {
 public:
  SpooledStream() = default;
  // Copies `from` to its end; errors name `name`.
  static SpooledStream copy(std::FILE* from, const std::string& name);
  SpooledStream(SpooledStream&& o) noexcept;
  SpooledStream& operator=(SpooledStream&& o) noexcept;
  SpooledStream(const SpooledStream&) = delete;
  SpooledStream& operator=(const SpooledStream&) = delete;
  ~SpooledStream();

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  std::int64_t size() const { return size_; }
  // All of it, for tests and small streams.
  std::vector<unsigned char> bytes() const;
  // Another handle on the same bytes, from their start, for a second pass
  // (a check, then the real read). The handles share one file offset: the
  // readers made from them take turns, they do not read side by side.
  SpooledStream reopen() const;

 private:
  int fd_ = -1;
  std::int64_t size_ = 0;
};

class AudioReader {
 public:
  // channel < 0: average all channels; otherwise keep that channel (0-based).
  explicit AudioReader(const std::string& path, int channel = -1,
                       const RawFormat* raw = nullptr);
  // Reads from bytes in memory; `name` is used in messages. The bytes are
  // copied, so the caller's buffer may go away.
  AudioReader(const void* data, std::size_t size, const std::string& name,
              int channel = -1, const RawFormat* raw = nullptr);
  // Takes ownership of bytes (no copy).
  AudioReader(std::vector<unsigned char>&& bytes, const std::string& name,
              int channel = -1, const RawFormat* raw = nullptr);
  // Reads a spooled stream (taken over); `name` is used in messages.
  AudioReader(SpooledStream&& spool, const std::string& name,
              int channel = -1, const RawFormat* raw = nullptr);
  ~AudioReader();
  AudioReader(const AudioReader&) = delete;
  AudioReader& operator=(const AudioReader&) = delete;

  const AudioInfo& info() const { return info_; }
  const std::string& name() const { return name_; }

  // Reads up to n mono samples; returns how many, 0 at the end. Throws
  // sb::Error on a decoding error or when the data ends before info().frames.
  std::size_t read(float* out, std::size_t n);
  std::int64_t position() const { return pos_; }

 private:
  struct Impl;
  void open(int channel, const RawFormat* raw);
  std::unique_ptr<Impl> impl_;
  std::string name_;
  AudioInfo info_;
  std::int64_t pos_ = 0;
};

// The whole input as mono samples.
struct Audio {
  std::vector<float> samples;
  double rate = 0;
};
Audio read_audio(const std::string& path, int channel = -1);
// The rest of an open reader; the buffer grows with what is decoded, never
// straight to the length its header claims, and running out of memory
// names the input.
Audio read_audio(AudioReader& in);
Audio read_audio_memory(const void* data, std::size_t size, const std::string& name,
                        int channel = -1);

// Standard input, spooled (see SpooledStream); errors name `name`.
SpooledStream spool_stdin(const std::string& name = "<stdin>");

}  // namespace sb
