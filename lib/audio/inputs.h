// Where utterances come from: audio files (key = base name without the
// extension), Kaldi-style wav.scp lists whose values are paths or shell
// commands ending in '|' (`utt1 sox a.mp3 -t wav - |`), and standard input;
// and Kaldi `segments` files that cut utterances out of the recordings of a
// wav.scp.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

#include "audio/audio.h"

namespace sb {

struct AudioSource {
  std::string key;
  std::string source;  // a path, "-" (stdin), or a command ending in '|'
  std::string origin;  // "wav.scp:12" for messages, "" for a command-line argument
  bool is_stdin() const;
  bool is_command() const;
  bool is_file() const { return !is_stdin() && !is_command(); }
  bool from_list() const { return !origin.empty(); }  // an entry of a wav.scp
};

// "a/b/utt1.wav" -> "utt1"
std::string key_from_path(const std::string& path);

// Kaldi's extended filename for audio inside an archive, "file.ark:1234"
// (a byte offset, optionally followed by a [range]). sb reads no Kaldi wave
// archives; open_source refuses such an entry instead of taking it for a path.
bool is_ark_offset(std::string_view value);

// The entries of a wav.scp ("-" = stdin), in order; errors name file and line.
std::vector<AudioSource> read_wav_scp(const std::string& path);

// Opens a source. stdin_spool holds standard input, spooled beforehand; it
// is moved into the reader, so stdin serves one source only. A command's
// output is spooled the same way (disk, not memory).
std::unique_ptr<AudioReader> open_source(const AudioSource& s, int channel, const RawFormat* raw,
                                         SpooledStream* stdin_spool);

// A command's output or standard input, spooled (stdin_spool is moved
// from); the reader of it is AudioReader(spool, source_name(s), ...).
SpooledStream spool_source(const AudioSource& s, SpooledStream* stdin_spool);
// The name messages use for a source: its path, its command, "<stdin>".
std::string source_name(const AudioSource& s);

// One data set, one sample rate (Kaldi refuses a mismatch too): features of
// different rates are not comparable, so the entries of wav.scp lists that
// disagree are an error unless the caller resamples them all (sb-mfcc
// --rate). Files named one by one on the command line are single files
// looked at one by one, and keep their own rates.
class SameRate {
 public:
  // Remembers the first input's rate; an input with another rate is an
  // sb::Error naming it, the first input and both rates.
  void check(const AudioSource& in, double rate);
  double rate() const { return rate_; }

 private:
  double rate_ = 0;
  std::string first_;
};

// Reads the header of every wav.scp entry that is a file, in order, and
// checks their rates with a SameRate, so that a mismatch fails before anything is
// written. Files that cannot be opened are left to the caller's own error
// path; commands and stdin are not run here (check them when decoded).
void check_file_rates(const std::vector<AudioSource>& inputs, SameRate& same);

// One line of a Kaldi segments file: `utt rec start end`, in seconds; an
// end of -1 runs to the end of the recording (another end <= 0 is an error,
// as in Kaldi's extract-segments).
struct Segment {
  std::string utt, rec;
  double start = 0, end = -1;
  std::size_t recording = 0;  // index of rec in the wav.scp entries
  std::string origin;         // "segments:3" for messages
};

// Reads a segments file ("-" = stdin) against the recordings of a wav.scp.
// sb::Error naming file and line for: a line without exactly 4 fields (the
// optional 5th, channel, is refused: use --channel), a time that is not a
// finite number, a negative start, an end <= 0 other than -1, start >= end, a duplicate
// utterance id, a recording that is not in the wav.scp.
std::vector<Segment> read_segments(const std::string& path, const std::vector<AudioSource>& recordings);

// Kaldi's extract-segments: the samples [begin, end) of a segment of a
// recording of n samples at `rate`, both times truncated to samples. An end
// past the recording by less than max_overshoot seconds is clamped to it;
// further out, or a start at or past the end, is an sb::Error (no name).
struct SampleRange {
  std::int64_t begin = 0, end = 0;
};
SampleRange segment_samples(const Segment& s, std::int64_t n, double rate, double max_overshoot);

// Runs a shell command and returns its standard output, spooled; a non-zero
// exit status is an error naming the command.
SpooledStream run_command(const std::string& cmd);

}  // namespace sb
