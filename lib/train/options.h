// What a training run is told: the optimisation and run options
// (TrainOptions), where its data lives (DataSpec), and the model sizes
// sb-train takes on its command line. Each struct registers its options once
// (Kaldi's Register pattern, core/options_itf.h): the field's initial value is
// the default, the registration gives name, help and range, and the same
// registration writes and reads the run record a checkpoint keeps, checks
// ranges (validate) and compares a resumed run's options with the recorded
// ones. Nothing here knows the command-line parser.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "core/options_itf.h"
#include "model/options.h"
#include "train/messages.h"

namespace sb::train {

// The most epochs a run may have (--epochs); a checkpoint's epoch counts
// are held to it too.
inline constexpr int kMaxEpochs = 100000;

struct TrainOptions {
  std::string output;        // the model (best epoch); checkpoints beside it
  int epochs = 25;
  int batch = 16;
  float lr = 2e-4f;
  float clip = 2.0f;
  float margin = 0.2f;
  std::uint64_t seed = 1;
  int keep = 3;              // epoch checkpoints kept besides the best one (0 = all)
  std::string log;           // TSV, one row per epoch ("" = none)
  int log_every = 100;       // steps between plain progress lines
  std::string resume;        // checkpoint to continue from ("" = fresh start)
  int max_steps = 0;         // stop each epoch after this many steps (0 = all; tests, benchmarks)
  int max_frames = 2000;     // training utterances longer than this are skipped (0 = no cap)
  // How the tool computes; recorded so that a resumed run computes the same
  // way (the lib itself does not read them).
  std::string device = "cpu";
  int threads = 0;           // 0 = all cores
  bool progress_bar = false; // \r-updated bar (stderr is a terminal); not an option

  // The command-line options, in --help order; "o,output" has the alias -o.
  void Register(OptionsItf& o);
  void validate() const;     // UsageError naming the option
  // The training options of the model's options record ("margin 0.2\n...",
  // the keys of kModelRecordKeys) and their reader.
  std::string to_text() const;
  void restore_from_text(std::string_view text, const std::string& where);
};

// Keys TrainOptions::to_text() writes into the model's options record; the
// run record leaves them to that record (one owner per value).
inline const std::set<std::string, std::less<>> kModelRecordKeys = {"margin", "batch", "lr", "clip", "seed"};

// Where each task's training data lives, and the validation directory.
struct DataSpec {
  std::string data;            // all tasks (ALIGNED)
  std::string si, st, ti;      // per task (override data)
  std::string val;
  void Register(OptionsItf& o);
  std::string dir_for(model::Task t) const;  // "" when neither is given
};

// The model sizes sb-train takes as options (ModelOptions lives in
// lib/model; its tasks and layers are parsed from text by the tool).
void register_model_sizes(OptionsItf& o, model::ModelOptions& m);

// Checks a preset's data condition against the directories given: an
// aligned preset trains every task on one directory, a non-aligned one
// trains st on a directory that is not si's. UsageError otherwise.
void check_condition(model::DataCondition c, const DataSpec& spec, const model::TaskSet& tasks);

// Registered options as "key value" text and back (the long names are the
// keys; `skip` names keys left out). A value is written exactly: floats and
// doubles round-trip bit for bit.
std::map<std::string, std::string> option_values(
    const std::function<void(OptionsItf&)>& reg, const std::set<std::string, std::less<>>& skip = {});
std::string options_record(const std::function<void(OptionsItf&)>& reg,
                           const std::set<std::string, std::less<>>& skip = {});
// Sets each registered field whose key is in `text`; others keep their value.
void read_options_record(const std::function<void(OptionsItf&)>& reg, std::string_view text,
                         const std::string& where);

// The run settings a checkpoint records ("train.run"), so that
// `sb-train --resume CKPT` alone continues the run: TrainOptions (less the
// keys of the model record and resume) and DataSpec.
std::string run_record(const TrainOptions& t, const DataSpec& d);
void read_run_record(std::string_view text, const std::string& where, TrainOptions& t, DataSpec& d);

// What a checkpoint says about its run, read without loading the Adam state.
struct RecordedRun {
  model::ModelOptions model;
  TrainOptions train;          // margin, batch, lr, clip, seed always; the rest with have_run
  DataSpec data;
  bool have_run = false;       // false: a checkpoint of an sb-train before the run record
};
RecordedRun read_recorded_run(const std::string& checkpoint);

// The options of a resumed run. `given` holds the command line's values and
// `given_names` the long names the user gave. With a run record, the
// recorded values are used; a given option must agree (UsageError naming it
// and both values), except --epochs, which changes the run's length (an info
// line says so), and --threads/--device, which change how it computes (a
// warning says the continuation is then no longer bit-identical). Without a
// run record (older checkpoints) the given run and data options are used, as
// before, and the model record's options must still agree.
void resolve_resume(const RecordedRun& rec, const std::set<std::string>& given_names, TrainOptions& train,
                    DataSpec& data, const Messages& msg, const std::string& where);
// The model options given again with --resume must be the recorded ones
// (sizes by register_model_sizes' names, "tasks", "layers").
void check_model_agrees(const model::ModelOptions& recorded, const model::ModelOptions& given,
                        const std::set<std::string>& given_names, const std::string& where);

}  // namespace sb::train
