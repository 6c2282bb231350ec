#include "train/progress.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "core/strings.h"

namespace sb::train {

using model::Task;

namespace {
int idx(Task t) { return static_cast<int>(t); }
}  // namespace

void Progress::start_epoch(int epoch, int steps, int first_step) {
  epoch_ = epoch;
  steps_ = steps;
  first_ = first_step;
  t0_ = last_ = std::chrono::steady_clock::now();
}

void Progress::step(int step, const double* sums) {
  const int done = step + 1;
  const auto now = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(now - t0_).count();
  const double rate = secs > 0 ? (done - first_) / secs : 0;
  std::string losses;
  for (Task t : model::kTaskOrder)
    if (tasks_.has(t)) {
      char buf[48];
      std::snprintf(buf, sizeof buf, " %s %.4f", model::task_name(t), sums[idx(t)] / done);
      losses += buf;
    }
  if (opt_.progress_bar) {
    if (done < steps_ && std::chrono::duration<double>(now - last_).count() < 0.2) return;
    last_ = now;
    const int width = 24;
    const int fill = steps_ ? width * done / steps_ : width;
    const double eta = rate > 0 ? (steps_ - done) / rate : 0;
    char buf[512];
    std::snprintf(buf, sizeof buf, "epoch %d/%d [%s%s] %d/%d %.1f steps/s loss%s ETA %d:%02d", epoch_, opt_.epochs,
                  std::string(static_cast<std::size_t>(fill), '#').c_str(),
                  std::string(static_cast<std::size_t>(width - fill), '.').c_str(), done, steps_, rate,
                  losses.c_str(), static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    msg_.bar(buf, done == steps_);
  } else if (done % opt_.log_every == 0 || done == steps_) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " (%.2f steps/s)", rate);
    msg_.info(cat("epoch ", epoch_, "/", opt_.epochs, " step ", done, "/", steps_, ": loss", losses, buf));
  }
}

void Progress::epoch_done(const EpochResult& r, bool best, const bool* validated) {
  std::string line = cat("epoch ", r.epoch, "/", opt_.epochs, ":");
  char buf[160];
  for (Task t : model::kTaskOrder) {
    if (!tasks_.has(t)) continue;
    std::snprintf(buf, sizeof buf, " %s loss %.4f", model::task_name(t), r.train_loss[idx(t)]);
    line += buf;
    if (validated[idx(t)]) {
      std::snprintf(buf, sizeof buf, " (val %.4f)", r.val_loss[idx(t)]);
      line += buf;
    }
  }
  if (r.have_retrieval) {
    std::snprintf(buf, sizeof buf, "; R@1 %.3f R@5 %.3f R@10 %.3f Medr %g", r.r1, r.r5, r.r10, r.medr);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, "; %.1f s%s", r.seconds, best && r.have_retrieval ? " (best)" : "");
  line += buf;
  msg_.info(line);
}

TrainLog::TrainLog(const std::string& path, bool resumed, const model::TaskSet& tasks)
    : path_(path), tasks_(tasks) {
  if (path_.empty()) return;
  bool fresh = !resumed;
  if (!fresh) {
    std::ifstream probe(path_);
    fresh = !probe || probe.peek() == std::ifstream::traits_type::eof();
  }
  out_.open(path_, fresh ? std::ios::trunc : std::ios::app);
  if (!out_) fail(path_, ": cannot open for writing: ", std::strerror(errno));
  if (fresh) {
    out_ << "epoch";
    for (Task t : model::kTaskOrder)
      if (tasks_.has(t)) out_ << "\tloss_" << model::task_name(t) << "\tval_loss_" << model::task_name(t);
    out_ << "\tr1\tr5\tr10\tmedr\tseconds\n";
    out_.flush();
  }
}

void TrainLog::write(const EpochResult& r) {
  if (!out_.is_open()) return;
  auto g = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "\t%.6g", v);
    return std::string(b);
  };
  out_ << r.epoch;
  for (Task t : model::kTaskOrder)
    if (tasks_.has(t)) out_ << g(r.train_loss[idx(t)]) << g(r.val_loss[idx(t)]);
  if (r.have_retrieval) out_ << g(r.r1) << g(r.r5) << g(r.r10) << g(r.medr);
  else out_ << "\tnan\tnan\tnan\tnan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "\t%.3f\n", r.seconds);
  out_ << buf;
  out_.flush();
  if (!out_) fail(path_, ": write error");
}

}  // namespace sb::train
