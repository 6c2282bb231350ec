// One progress meter for every long-running tool (sb-mfcc, sb-embed,
// sb-rank, sb-rsa, sb-probe).
//
// On a terminal (stderr is a tty) it redraws one line in place, at most four
// times a second:
//   sb-mfcc: 120/500 utterances (24%), 40.1 utterances/s, ETA 9 s
// and ends with the summary line. Elsewhere (a log, a pipe, a test) it
// writes only the summary, once:
//   sb-mfcc: 500 utterances, 12.3 s, 40.6 utterances/s
// --quiet silences both.
//
//   cli::Progress meter("utterances", inputs.size(), quiet);
//   for (...) { work(); meter.add(); }
//   meter.finish(cat(skipped, " skipped"));   // "..., 40.6 utterances/s; 2 skipped"
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <mutex>
#include <string>

namespace sb::cli {

class Progress {
 public:
  enum class Mode { Auto, Terminal, Summary, Quiet };

  // unit: what is counted, plural ("utterances", "records", "pairs").
  // total: how many there will be; 0 when not known (no percentage, no ETA).
  // Auto picks Terminal when stderr is a tty, else Summary; quiet = Quiet.
  Progress(std::string unit, std::uint64_t total, bool quiet);
  // For tests: an explicit mode and stream.
  Progress(std::string unit, std::uint64_t total, Mode mode, std::ostream& os);
  ~Progress();  // an unfinished terminal line is ended, so the prompt is clean
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void set_total(std::uint64_t total);
  // Counts n more items done. Safe to call from several threads at once.
  void add(std::uint64_t n = 1);
  std::uint64_t done() const { return done_.load(std::memory_order_relaxed); }
  double elapsed_seconds() const;

  // Writes the summary line (unless Quiet); `extra`, when given, follows a
  // "; ". Call once, at the end of a successful run.
  void finish(const std::string& extra = "");

  // Clears a terminal line in progress so that a warning starts at column 0
  // (cli::warn and cli::info call it; the meter redraws on its next add).
  static void clear_active_line();

 private:
  void draw(bool force);
  std::string status_line() const;

  std::string unit_;
  std::atomic<std::uint64_t> total_;
  std::atomic<std::uint64_t> done_{0};
  Mode mode_;
  std::ostream& os_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<std::int64_t> last_draw_ns_{0};
  std::mutex draw_mu_;
  bool line_shown_ = false;  // guarded by draw_mu_
  bool finished_ = false;
};

// Shared formatting ("12.3 s", "2 min 05 s", "40.6"), exposed for tests.
std::string format_duration(double seconds);
std::string format_rate(double per_second);

}  // namespace sb::cli
