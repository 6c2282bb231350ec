#include "audio/batch.h"

#include "core/error.h"
#include "core/strings.h"

namespace sb {

UtteranceFeatures compute_features(const AudioSource& in, const MfccOptions& o, const RawFormat* raw,
                                   SpooledStream* stdin_spool) {
  UtteranceFeatures r;
  try {
    if (std::string why = key_problem(in.key); !why.empty()) fail("bad key '", in.key, "': ", why);
    // A command's output and stdin are spooled to a temporary file, kept for
    // the writer when the utterance is long, as a file's path is.
    std::unique_ptr<AudioReader> reader;
    if (in.is_file()) {
      reader = open_source(in, o.channel, raw, stdin_spool);
    } else {
      r.spool = std::make_shared<SpooledStream>(spool_source(in, stdin_spool));
      reader = std::make_unique<AudioReader>(r.spool->reopen(), source_name(in), o.channel, raw);
    }
    if (o.cmvn == Cmvn::None) {
      try {
        r.plan = plan_utterance(reader->info(), o);
      } catch (const UsageError&) {
        throw;
      } catch (const Error& e) {
        fail(reader->name(), ": ", e.what());
      }
      if (r.plan.rows * r.plan.dim * 4 > kStreamedFeatureBytes) {
        r.deferred = true;
        return r;
      }
    }
    r.rows = extract_mfcc(*reader, o, in.key, &r.plan);
    r.spool.reset();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    r.error = in.origin.empty() ? e.what() : cat(in.origin, ": ", e.what());
  }
  return r;
}

Audio read_recording(const AudioSource& in, int channel, const RawFormat* raw, SpooledStream* stdin_spool) {
  auto reader = open_source(in, channel, raw, stdin_spool);
  return read_audio(*reader);
}

UtteranceFeatures compute_segment(const Audio& rec, const Segment& s, const MfccOptions& o, double max_overshoot) {
  UtteranceFeatures r;
  try {
    if (std::string why = key_problem(s.utt); !why.empty()) fail("bad key '", s.utt, "': ", why);
    const SampleRange span = segment_samples(s, static_cast<std::int64_t>(rec.samples.size()), rec.rate, max_overshoot);
    r.rows = extract_mfcc(rec.samples.data() + span.begin, static_cast<std::size_t>(span.end - span.begin), rec.rate,
                          o, s.utt, cat("recording '", s.rec, "'"), &r.plan);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    r.error = cat(s.origin, ": utterance '", s.utt, "': ", e.what());
  }
  return r;
}

std::string write_features(ArchiveWriter& out, const AudioSource& in, UtteranceFeatures& f, const MfccOptions& o,
                           const RawFormat* raw) {
  const std::int64_t shape[2] = {f.plan.rows, f.plan.dim};
  if (!f.deferred) {
    out.write(in.key, DType::F32, shape, f.rows.data());
    std::vector<float>().swap(f.rows);
    return "";
  }
  const std::string path = source_name(in);
  auto open_again = [&] {
    return f.spool ? std::make_unique<AudioReader>(f.spool->reopen(), path, o.channel, raw)
                   : std::make_unique<AudioReader>(path, o.channel, raw);
  };
  // The first pass decodes the audio, so that a corrupt file is skipped
  // before its record is begun.
  try {
    auto check = open_again();
    std::vector<float> block(1 << 16);
    for (std::int64_t left = f.plan.in_samples; left > 0;) {
      std::size_t got = check->read(block.data(), static_cast<std::size_t>(std::min<std::int64_t>(left, 1 << 16)));
      if (got == 0) fail(path, ": audio ends early");
      left -= static_cast<std::int64_t>(got);
    }
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    return in.origin.empty() ? e.what() : cat(in.origin, ": ", e.what());
  }
  auto reader = open_again();
  out.begin_record(in.key, DType::F32, shape);
  try {
    extract_mfcc(*reader, o, in.key, [&](const float* rows, std::size_t n) {
      out.append(rows, n * static_cast<std::size_t>(f.plan.dim) * sizeof(float));
    });
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    fail(e.what(), " (while streaming its record: the output archive is incomplete)");
  }
  out.end_record();
  return "";
}

}  // namespace sb
