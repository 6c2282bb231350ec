// Spoken captions with espeak-ng (through its C API), resampled to 16 kHz
// with libsoxr, with phone alignments from espeak-ng's phoneme events mapped
// to one inventory across accents.
//
// espeak-ng keeps global state between calls (its pitch "flutter" phase and
// more carry over from one utterance to the next), so the same text and
// voice give different samples depending on what was spoken before. To make
// the corpus a function of the seed alone, the generator (corpus.cc) speaks
// fixed chunks of utterances, each in a fresh child forked from a process in
// which espeak-ng was initialised but never used: every chunk starts from the
// same state and sees the same history, whatever -j is.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "corpus/rng.h"

namespace sb::corpus {

struct Speaker {
  std::string id;      // "s001"
  std::string voice;   // espeak-ng voice name: "en-us+m3"
  int rate = 175;      // words per minute
  int pitch = 50;      // 0..100
  int range = 50;      // 0..100
};

// The English accents and voice variants speakers are made from.
const std::vector<std::string>& accents();
const std::vector<std::string>& caption_variants();
const std::vector<std::string>& disjoint_variants();

// `n` speakers from the accent x variant grid, each with its own rate,
// pitch and range; ids are prefix + 3 digits. `disjoint` draws from other
// variants, so its speakers never sound like caption speakers.
std::vector<Speaker> make_speakers(int n, Rng& rng, bool disjoint, const std::string& prefix);

struct PhoneSegment {
  double start = 0;   // seconds
  double dur = 0;
  std::string phone;  // from phone_inventory()
};

struct SpokenUtterance {
  std::vector<std::int16_t> samples;  // 16 kHz mono
  std::vector<PhoneSegment> phones;   // cover [0, duration) without gaps
  double duration() const { return static_cast<double>(samples.size()) / 16000.0; }
};

// The shared phone inventory: ARPAbet's 39 phones plus "sil".
const std::vector<std::string>& phone_inventory();
// espeak-ng IPA phoneme name -> inventory phone ("" and pauses -> "sil").
// Throws sb::Error for a name it cannot map.
std::string map_phone(const std::string& ipa);

// Initialises espeak-ng (once per process; idempotent). Throws on failure.
void espeak_init();

// Speaks `text` with `spk` (rate and pitch scaled by the jitter factors).
// The result depends on what this process spoke before (see the note above).
SpokenUtterance speak(const std::string& text, const Speaker& spk, double rate_factor,
                      double pitch_offset);

// Writes 16-bit PCM WAV, 16 kHz mono, via libsndfile.
void write_wav(const std::string& path, const std::vector<std::int16_t>& samples);

}  // namespace sb::corpus
