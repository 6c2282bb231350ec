// sb-mfcc: audio files, wav.scp lists or audio on stdin -> an .sbt archive
// of MFCC matrices (frames x 13 by default: the paper's 12 MFCCs + log
// energy). The numbers live in lib/audio (MfccOptions, extract_mfcc); this
// file parses options, lists the inputs, runs them (-j N in parallel, output
// in input order) and counts.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "audio/extract.h"
#include "audio/inputs.h"
#include "audio/resample.h"
#include "cli/cli.h"
#include "core/error.h"
#include "core/strings.h"
#include "io/archive.h"

namespace {

using namespace sb;

const char* kEpilog =
    "\nINPUT: audio files (key = base name without extension), wav.scp lists (--scp FILE,\n"
    "or an INPUT ending in .scp; 'key path' or 'key command |' per line), or '-' for one\n"
    "audio file on standard input (key from --key). Records keep the input order.\n"
    "A bad input is warned about and skipped; the exit status is then 2 (--strict: stop).\n"
    "\nDefault features (python_speech_features' mfcc, nfft=512): pre-emphasis 0.97, 25 ms\n"
    "rectangular frames every 10 ms, |rfft|^2/N with N = max(512, next 2^k >= frame),\n"
    "26 mel filters over 0..r/2, log, orthonormal DCT-II, 13 cepstra, lifter 22,\n"
    "c0 = log frame energy. Exact definition: man sb-mfcc.\n"
    "\nExamples:\n"
    "  sb-mfcc --scp data/train/wav.scp > data/train/feats.sbt\n"
    "  sb-mfcc -j 4 --rate 16000 --deltas 2 *.flac -o feats.sbt\n"
    "  sox in.mp3 -t wav - | sb-mfcc --key utt1 - | sb-tensor info\n"
    "  sb-mfcc --raw --rate 16000 --format s16le - < audio.pcm | sb-tensor cat\n"
    "\nSee also: sb-tensor(1), sbt(5), sb(7)\n";

// An utterance whose features exceed this (about 3 minutes at 13 columns) is
// not held in memory: it is streamed into the archive (input from a file, no
// CMVN), so memory does not grow with the length of the audio. Holding one
// costs about three times its size (features, the writer's copy, zstd's
// output), so the bound also caps the peak for medium-length files.
constexpr std::int64_t kStreamBytes = std::int64_t{1} << 20;

struct Result {
  bool done = false;
  bool deferred = false;  // long: the writing thread streams it
  std::vector<float> rows;
  UtterancePlan plan;
  std::string error;
};

Result compute(const AudioSource& in, const MfccOptions& o, const RawFormat* raw,
               std::vector<unsigned char>* stdin_bytes) {
  Result r;
  try {
    if (std::string why = key_problem(in.key); !why.empty()) fail("bad key '", in.key, "': ", why);
    auto reader = open_source(in, o.channel, raw, stdin_bytes);
    if (in.is_file() && o.cmvn == Cmvn::None) {
      try {
        r.plan = plan_utterance(reader->info(), o);
      } catch (const UsageError&) {
        throw;
      } catch (const Error& e) {
        fail(reader->name(), ": ", e.what());
      }
      if (r.plan.rows * r.plan.dim * 4 > kStreamBytes) {
        r.deferred = r.done = true;
        return r;
      }
    }
    r.rows = extract_mfcc(*reader, o, in.key, &r.plan);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    r.error = in.origin.empty() ? e.what() : cat(in.origin, ": ", e.what());
  }
  r.done = true;
  return r;
}

int mfcc_main(int argc, char** argv) {
  const MfccOptions d;  // defaults shown in --help come from the library
  auto num = [](double v) { return cat(v); };
  auto opts = cli::make_options("MFCC features of audio, as an .sbt archive", "[INPUT...]");
  opts.add_options("Input")
      ("scp", "wav.scp list ('-' = stdin); may be repeated", cxxopts::value<std::vector<std::string>>())
      ("key", "key of the audio read from stdin", cxxopts::value<std::string>()->default_value("stdin"))
      ("rate", "resample to R Hz (libsoxr); with --raw: the input's rate", cxxopts::value<double>())
      ("channel", "use channel N (0-based) instead of the mean of all", cxxopts::value<int>())
      ("max-seconds", "use only the first S seconds (0 = all)", cxxopts::value<double>()->default_value(num(d.max_seconds)))
      ("raw", "inputs are headerless PCM (needs --rate)")
      ("format", "raw encoding: " + raw_encodings(), cxxopts::value<std::string>()->default_value("s16le"))
      ("channels", "raw: interleaved channels", cxxopts::value<int>()->default_value("1"));
  opts.add_options("Features")
      ("frame-length", "frame length, ms", cxxopts::value<double>()->default_value(num(d.frame_length_ms)))
      ("frame-shift", "frame shift, ms", cxxopts::value<double>()->default_value(num(d.frame_shift_ms)))
      ("window", "rect|hamming|hann|povey", cxxopts::value<std::string>()->default_value(window_name(d.window)))
      ("fft-size", "minimum FFT size (power of 2; grown to fit a frame)", cxxopts::value<int>()->default_value(num(d.fft_size)))
      ("num-filters", "mel filters (1..1024)", cxxopts::value<int>()->default_value(num(d.num_filters)))
      ("num-ceps", "cepstra kept (1..num-filters)", cxxopts::value<int>()->default_value(num(d.num_ceps)))
      ("low-freq", "lowest filter edge, Hz", cxxopts::value<double>()->default_value(num(d.low_freq)))
      ("high-freq", "highest filter edge, Hz (0 = r/2; < 0: r/2 + value)", cxxopts::value<double>()->default_value(num(d.high_freq)))
      ("preemph", "pre-emphasis coefficient (0..1; 0 = none)", cxxopts::value<double>()->default_value(num(d.preemph)))
      ("lifter", "cepstral lifter L (0 = none)", cxxopts::value<double>()->default_value(num(d.lifter)))
      ("no-energy", "keep c0 instead of replacing it with log frame energy")
      ("deltas", "append deltas: 0, 1 (+delta) or 2 (+delta, +delta-delta)", cxxopts::value<int>()->default_value(num(d.deltas)))
      ("delta-window", "delta regression half-width N (1..100)", cxxopts::value<int>()->default_value(num(d.delta_window)))
      ("cmvn", "per-utterance normalisation: none|mean|meanvar", cxxopts::value<std::string>()->default_value(cmvn_name(d.cmvn)))
      ("dither", "add Gaussian noise of this standard deviation (samples in [-1,1))", cxxopts::value<double>()->default_value(num(d.dither)))
      ("seed", "dither seed (mixed with each key)", cxxopts::value<unsigned long long>()->default_value("0"));
  opts.add_options("Output")
      ("o,output", "output archive ('-' = stdout)", cxxopts::value<std::string>()->default_value("-"))
      ("j,jobs", "utterances in parallel (output order unchanged)", cxxopts::value<int>()->default_value("1"))
      ("strict", "stop at the first bad input")
      ("q,quiet", "no summary line")
      ("f,force", "write binary data even to a terminal");
  opts.add_options(cli::kPositional)("inputs", "inputs", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"inputs"});
  auto r = cli::parse(opts, argc, argv, kEpilog);

  MfccOptions o;
  o.frame_length_ms = r["frame-length"].as<double>();
  o.frame_shift_ms = r["frame-shift"].as<double>();
  o.window = window_from_name(r["window"].as<std::string>());
  o.fft_size = r["fft-size"].as<int>();
  o.num_filters = r["num-filters"].as<int>();
  o.num_ceps = r["num-ceps"].as<int>();
  o.low_freq = r["low-freq"].as<double>();
  o.high_freq = r["high-freq"].as<double>();
  o.preemph = r["preemph"].as<double>();
  o.lifter = r["lifter"].as<double>();
  o.energy = !r.count("no-energy");
  o.deltas = r["deltas"].as<int>();
  o.delta_window = r["delta-window"].as<int>();
  o.cmvn = cmvn_from_name(r["cmvn"].as<std::string>());
  o.dither = r["dither"].as<double>();
  o.seed = r["seed"].as<unsigned long long>();
  o.max_seconds = r["max-seconds"].as<double>();
  if (r.count("channel")) o.channel = r["channel"].as<int>();
  if (o.channel < -1) usage_fail("--channel must be >= 0");

  std::optional<RawFormat> raw;
  if (r.count("raw")) {
    if (!r.count("rate")) usage_fail("--raw needs --rate R (the input's sample rate)");
    raw = RawFormat{r["format"].as<std::string>(), r["rate"].as<double>(), r["channels"].as<int>()};
    if (!(raw->rate > 0 && raw->rate < 1e7)) usage_fail("--rate must be in (0, 1e7) Hz");
    if (raw->channels < 1 || raw->channels > 1024) usage_fail("--channels must be in [1, 1024]");
    if (raw_encodings().find(raw->encoding) == std::string::npos || raw->encoding.size() < 2)
      usage_fail("--format must be one of ", raw_encodings(), ", not '", raw->encoding, "'");
  } else if (r.count("rate")) {
    o.rate = r["rate"].as<double>();
    if (!resampling_available()) usage_fail("--rate needs libsoxr, and this sb-mfcc was built without it");
  }
  o.validate();
  const int jobs = r["jobs"].as<int>();
  if (jobs < 1 || jobs > 1024) usage_fail("--jobs must be in [1, 1024]");
  const bool strict = r.count("strict") > 0;

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
        inputs.push_back({s == "-" ? r["key"].as<std::string>() : key_from_path(s), s, ""});
      }
    }
  if (!r.count("scp") && !r.count("inputs")) {
    inputs.push_back({r["key"].as<std::string>(), "-", ""});
    stdin_users = 1;
  }
  for (const auto& in : inputs) stdin_users += !in.origin.empty() && in.is_stdin();
  if (stdin_users > 1) usage_fail("standard input can be read only once");
  std::unordered_map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (auto [it, fresh] = seen.emplace(inputs[i].key, i); !fresh)
      fail("duplicate key '", inputs[i].key, "' (", inputs[it->second].source, " and ",
           inputs[i].source, ")");

  // Without --rate every wav.scp entry must have the first one's rate
  // (files are checked before anything is written; commands when decoded).
  const bool one_rate = !raw && o.rate <= 0;
  SameRate same_rate;
  if (one_rate) check_file_rates(inputs, same_rate);

  WriterOptions wo;
  wo.force_terminal = r.count("force") > 0;
  ArchiveWriter out(r["output"].as<std::string>(), wo);
  std::vector<unsigned char> stdin_bytes;
  if (stdin_users) stdin_bytes = read_all_stdin("<stdin>");

  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t written = 0, skipped = 0;
  double seconds = 0;
  auto skip = [&](const std::string& error) {
    ++skipped;
    if (strict) fail(error);
    cli::warn(cat(error, " (skipped)"));
  };
  auto deliver = [&](const AudioSource& in, Result& res) {
    if (!res.error.empty()) return skip(res.error);
    if (one_rate && in.from_list()) same_rate.check(in, res.plan.in_rate);
    const std::int64_t shape[2] = {res.plan.rows, res.plan.dim};
    if (res.deferred) {
      // A first pass decodes the audio, so that a corrupt file is skipped
      // before its record is begun; a record cannot be taken back.
      const std::string path(trim(in.source));
      try {
        AudioReader check(path, o.channel, raw ? &*raw : nullptr);
        std::vector<float> block(1 << 16);
        for (std::int64_t left = res.plan.in_samples; left > 0;) {
          std::size_t got = check.read(block.data(), static_cast<std::size_t>(std::min<std::int64_t>(left, 1 << 16)));
          if (got == 0) fail(path, ": audio ends early");
          left -= static_cast<std::int64_t>(got);
        }
      } catch (const Error& e) {
        return skip(in.origin.empty() ? e.what() : cat(in.origin, ": ", e.what()));
      }
      AudioReader reader(path, o.channel, raw ? &*raw : nullptr);
      out.begin_record(in.key, DType::F32, shape);
      try {
        extract_mfcc(reader, o, in.key, [&](const float* rows, std::size_t n) {
          out.append(rows, n * static_cast<std::size_t>(res.plan.dim) * sizeof(float));
        });
      } catch (const UsageError&) {
        throw;
      } catch (const Error& e) {
        fail(e.what(), " (while streaming its record: the output archive is incomplete)");
      }
      out.end_record();
    } else {
      out.write(in.key, DType::F32, shape, res.rows.data());
    }
    ++written;
    seconds += res.plan.seconds();
    std::vector<float>().swap(res.rows);
  };

  if (jobs == 1 || inputs.size() < 2) {
    for (const auto& in : inputs) {
      Result res = compute(in, o, raw ? &*raw : nullptr, &stdin_bytes);
      deliver(in, res);
    }
  } else {
    // Workers take inputs in order and fill result slots; this thread writes
    // slot after slot. At most `window` results wait, which bounds memory.
    std::vector<Result> slots(inputs.size());
    std::mutex mu;
    std::condition_variable cv;
    std::size_t next = 0, writing = 0;
    const std::size_t window = 4 * static_cast<std::size_t>(jobs);
    bool stop = false;
    std::exception_ptr usage;
    auto worker = [&] {
      for (;;) {
        std::size_t i;
        {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return stop || next >= inputs.size() || next < writing + window; });
          if (stop || next >= inputs.size()) return;
          i = next++;
        }
        Result res;
        try {
          res = compute(inputs[i], o, raw ? &*raw : nullptr, &stdin_bytes);
        } catch (...) {
          std::lock_guard lk(mu);
          usage = std::current_exception();
          res.done = true;
        }
        std::lock_guard lk(mu);
        slots[i] = std::move(res);
        cv.notify_all();
      }
    };
    std::vector<std::thread> pool;
    for (int k = 0; k < jobs; ++k) pool.emplace_back(worker);
    auto stop_all = [&] {
      {
        std::lock_guard lk(mu);
        stop = true;
      }
      cv.notify_all();
      for (auto& t : pool) t.join();
    };
    try {
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        Result res;
        {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return slots[i].done; });
          if (usage) std::rethrow_exception(usage);
          res = std::move(slots[i]);
          writing = i + 1;
        }
        cv.notify_all();
        deliver(inputs[i], res);
      }
    } catch (...) {
      stop_all();
      throw;
    }
    stop_all();
  }
  out.close();

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r.count("quiet")) {
    char line[256];
    std::snprintf(line, sizeof line, "%llu utterances written, %llu skipped, %.1f s of audio in %.2f s (%.0fx real time)",
                  static_cast<unsigned long long>(written), static_cast<unsigned long long>(skipped),
                  seconds, wall, wall > 0 ? seconds / wall : 0.0);
    cli::info(line);
  }
  return skipped ? cli::kExitFailure : cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-mfcc", argc, argv, mfcc_main); }
