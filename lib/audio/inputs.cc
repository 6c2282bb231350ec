#include "audio/inputs.h"

#include <sys/wait.h>

#include <cstdio>

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
  if (s.is_command() || s.is_stdin())
    return std::make_unique<AudioReader>(spool_source(s, stdin_spool), source_name(s), channel, raw);
  return std::make_unique<AudioReader>(source_name(s), channel, raw);
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
