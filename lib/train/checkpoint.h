// Checkpoints: a model archive with the whole training state added, written
// atomically after every epoch and on a stop signal, so that a resumed run
// continues bit for bit (same build, same thread count). Records beyond the
// model's: "train.run" (the run's options, see options.h), "train.state"
// (position, best epoch, data fingerprint), per task the Adam state
// ("adam.<task>."), the data-order generator ("rng.<task>") and, inside an
// epoch, that epoch's batch order ("order.<task>", "order.<task>.sizes").
// Also: the file names, which checkpoints --keep leaves, and the
// fingerprint that tells whether a resumed run sees the same examples.
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "io/archive.h"
#include "model/model.h"
#include "nn/nn.h"
#include "train/batching.h"
#include "train/data.h"
#include "train/options.h"
#include "train/rng.h"

namespace sb::train {

// Everything that changes during training besides parameters and Adam.
struct State {
  int epoch_done = 0;   // epochs completed
  int step = 0;         // next step in epoch epoch_done + 1 (0: at a boundary)
  int best_epoch = 0;
  double best_r10 = -1;
  double loss_sum[3] = {0, 0, 0};
  std::array<std::vector<Batch>, 3> order;  // the current epoch's batches (mid-epoch only)
  std::string data;  // fingerprint of the training examples (see fingerprint())

  // The "train.state" record's keys, in record order.
  void Register(OptionsItf& o);
};

// The optimisation state a checkpoint holds besides the parameters.
struct Optimisers {
  std::array<std::unique_ptr<nn::Adam>, 3> adam;  // by model::Task index; null for absent tasks
  std::array<Rng, 3> rng;
};

// Checkpoint file names: "<output without .sbt>.epochNN.sbt" and
// "<output without .sbt>.interrupted.sbt".
std::string checkpoint_path(const std::string& output, int epoch);
std::string interrupted_path(const std::string& output);

void save_checkpoint(const std::string& path, model::Model& m, const TrainOptions& opt, const DataSpec& data,
                     const Optimisers& o, const State& st);
// The output model: the options record carries the training options and
// the epoch (with its validation R@10 and Medr when there was validation).
void save_model(const std::string& path, model::Model& m, const TrainOptions& opt, int epoch, bool validated,
                double r10, double medr);

// A whole checkpoint in memory, for train().
struct Checkpoint {
  std::string path;
  std::vector<Record> records;
  model::ModelOptions model;
  static Checkpoint read(const std::string& path);  // sb::Error when not an sb-train checkpoint
};
// Restores State, Adam and generators of the run `run` (its batch size and
// --max-steps). Nothing read is used unchecked (sb::Error naming the
// checkpoint, the record and the field): every value within its registered
// range (State::Register); epoch_done within the epochs of the run the
// checkpoint records, best_epoch not after it, a mid-epoch step not past
// the end of its epoch (the step count of the batch order record); batch
// sizes within 2..batch and examples within the `examples` counts of each
// task (by model::Task index); a generator state not all zero.
void restore_state(const Checkpoint& c, const model::TaskSet& tasks, const TrainOptions& run, Optimisers& o,
                   State& st, const std::array<std::size_t, 3>& examples);

// The options a checkpoint records (model record and run record), read
// record by record up to "train.state", without the Adam state.
RecordedRun read_recorded_run(const std::string& checkpoint);

// --keep: after epoch `epoch`, removes the epoch checkpoints other than the
// best epoch's and the newest `keep` (keep 0: removes none).
void prune_checkpoints(const std::string& output, int epoch, int best_epoch, int keep);

// Which examples, in which order, each task trains on: a resumed run must
// see the same ones to continue the same run. FNV-1a over keys and ids.
std::string fingerprint(const std::array<std::unique_ptr<TaskData>, 3>& train);

}  // namespace sb::train
