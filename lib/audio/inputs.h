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
};

// "a/b/utt1.wav" -> "utt1"
std::string key_from_path(const std::string& path);

// The entries of a wav.scp ("-" = stdin), in order; errors name file and line.
std::vector<AudioSource> read_wav_scp(const std::string& path);

// Opens a source. stdin_bytes holds standard input, read beforehand; it is
// moved into the reader, so stdin serves one source only.
std::unique_ptr<AudioReader> open_source(const AudioSource& s, int channel, const RawFormat* raw,
                                         std::vector<unsigned char>* stdin_bytes);

// Runs a shell command and returns its standard output; a non-zero exit
// status is an error naming the command.
std::vector<unsigned char> run_command(const std::string& cmd);

}  // namespace sb
