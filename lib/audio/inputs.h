// Where utterances come from: audio files (key = base name without the
// extension), Kaldi-style wav.scp lists whose values are paths or shell
// commands ending in '|' (`utt1 sox a.mp3 -t wav - |`), and standard input.
#pragma once
#include <memory>
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

// Runs a shell command and returns its standard output, spooled; a non-zero
// exit status is an error naming the command.
SpooledStream run_command(const std::string& cmd);

}  // namespace sb
