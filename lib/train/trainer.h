// The round-robin trainer (paper 3.5, 3.8): each step takes one batch of
// each task in turn (st, si, ti) and updates that task's parameters, the
// shared encoders included, with the task's own Adam and gradient clipping.
// An epoch ends when the smallest task's batches run out; each task's data
// is reshuffled every epoch from its own generator. After each epoch: the
// validation loss of each task and speech->image R@1/5/10 and Medr; the
// best epoch by R@10 is written to the output model.
//
// The parts, one file each: options and data spec (options.h), checkpoint
// state, save and restore (checkpoint.h), progress lines and the TSV log
// (progress.h), data directories (data.h), batching (batching.h),
// validation (evaluate.h); this file is the run loop.
//
// Checkpoints are model archives with the whole training state added,
// written atomically; resuming from one continues bit for bit as if the
// run had never stopped (same build, same thread count).
#pragma once
#include <string>

#include "backend/backend.h"
#include "model/options.h"
#include "train/checkpoint.h"
#include "train/options.h"
#include "train/progress.h"

namespace sb::train {

// SIGINT/SIGTERM: the trainer finishes the current step, writes a
// checkpoint and returns. The handlers only set a flag.
void install_stop_handlers();
void request_stop(int signal);
int stop_signal();  // 0 when no stop was requested

struct TrainSummary {
  int epochs_done = 0;
  int best_epoch = 0;
  double best_r10 = 0;
  int stopped_by = 0;          // signal number when interrupted
  std::string checkpoint;      // the last checkpoint written
};

// Trains. `model_opts` gives tasks, layout and sizes (feature and image
// dimensions and the vocabulary are taken from the data); with
// opt.resume they come from the checkpoint instead, and so do margin,
// batch, lr, clip and seed (the run's other options are `opt` as given:
// resolve_resume() merges them with the checkpoint's run record first).
// Throws sb::Error on bad data, a NaN/Inf loss (naming task, epoch and
// step), or I/O failure.
TrainSummary train(Backend& be, const model::ModelOptions& model_opts, const TrainOptions& opt,
                   const DataSpec& data, const Messages& msg);

}  // namespace sb::train
