// sb-mfcc: audio files, wav.scp lists or audio on stdin -> an .sbt archive
// of MFCC matrices (frames x 13 by default: the paper's 12 MFCCs + log
// energy). The numbers live in lib/audio (MfccOptions, extract_mfcc, and
// batch.h's per-input jobs); this file parses options, lists the inputs,
// runs them (-j N in parallel, output in input order) and counts.
#include <cstdio>
#include <optional>
#include <unordered_map>

#include "audio/batch.h"
#include "audio/extract.h"
#include "audio/inputs.h"
#include "audio/resample.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/ordered_jobs.h"
#include "core/strings.h"
#include "io/archive.h"

namespace {

using namespace sb;

const char* kEpilog =
    "\nINPUT: audio files (key = base name without extension), wav.scp lists (--scp FILE,\n"
    "or an INPUT ending in .scp; 'key path' or 'key command |' per line), or '-' for one\n"
    "audio file on standard input (key from --key). Records keep the input order.\n"
    "--segments FILE: Kaldi segments ('utt rec start end', seconds) cut utterances out of\n"
    "the recordings of the wav.scp; records in the segments file's order.\n"
    "A bad input is warned about and skipped; the exit status is then 2 (--strict: stop).\n"
    "\nDefault features (python_speech_features' mfcc, nfft=512): pre-emphasis 0.97, 25 ms\n"
    "rectangular frames every 10 ms, |rfft|^2/N with N = max(512, next 2^k >= frame),\n"
    "26 mel filters over 0..r/2, log, orthonormal DCT-II, 13 cepstra, lifter 22,\n"
    "c0 = log frame energy. --kaldi: Kaldi's compute-mfcc-feats with its defaults (dither 0).\n"
    "Exact definitions: man sb-mfcc.\n"
    "\nExamples:\n"
    "  sb-mfcc --scp data/train/wav.scp > data/train/feats.sbt\n"
    "  sb-mfcc -j 4 --rate 16000 --deltas 2 *.flac -o feats.sbt\n"
    "  sb-mfcc --kaldi --scp wav.scp --segments segments -o feats.sbt\n"
    "  sox in.mp3 -t wav - | sb-mfcc --key utt1 - | sb-tensor info\n"
    "  sb-mfcc --raw --rate 16000 --format s16le - < audio.pcm | sb-tensor cat\n"
    "\nSee also: sb-tensor(1), sbt(5), sb(7)\n";

int mfcc_main(int argc, char** argv) {
  MfccOptions o;  // defaults, help and ranges of the features come from the library
  MfccSpelling words;
  double rate = 0, max_overshoot = 0.5;
  int channel = -1, channels = 1, jobs = 1;
  std::string key = "stdin", format = "s16le", output = "-", segments_path;
  bool raw_input = false, strict = false, quiet = false, force = false;
  auto opts = cli::make_options("MFCC features of audio, as an .sbt archive", "[INPUT...]");
  opts.add_options("Input")
      ("scp", "wav.scp list ('-' = stdin); may be repeated", cxxopts::value<std::vector<std::string>>(), "FILE");
  cli::OptionRegistry input(opts, "Input");
  input.add_text("key", &key, "key of the audio read from stdin", "KEY");
  input.add_text("segments", &segments_path, "Kaldi segments file: utterances cut from the wav.scp's recordings", "FILE");
  input.add("max-overshoot", &max_overshoot,
            "--segments: an end past its recording by less than this (s) is clamped, as Kaldi", 0, 1e6);
  input.add("rate", &rate, "resample to R Hz (libsoxr; 0 = keep); with --raw: the input's rate", 0, 9999999);
  input.add("channel", &channel, "use channel N (0-based; -1 = the mean of all)", -1, 1023);
  input.add("raw", &raw_input, "inputs are headerless PCM (needs --rate)");
  input.add_text("format", &format, "raw encoding: " + raw_encodings(), "ENC");
  input.add("channels", &channels, "raw: interleaved channels", 1, 1024);
  cli::OptionRegistry features(opts, "Features");
  o.Register(features, words);
  cli::OptionRegistry out_opts(opts, "Output");
  out_opts.add_text("o,output", &output, "output archive ('-' = stdout)", "FILE");
  out_opts.add("j,jobs", &jobs, "utterances in parallel (output order unchanged)", 1, 1024);
  out_opts.add("strict", &strict, "stop at the first bad input");
  out_opts.add("q,quiet", &quiet, "no progress line and no summary");
  out_opts.add("f,force", &force, "write binary data even to a terminal");
  opts.add_options(cli::kPositional)("inputs", "inputs", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"inputs"});
  auto r = cli::parse(opts, argc, argv, kEpilog);
  input.apply(r);
  // --kaldi changes the defaults; the options given still win.
  if (r.count("kaldi")) o.use_kaldi_defaults(words);
  else
    for (const std::string& name : MfccOptions::kaldi_only_options())
      if (r.count(name)) usage_fail("--", name, " needs --kaldi");
  features.apply(r);
  out_opts.apply(r);
  o.set_from(words);
  o.channel = channel;

  std::optional<RawFormat> raw;
  if (raw_input) {
    if (!r.count("rate")) usage_fail("--raw needs --rate R (the input's sample rate)");
    if (!(rate > 0)) usage_fail("--rate: the raw input's rate must be above 0");
    raw = RawFormat{format, rate, channels};
    if (raw_encodings().find(raw->encoding) == std::string::npos || raw->encoding.size() < 2)
      usage_fail("--format must be one of ", raw_encodings(), ", not '", raw->encoding, "'");
  } else if (r.count("rate")) {
    o.rate = rate;
    if (!resampling_available()) usage_fail("--rate needs libsoxr, and this sb-mfcc was built without it");
  }
  o.validate();

  // The inputs, in order. stdin serves one reader at most.
  std::vector<AudioSource> inputs;
  int stdin_users = 0;
  if (r.count("scp"))
    for (const auto& s : r["scp"].as<std::vector<std::string>>()) {
      stdin_users += s == "-";
      for (auto& e : read_wav_scp(s)) inputs.push_back(std::move(e));
    }
  if (r.count("inputs"))
    for (const auto& s : r["inputs"].as<std::vector<std::string>>()) {
      if (s.size() > 4 && s.compare(s.size() - 4, 4, ".scp") == 0) {
        for (auto& e : read_wav_scp(s)) inputs.push_back(std::move(e));
      } else {
        stdin_users += s == "-";
        inputs.push_back({s == "-" ? key : key_from_path(s), s, ""});
      }
    }
  if (!r.count("scp") && !r.count("inputs")) {
    inputs.push_back({key, "-", ""});
    stdin_users = 1;
  }
  for (const auto& in : inputs) stdin_users += !in.origin.empty() && in.is_stdin();
  if (stdin_users > 1) usage_fail("standard input can be read only once");
  const bool segmented = r.count("segments") > 0;
  if (segmented) {
    for (const auto& in : inputs)
      if (!in.from_list())
        usage_fail("--segments cuts recordings of a wav.scp (--scp FILE), not '", in.source, "'");
    if (segments_path == "-" && stdin_users) usage_fail("standard input can be read only once");
  } else if (r.count("max-overshoot")) {
    usage_fail("--max-overshoot needs --segments");
  }
  std::unordered_map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (auto [it, fresh] = seen.emplace(inputs[i].key, i); !fresh)
      fail("duplicate key '", inputs[i].key, "' (", inputs[it->second].source, " and ",
           inputs[i].source, ")");

  // Segments are checked against the recordings before anything is written.
  std::vector<Segment> segments;
  if (segmented) segments = read_segments(segments_path, inputs);

  // Without --rate every wav.scp entry must have the first one's rate
  // (files are checked before anything is written; commands when decoded).
  const bool one_rate = !raw && o.rate <= 0;
  SameRate same_rate;
  if (one_rate) check_file_rates(inputs, same_rate);

  WriterOptions wo;
  wo.force_terminal = force;
  ArchiveWriter out(output, wo);
  SpooledStream stdin_spool;
  if (stdin_users) stdin_spool = spool_stdin("<stdin>");

  cli::Progress meter("utterances", segmented ? segments.size() : inputs.size(), quiet);
  std::uint64_t written = 0, skipped = 0;
  double seconds = 0;
  auto skip = [&](const std::string& error) {
    ++skipped;
    meter.add();
    if (strict) fail(error);
    cli::warn(cat(error, " (skipped)"));
  };
  const RawFormat* raw_format = raw ? &*raw : nullptr;
  auto deliver = [&](const AudioSource& in, UtteranceFeatures& f) {
    if (!f.error.empty()) return skip(f.error);
    if (one_rate && in.from_list()) same_rate.check(in, f.plan.in_rate);
    if (std::string why = write_features(out, in, f, o, raw_format); !why.empty()) return skip(why);
    ++written;
    meter.add();
    seconds += f.plan.seconds();
  };

  if (segmented) {
    // A run of segments of one recording reads it once; a recording named
    // again later is read again. One recording is held at a time.
    for (std::size_t b = 0; b < segments.size();) {
      std::size_t e = b;
      std::vector<const Segment*> run;
      while (e < segments.size() && segments[e].recording == segments[b].recording) run.push_back(&segments[e++]);
      const AudioSource& in = inputs[segments[b].recording];
      Audio rec;
      std::string error;
      try {
        rec = read_recording(in, o.channel, raw_format, &stdin_spool);
        if (one_rate) same_rate.check(in, rec.rate);
      } catch (const UsageError&) {
        throw;
      } catch (const Error& err) {
        error = cat(in.origin, ": ", err.what());
      }
      if (!error.empty()) {
        for (const Segment* s : run) skip(cat(s->origin, ": utterance '", s->utt, "': ", error));
      } else {
        run_ordered<UtteranceFeatures>(
            run.size(), jobs, 4 * static_cast<std::size_t>(jobs),
            [&](std::size_t i) { return compute_segment(rec, *run[i], o, max_overshoot); },
            [&](std::size_t i, UtteranceFeatures& f) {
              AudioSource as{run[i]->utt, in.source, ""};  // not from a list: the rate was checked above
              deliver(as, f);
            });
      }
      b = e;
    }
  } else {
    // Workers compute inputs in order; this thread writes them in order.
    // At most 4 x jobs results wait, which bounds memory.
    run_ordered<UtteranceFeatures>(
        inputs.size(), jobs, 4 * static_cast<std::size_t>(jobs),
        [&](std::size_t i) { return compute_features(inputs[i], o, raw_format, &stdin_spool); },
        [&](std::size_t i, UtteranceFeatures& f) { deliver(inputs[i], f); });
  }
  out.close();

  const double wall = meter.elapsed_seconds();
  char line[160];
  std::snprintf(line, sizeof line, "%llu written, %llu skipped, %.1f s of audio (%.0fx real time)",
                static_cast<unsigned long long>(written), static_cast<unsigned long long>(skipped), seconds,
                wall > 0 ? seconds / wall : 0.0);
  meter.finish(line);
  return skipped ? cli::kExitFailure : cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-mfcc", argc, argv, mfcc_main); }
