#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/cli.h"

namespace sb::cli {
namespace {

// A redraw at most this often: enough to look alive, cheap over ssh.
constexpr std::int64_t kRedrawNs = 250'000'000;

std::atomic<Progress*> g_active{nullptr};

}  // namespace

std::string format_duration(double s) {
  char buf[64];
  if (!(s >= 0)) s = 0;
  if (s < 1) {
    std::snprintf(buf, sizeof buf, "%.2f s", s);
  } else if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  } else if (s < 3600) {
    const long t = std::lround(s);
    std::snprintf(buf, sizeof buf, "%ld min %02ld s", t / 60, t % 60);
  } else {
    const long t = std::lround(s / 60);
    std::snprintf(buf, sizeof buf, "%ld h %02ld min", t / 60, t % 60);
  }
  return buf;
}

std::string format_rate(double r) {
  char buf[64];
  if (r >= 1000) std::snprintf(buf, sizeof buf, "%.0f", r);
  else std::snprintf(buf, sizeof buf, "%.3g", r);
  return buf;
}

Progress::Progress(std::string unit, std::uint64_t total, bool quiet)
    : Progress(std::move(unit), total,
               quiet ? Mode::Quiet : (::isatty(2) ? Mode::Terminal : Mode::Summary), std::cerr) {}

Progress::Progress(std::string unit, std::uint64_t total, Mode mode, std::ostream& os)
    : unit_(std::move(unit)), total_(total), mode_(mode), os_(os),
      start_(std::chrono::steady_clock::now()) {
  if (mode_ == Mode::Auto) mode_ = ::isatty(2) ? Mode::Terminal : Mode::Summary;
  if (mode_ == Mode::Terminal) g_active.store(this);
}

Progress::~Progress() {
  Progress* self = this;
  g_active.compare_exchange_strong(self, nullptr);
  std::lock_guard lk(draw_mu_);
  if (line_shown_) os_ << '\n' << std::flush;
}

void Progress::set_total(std::uint64_t total) { total_.store(total); }

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::add(std::uint64_t n) {
  done_.fetch_add(n, std::memory_order_relaxed);
  if (mode_ != Mode::Terminal) return;
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count();
  std::int64_t last = last_draw_ns_.load(std::memory_order_relaxed);
  if (now - last < kRedrawNs) return;
  // One thread wins the right to draw this round; the others go on working.
  if (!last_draw_ns_.compare_exchange_strong(last, now)) return;
  draw(false);
}

std::string Progress::status_line() const {
  const std::uint64_t done = done_.load(), total = total_.load();
  const double t = std::max(elapsed_seconds(), 1e-6);
  const double rate = static_cast<double>(done) / t;
  // Built with append: GCC 12 warns falsely (-Wrestrict) on chains of +.
  std::string s = tool_name();
  s.append(": ").append(std::to_string(done));
  if (total) {
    s.append("/").append(std::to_string(total)).append(" ").append(unit_);
    char pct[32];
    std::snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * static_cast<double>(std::min(done, total)) / static_cast<double>(total));
    s += pct;
  } else {
    s.append(" ").append(unit_);
  }
  s.append(", ").append(format_rate(rate)).append(" ").append(unit_).append("/s");
  if (total && done > 0 && done < total)
    s.append(", ETA ").append(format_duration(static_cast<double>(total - done) / rate));
  return s;
}

void Progress::draw(bool force) {
  std::unique_lock lk(draw_mu_, std::defer_lock);
  if (force) lk.lock();
  else if (!lk.try_lock()) return;
  // \033[K clears what a longer previous line left to the right.
  os_ << '\r' << status_line() << "\033[K" << std::flush;
  line_shown_ = true;
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  Progress* self = this;
  g_active.compare_exchange_strong(self, nullptr);
  if (mode_ == Mode::Quiet) return;
  const double t = elapsed_seconds();
  const std::uint64_t done = done_.load();
  std::string s = tool_name();
  s.append(": ").append(std::to_string(done)).append(" ").append(unit_).append(", ");
  s.append(format_duration(t)).append(", ");
  s.append(format_rate(static_cast<double>(done) / std::max(t, 1e-6))).append(" ").append(unit_).append("/s");
  if (!extra.empty()) s.append("; ").append(extra);
  std::lock_guard lk(draw_mu_);
  if (line_shown_) os_ << '\r';
  os_ << s << (line_shown_ ? "\033[K\n" : "\n") << std::flush;
  line_shown_ = false;
}

void Progress::clear_active_line() {
  Progress* p = g_active.load();
  if (!p) return;
  std::lock_guard lk(p->draw_mu_);
  if (p->line_shown_) {
    p->os_ << "\r\033[K" << std::flush;
    p->line_shown_ = false;
  }
}

}  // namespace sb::cli
