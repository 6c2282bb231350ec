// What a training run tells the user and writes down: progress within an
// epoch (a bar on a terminal, a line every --log-every steps otherwise), the
// epoch summary line, and the TSV log. Every line goes through Messages
// (messages.h), so the tool decides where and how it is printed.
#pragma once
#include <chrono>
#include <fstream>
#include <string>

#include "model/options.h"
#include "train/messages.h"
#include "train/options.h"

namespace sb::train {

// What happened in one epoch.
struct EpochResult {
  int epoch = 0;
  double train_loss[3] = {0, 0, 0};  // by model::Task index; NaN for absent tasks
  double val_loss[3] = {0, 0, 0};
  bool have_retrieval = false;
  double r1 = 0, r5 = 0, r10 = 0, medr = 0;
  double seconds = 0;
};

class Progress {
 public:
  Progress(const TrainOptions& opt, const Messages& msg, const model::TaskSet& tasks)
      : opt_(opt), msg_(msg), tasks_(tasks) {}
  void start_epoch(int epoch, int steps, int first_step);
  // After step `step` (from 0) with the epoch's loss sums so far.
  void step(int step, const double* sums);
  // "epoch 3/25: si loss 0.1234 (val 0.2345); R@1 ... ; 12.3 s (best)"
  void epoch_done(const EpochResult& r, bool best, const bool* validated);

 private:
  const TrainOptions& opt_;
  const Messages& msg_;
  model::TaskSet tasks_;
  int epoch_ = 0, steps_ = 0, first_ = 0;
  std::chrono::steady_clock::time_point t0_, last_;
};

// The TSV log: a header, then one row per epoch; a resumed run appends to a
// log that already has rows.
class TrainLog {
 public:
  TrainLog(const std::string& path, bool resumed, const model::TaskSet& tasks);  // path "" = no log
  void write(const EpochResult& r);

 private:
  std::string path_;
  model::TaskSet tasks_;
  std::ofstream out_;
};

}  // namespace sb::train
