// The round-robin trainer (paper 3.5, 3.8): each step takes one batch of
// each task in turn (st, si, ti) and updates that task's parameters, the
// shared encoders included, with the task's own Adam and gradient clipping.
// An epoch ends when the smallest task's batches run out; each task's data
// is reshuffled every epoch from its own generator. After each epoch: the
// validation loss of each task and speech->image R@1/5/10 and Medr; the
// best epoch by R@10 is written to the output model.
//
// Checkpoints are model archives with the whole training state added
// (every Adam state, the generators, epoch, step, the current epoch's batch
// order), written atomically; resuming from one continues bit for bit as
// if the run had never stopped (same build, same thread count).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "model/options.h"

namespace sb::train {

struct TrainOptions {
  float margin = 0.2f;
  int epochs = 25;
  int batch = 16;
  float lr = 2e-4f;
  float clip = 2.0f;
  std::uint64_t seed = 1;
  int keep = 0;              // epoch checkpoints kept (0 = all)
  std::string output;        // the model (best epoch); checkpoints beside it
  std::string log;           // TSV, one row per epoch ("" = none)
  std::string resume;        // checkpoint to continue from ("" = fresh start)
  int log_every = 100;       // steps between plain progress lines
  bool progress_bar = false; // \r-updated bar (stderr is a terminal)
  int max_steps = 0;         // stop each epoch after this many steps (0 = all; tests, benchmarks)

  void validate() const;     // UsageError naming the option
  std::string to_text() const;  // "margin 0.2\n..." for the options record
  // Restores margin, batch, lr, clip, seed from a checkpoint's options text.
  void restore_from_text(std::string_view text, const std::string& where);
};

// Where each task's training data lives, and the validation directory.
struct DataSpec {
  std::string data;            // all tasks (ALIGNED)
  std::string si, st, ti;      // per task (override data)
  std::string val;
  std::string dir_for(model::Task t) const;  // "" when neither is given
};

// Checks a preset's data condition against the directories given: an
// aligned preset trains every task on one directory, a non-aligned one
// trains st on a directory that is not si's. UsageError otherwise.
void check_condition(model::DataCondition c, const DataSpec& spec, const model::TaskSet& tasks);

// What happened in one epoch.
struct EpochResult {
  int epoch = 0;
  double train_loss[3] = {0, 0, 0};  // by model::Task index; NaN for absent tasks
  double val_loss[3] = {0, 0, 0};
  bool have_retrieval = false;
  double r1 = 0, r5 = 0, r10 = 0, medr = 0;
  double seconds = 0;
};

// Lines for the user; the tool prefixes them with its name.
struct Messages {
  std::function<void(std::string_view)> info = [](std::string_view) {};
  std::function<void(std::string_view)> warn = [](std::string_view) {};
};

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
// opt.resume they come from the checkpoint instead. Throws sb::Error on bad
// data, a NaN/Inf loss (naming task, epoch and step), or I/O failure.
TrainSummary train(Backend& be, const model::ModelOptions& model_opts, const TrainOptions& opt,
                   const DataSpec& data, const Messages& msg);

// Checkpoint file names: "<output without .sbt>.epochNN.sbt" and
// "<output without .sbt>.interrupted.sbt".
std::string checkpoint_path(const std::string& output, int epoch);
std::string interrupted_path(const std::string& output);

}  // namespace sb::train
