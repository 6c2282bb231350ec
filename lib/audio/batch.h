// Features of many inputs, for a tool that writes them to one archive:
// each input (or each segment of a recording) is computed on its own,
// possibly on a worker thread, into an UtteranceFeatures; one writer then
// takes them in input order (write_features). A long utterance is not held
// in memory: it is marked deferred, and the writer streams it into the
// archive instead (input from a file or a spooled stream, no CMVN), so
// memory does not grow with the length of the audio.
//
//   UtteranceFeatures f = compute_features(in, o, raw, &stdin_spool);
//   if (!f.error.empty()) skip(f.error);
//   else if (std::string why = write_features(out, in, f, o, raw); !why.empty()) skip(why);
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audio/audio.h"
#include "audio/extract.h"
#include "audio/inputs.h"
#include "audio/mfcc.h"
#include "io/archive.h"

namespace sb {

// An utterance whose features exceed this (about 3 minutes at 13 columns)
// is deferred. Holding one costs about three times its size (features, the
// writer's copy, zstd's output), so the bound also caps the peak for
// medium-length files.
constexpr std::int64_t kStreamedFeatureBytes = std::int64_t{1} << 20;

struct UtteranceFeatures {
  bool deferred = false;                 // long: write_features streams it
  std::shared_ptr<SpooledStream> spool;  // a deferred command's or stdin's bytes
  std::vector<float> rows;               // plan.rows x plan.dim, unless deferred
  UtterancePlan plan;
  std::string error;  // not empty: the input is bad and is skipped with this message
};

// One input: its features, or deferred, or an error naming it (a bad key,
// unreadable or corrupt audio). A UsageError propagates.
UtteranceFeatures compute_features(const AudioSource& in, const MfccOptions& o, const RawFormat* raw,
                                   SpooledStream* stdin_spool);

// The whole of one recording as mono samples (segments are cut from it).
Audio read_recording(const AudioSource& in, int channel, const RawFormat* raw, SpooledStream* stdin_spool);

// The features of one segment of a recording; errors name the segment.
UtteranceFeatures compute_segment(const Audio& rec, const Segment& s, const MfccOptions& o, double max_overshoot);

// Writes f's record under in.key (f.error must be empty: an input with an
// error is the caller's to skip): the rows held, or a deferred utterance,
// which is decoded once to check it (a record cannot be taken back, so a
// corrupt file is found before its record is begun) and then streamed.
// Returns "" when written, else why the input is skipped (nothing written).
// An error after the record was begun is an sb::Error: the archive is
// incomplete.
std::string write_features(ArchiveWriter& out, const AudioSource& in, UtteranceFeatures& f, const MfccOptions& o,
                           const RawFormat* raw);

}  // namespace sb
