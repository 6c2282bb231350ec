#include "audio/inputs.h"

#include <sys/wait.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "core/error.h"
#include "core/strings.h"
#include "io/table.h"

namespace sb {

bool AudioSource::is_stdin() const { return trim(source) == "-"; }

bool AudioSource::is_command() const {
  std::string_view s = trim(source);
  return !s.empty() && s.back() == '|';
}

std::string key_from_path(const std::string& path) {
  std::string b = path.substr(path.find_last_of('/') + 1);
  std::size_t dot = b.find_last_of('.');
  if (dot != std::string::npos && dot > 0) b.resize(dot);
  return b;
}

bool is_ark_offset(std::string_view value) {
  std::string_view v = trim(value);
  if (!v.empty() && v.back() == ']') {  // "file.ark:123[0:9999]"
    const std::size_t open = v.rfind('[');
    if (open == std::string_view::npos) return false;
    v = v.substr(0, open);
  }
  const std::size_t colon = v.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == v.size()) return false;
  for (char c : v.substr(colon + 1))
    if (c < '0' || c > '9') return false;
  return true;
}

std::vector<AudioSource> read_wav_scp(const std::string& path) {
  std::vector<AudioSource> out;
  for (const TableEntry& e : read_table(path))
    out.push_back({e.key, e.value, cat(path == "-" ? "<stdin>" : path, ":", e.line)});
  return out;
}

SpooledStream run_command(const std::string& cmd) {
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) fail("cannot run '", cmd, "'");
  SpooledStream out;
  try {
    out = SpooledStream::copy(p, cat("command '", cmd, "'"));
  } catch (...) {
    ::pclose(p);
    throw;
  }
  const int status = ::pclose(p);
  if (status == -1) fail("command '", cmd, "': cannot wait for it");
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    fail("command '", cmd, "' failed (exit status ", WEXITSTATUS(status), ")");
  if (WIFSIGNALED(status)) fail("command '", cmd, "' killed by signal ", WTERMSIG(status));
  return out;
}

std::string source_name(const AudioSource& s) {
  const std::string_view src = trim(s.source);
  if (s.is_command()) return std::string(trim(src.substr(0, src.size() - 1)));
  if (s.is_stdin()) return "<stdin>";
  return std::string(src);
}

SpooledStream spool_source(const AudioSource& s, SpooledStream* stdin_spool) {
  if (s.is_command()) return run_command(source_name(s));
  if (!s.is_stdin()) fail(source_name(s), ": internal error: a file is not spooled");
  if (!stdin_spool || !stdin_spool->valid()) fail("<stdin>: standard input is not available here");
  return std::move(*stdin_spool);
}

std::unique_ptr<AudioReader> open_source(const AudioSource& s, int channel, const RawFormat* raw,
                                         SpooledStream* stdin_spool) {
  std::string_view src = trim(s.source);
  if (s.from_list() && !s.is_command() && is_ark_offset(src))
    fail("key ", s.key, ": '", src, "': Kaldi ark:offset audio is not supported; convert with wav-copy");
  if (s.is_command() || s.is_stdin())
    return std::make_unique<AudioReader>(spool_source(s, stdin_spool), source_name(s), channel, raw);
  return std::make_unique<AudioReader>(source_name(s), channel, raw);
}

namespace {

// A whole field as a finite number, or false.
bool parse_seconds(std::string_view text, double& out) {
  const std::string t(text);
  errno = 0;
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return !t.empty() && end == t.c_str() + t.size() && errno != ERANGE && std::isfinite(out);
}

}  // namespace

std::vector<Segment> read_segments(const std::string& path, const std::vector<AudioSource>& recordings) {
  const std::string name = path == "-" ? "<stdin>" : path;
  std::unordered_map<std::string, std::size_t> rec_index;
  for (std::size_t i = 0; i < recordings.size(); ++i) rec_index.emplace(recordings[i].key, i);
  std::vector<Segment> out;
  for (const TableEntry& e : read_table(path)) {  // duplicate utterance ids: read_table's error
    const std::string at = cat(name, ": line ", e.line, ": utterance '", e.key, "'");
    const std::vector<std::string_view> f = split_ws(e.value);
    if (f.size() == 4)
      fail(at, ": a channel field is not supported (give --channel N for all recordings)");
    if (f.size() != 3) fail(at, ": expected 'utt-id rec-id start end', got ", f.size() + 1, " fields");
    Segment s;
    s.utt = e.key;
    s.rec = std::string(f[0]);
    s.origin = cat(name, ":", e.line);
    if (!parse_seconds(f[1], s.start)) fail(at, ": start '", f[1], "' is not a finite number of seconds");
    if (!parse_seconds(f[2], s.end)) fail(at, ": end '", f[2], "' is not a finite number of seconds");
    if (s.start < 0) fail(at, ": negative start ", f[1]);
    if (s.end != -1 && s.end <= 0)
      fail(at, ": end ", f[2], " is not a time: only -1 means the end of the recording (as Kaldi)");
    if (s.end > 0 && s.start >= s.end) fail(at, ": start ", f[1], " is not before end ", f[2]);
    const auto it = rec_index.find(s.rec);
    if (it == rec_index.end()) fail(at, ": recording '", s.rec, "' is not in the wav.scp");
    s.recording = it->second;
    out.push_back(std::move(s));
  }
  return out;
}

SampleRange segment_samples(const Segment& s, std::int64_t n, double rate, double max_overshoot) {
  SampleRange r;
  // Truncation, as extract-segments' int32 conversions.
  r.begin = static_cast<std::int64_t>(s.start * rate);
  r.end = s.end == -1 ? n : static_cast<std::int64_t>(s.end * rate);
  const double seconds = static_cast<double>(n) / rate;
  if (r.begin >= n) fail("start ", s.start, " s is at or past the end of recording '", s.rec, "' (", seconds, " s)");
  if (r.end > n) {
    if (r.end >= n + static_cast<std::int64_t>(max_overshoot * rate))
      fail("end ", s.end, " s is past the end of recording '", s.rec, "' (", seconds, " s) by ",
           s.end - seconds, " s, more than --max-overshoot ", max_overshoot, " s");
    r.end = n;
  }
  return r;
}

namespace {
std::string describe(const AudioSource& in) {
  const std::string src(trim(in.source));
  return in.origin.empty() ? src : cat(in.origin, ": ", src);
}
}  // namespace

void SameRate::check(const AudioSource& in, double rate) {
  if (rate_ == 0) {
    rate_ = rate;
    first_ = describe(in);
    return;
  }
  if (rate != rate_)
    fail(describe(in), ": sample rate ", rate, " Hz, but ", first_, " has ", rate_,
         " Hz; inputs of different rates are not mixed: give --rate R to resample them all to R Hz");
}

void check_file_rates(const std::vector<AudioSource>& inputs, SameRate& same) {
  for (const AudioSource& in : inputs) {
    if (!in.from_list() || !in.is_file()) continue;
    double rate = 0;
    try {
      rate = AudioReader(std::string(trim(in.source))).info().rate;
    } catch (const Error&) {
      continue;  // reported (and skipped) where the input is decoded
    }
    same.check(in, rate);
  }
}

}  // namespace sb
