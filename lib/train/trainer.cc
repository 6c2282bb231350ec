#include "train/trainer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/strings.h"
#include "model/model.h"
#include "model/vocab.h"
#include "nn/nn.h"
#include "train/batching.h"
#include "train/data.h"
#include "train/evaluate.h"
#include "train/run_lock.h"

namespace sb::train {

using model::Task;

namespace {

std::atomic<int> g_stop{0};

// The first signal asks for a checkpoint at the end of the step; a second
// one (an impatient user) ends the process at once, as without a handler.
extern "C" void on_stop_signal(int sig) {
  if (g_stop.exchange(sig) != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

int idx(Task t) { return static_cast<int>(t); }

// A log on a terminal, a pipe or /dev/stderr is not a file two runs could
// interleave into; it is not locked (a lock file beside /dev/stderr would
// need write access to /dev).
bool is_stream_path(const std::string& path) {
  struct stat st {};
  return path == "-" || path.rfind("/dev/", 0) == 0 || path.rfind("/proc/", 0) == 0 ||
         (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode));
}

// Fail now, not after the first epoch, when the model cannot be written.
void check_writable(const std::string& output) {
  const auto slash = output.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : output.substr(0, slash + 1);
  if (::access(dir.c_str(), W_OK) != 0) fail(output, ": cannot write into ", dir, ": ", std::strerror(errno));
}

// The examples of a run, per task (by model::Task index).
struct RunData {
  std::map<std::string, std::unique_ptr<DataDir>> dirs;  // one copy of each directory's files
  std::array<std::unique_ptr<TaskData>, 3> train, val;
};

void load_data(RunData& d, const DataSpec& spec, const model::TaskSet& tasks, const Messages& msg) {
  auto dir = [&](const std::string& path) -> DataDir& {
    auto& p = d.dirs[path];
    if (!p) p = std::make_unique<DataDir>(path);
    return *p;
  };
  for (Task t : model::kTaskOrder) {
    if (!tasks.has(t)) continue;
    const std::string path = spec.dir_for(t);
    if (path.empty())
      usage_fail("task ", model::task_name(t), " needs training data: --data DIR or --", model::task_name(t), " DIR");
    d.train[idx(t)] = std::make_unique<TaskData>(load_task(t, dir(path)));
    for (const auto& s : d.train[idx(t)]->skipped)
      msg.warn(cat("training ", model::task_name(t), " (", path, "): skipped ", s));
  }
  if (spec.val.empty()) {
    msg.warn("no --val: no validation; the output model is the last epoch's");
    return;
  }
  DataDir& vd = dir(spec.val);
  for (Task t : model::kTaskOrder) {
    if (!tasks.has(t)) continue;
    const bool files = t == Task::SI   ? true
                       : t == Task::ST ? vd.has("feats.sbt") && vd.has("text")
                                       : vd.has("text") && vd.has("utt2img") && vd.has("images.sbt");
    if (!files) {
      msg.info(cat("no ", model::task_name(t), " validation data in ", spec.val, ": no validation loss for it"));
      continue;
    }
    d.val[idx(t)] = std::make_unique<TaskData>(load_task(t, vd));
    for (const auto& s : d.val[idx(t)]->skipped)
      msg.warn(cat("validation ", model::task_name(t), " (", spec.val, "): skipped ", s));
  }
  // Retrieval refuses what sb-rank refuses: say so now, not after epoch 1.
  if (d.val[idx(Task::SI)]) check_speech_image_retrieval(*d.val[idx(Task::SI)]);
}

// Feature and image sizes and the vocabulary come from the data: they must
// agree across sets, and with the checkpoint of a resumed run.
void fit_model_to_data(RunData& d, model::ModelOptions& mo, const std::string& resume) {
  const TaskData& si = *d.train[idx(Task::SI)];
  auto check_dim = [&](const char* what, int want, int got, const std::string& path) {
    if (want != got) fail(path, ": ", what, " have ", got, " dimensions, but ", want, " elsewhere (", si.dir, ")");
  };
  const int feat_dim = si.feats->dim, image_dim = si.images->dim;
  for (auto* set : {&d.train, &d.val})
    for (const auto& t : *set) {
      if (!t) continue;
      if (t->feats) check_dim("features", feat_dim, t->feats->dim, t->feats->path);
      if (t->images) check_dim("image vectors", image_dim, t->images->dim, t->images->path);
    }
  model::Vocabulary vocab;
  for (const auto& t : d.train)
    if (t)
      for (const auto& c : t->captions) vocab.add(c);
  vocab.build();
  if (!resume.empty()) {
    if (mo.feat_dim != feat_dim || mo.image_dim != image_dim || mo.vocab != vocab.chars())
      fail(resume, ": the checkpoint was trained on other data (feature or image size, or the "
                   "characters of the text, differ from the data given now)");
  } else {
    mo.feat_dim = feat_dim;
    mo.image_dim = image_dim;
    mo.vocab = vocab.chars();
  }
  for (auto* set : {&d.train, &d.val})
    for (auto& t : *set)
      if (t) {
        t->text_ids.clear();
        for (const auto& c : t->captions) t->text_ids.push_back(vocab.encode(c));
      }
}

// Utterances the convolution turns into zero frames cannot be encoded;
// training utterances over --max-frames would pad a whole batch to their
// length, so they are skipped too (named in the warning).
void drop_unusable(RunData& d, const model::Model& m, int max_frames, const Messages& msg) {
  for (auto* set : {&d.train, &d.val})
    for (auto& t : *set) {
      if (!t || !t->feats) continue;
      const char* what = set == &d.train ? "training" : "validation";
      const Skipped shorts = drop_examples(*t, [&](const TaskData& td, std::size_t i) {
        return m.speech_output_length(td.feats->frames[static_cast<std::size_t>(td.examples[i].utt)]) < 1;
      });
      if (shorts.count)
        msg.warn(cat(what, " ", model::task_name(t->task), " (", t->dir, "): skipped ",
                     shorts.note("utterances too short for the convolution")));
      if (set == &d.train && max_frames > 0) {
        const Skipped longs = drop_examples(*t, [&](const TaskData& td, std::size_t i) {
          return td.feats->frames[static_cast<std::size_t>(td.examples[i].utt)] > max_frames;
        });
        if (longs.count)
          msg.warn(cat(what, " ", model::task_name(t->task), " (", t->dir, "): skipped ",
                       longs.note(cat("utterances longer than --max-frames ", max_frames))));
      }
      if (t->examples.empty()) fail(t->dir, ": task ", model::task_name(t->task), ": no utterance long enough");
    }
}

void describe(const model::Model& m, const model::ModelOptions& mo, const RunData& d, const Messages& msg) {
  const model::TaskSet& tasks = mo.tasks;
  std::string sizes;
  for (Task t : model::kTaskOrder)
    if (tasks.has(t)) sizes += cat(" ", model::task_name(t), " ", d.train[idx(t)]->size());
  std::size_t n = 0;
  for (auto* p : const_cast<model::Model&>(m).parameters()) n += p->numel();
  msg.info(cat("tasks ", tasks.str(), ", layers ", mo.layers.str(), ", hidden ", mo.hidden, ", ", n,
               " parameters; training examples:", sizes,
               tasks.st || tasks.ti ? cat("; vocabulary ", mo.vocab.size(), " characters + unknown") : std::string()));
}

// Validation after an epoch: each task's loss and speech->image retrieval.
EpochResult validate(model::Model& m, const RunData& d, const TrainOptions& opt, const model::TaskSet& tasks,
                     const State& st, int epoch, int steps) {
  EpochResult r;
  r.epoch = epoch;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (Task t : model::kTaskOrder) {
    r.train_loss[idx(t)] = tasks.has(t) ? st.loss_sum[idx(t)] / steps : nan;
    r.val_loss[idx(t)] = d.val[idx(t)] ? validation_loss(m, *d.val[idx(t)], opt.batch, opt.margin) : nan;
  }
  if (d.val[idx(Task::SI)]) {
    const Retrieval ret = speech_image_retrieval(m, *d.val[idx(Task::SI)], opt.batch);
    r.have_retrieval = true;
    r.r1 = ret.r1;
    r.r5 = ret.r5;
    r.r10 = ret.r10;
    r.medr = ret.medr;
  }
  return r;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void request_stop(int signal) { g_stop.store(signal); }
int stop_signal() { return g_stop.load(); }

// ---- the training run ----------------------------------------------------------

namespace {

// What a run holds while it trains.
struct Run {
  Run(const TrainOptions& o, const DataSpec& s, const Messages& m, const model::TaskSet& t)
      : opt(o), spec(s), msg(m), tasks(t) {}
  const TrainOptions& opt;
  const DataSpec& spec;
  const Messages& msg;
  model::TaskSet tasks;
  RunData data;
  std::unique_ptr<model::Model> model;
  Optimisers optim;
  std::array<std::vector<nn::Parameter*>, 3> params;  // by model::Task index
  std::array<std::vector<int>, 3> lengths;            // the examples' lengths, for batching
  State st;
};

// One Adam and one data-order generator per task; the generators are
// independent streams, all fixed by --seed.
void make_optimisers(Run& run) {
  for (Task t : model::kTaskOrder) {
    if (!run.tasks.has(t)) continue;
    const int i = idx(t);
    run.params[i] = run.model->parameters(t);
    nn::AdamOptions ao;
    ao.lr = run.opt.lr;
    run.optim.adam[i] = std::make_unique<nn::Adam>(run.params[i], ao);
    run.optim.rng[i].reseed(run.opt.seed * 0x100000001b3ULL + static_cast<std::uint64_t>(i) + 1);
    const TaskData& d = *run.data.train[i];
    for (std::size_t k = 0; k < d.size(); ++k) run.lengths[i].push_back(d.length(k));
    if (d.size() < 2) fail(d.dir, ": task ", model::task_name(t), " has ", d.size(), " example; at least 2 are needed");
  }
}

// A new epoch's batch order (unless resuming inside one); its step count.
int begin_epoch(Run& run) {
  State& st = run.st;
  if (st.step == 0) {
    for (Task t : model::kTaskOrder)
      if (run.tasks.has(t))
        st.order[idx(t)] = shuffled_batches(run.lengths[idx(t)], run.opt.batch, run.optim.rng[idx(t)]);
    for (double& s : st.loss_sum) s = 0;
  }
  int steps = std::numeric_limits<int>::max();
  for (Task t : model::kTaskOrder)
    if (run.tasks.has(t)) steps = std::min(steps, static_cast<int>(st.order[idx(t)].size()));
  if (run.opt.max_steps > 0) steps = std::min(steps, run.opt.max_steps);
  if (steps < 1) fail("no batch of at least 2 examples in some task's data");
  return steps;
}

// One round-robin step: a batch of each task, st, si, ti, each updating its
// own parameters (shared encoders included) with its own Adam.
void train_step(Run& run, int epoch, int step, int steps) {
  for (Task t : model::kTaskOrder) {
    if (!run.tasks.has(t)) continue;
    const int i = idx(t);
    const auto in = make_batch(*run.data.train[i], run.st.order[i][static_cast<std::size_t>(step)]);
    nn::zero_grad(run.params[i]);
    const float loss = run.model->train_loss(t, in, run.opt.margin);
    if (!std::isfinite(loss))
      fail(model::task_name(t), " loss is ", loss, " at epoch ", epoch, ", step ", step + 1, " of ", steps,
           "; training stopped (try a lower --lr or --clip; last good checkpoint: ",
           run.st.epoch_done ? checkpoint_path(run.opt.output, run.st.epoch_done) : std::string("none"), ")");
    const float norm = nn::clip_grad_norm(run.params[i], run.opt.clip);
    if (!std::isfinite(norm))
      fail(model::task_name(t), " gradient norm is ", norm, " at epoch ", epoch, ", step ", step + 1, " of ", steps,
           "; training stopped");
    run.optim.adam[i]->step();
    run.st.loss_sum[i] += loss;
  }
}

// After an epoch: validation, the best model, the checkpoint, --keep.
EpochResult end_epoch(Run& run, int epoch, int steps, std::chrono::steady_clock::time_point t0, bool& best) {
  State& st = run.st;
  EpochResult r = validate(*run.model, run.data, run.opt, run.tasks, st, epoch, steps);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.epoch_done = epoch;
  st.step = 0;
  for (auto& o : st.order) o.clear();
  best = !r.have_retrieval || r.r10 > st.best_r10;
  if (best) {
    st.best_epoch = epoch;
    st.best_r10 = r.have_retrieval ? r.r10 : -1;
    save_model(run.opt.output, *run.model, run.opt, epoch, r.have_retrieval, r.r10, r.medr);
  }
  save_checkpoint(checkpoint_path(run.opt.output, epoch), *run.model, run.opt, run.spec, run.optim, st);
  prune_checkpoints(run.opt.output, epoch, st.best_epoch, run.opt.keep);
  return r;
}

}  // namespace

TrainSummary train(Backend& be, const model::ModelOptions& model_opts, const TrainOptions& opt_in,
                   const DataSpec& spec, const Messages& msg) {
  TrainOptions opt = opt_in;
  opt.validate();
  model::ModelOptions mo = model_opts;
  Checkpoint ckpt;
  if (!opt.resume.empty()) {
    ckpt = Checkpoint::read(opt.resume);
    mo = ckpt.model;
    for (const auto& r : ckpt.records)
      if (r.key == "options") opt.restore_from_text(r.tensor.as_text(), opt.resume);
  }
  check_writable(opt.output);
  const RunLock lock(opt.output);  // before anything is written: the log, a checkpoint
  std::optional<RunLock> log_lock;
  if (!opt.log.empty() && !is_stream_path(opt.log)) log_lock.emplace(opt.log, "--log");

  Run run(opt, spec, msg, mo.tasks);
  load_data(run.data, spec, run.tasks, msg);
  fit_model_to_data(run.data, mo, opt.resume);
  run.model = opt.resume.empty() ? std::make_unique<model::Model>(be, mo, opt.seed)
                                 : model::Model::load(be, ckpt.records, opt.resume);
  drop_unusable(run.data, *run.model, opt.max_frames, msg);
  make_optimisers(run);
  State& st = run.st;
  const std::string data_print = fingerprint(run.data.train);
  if (!opt.resume.empty()) {
    std::array<std::size_t, 3> examples{0, 0, 0};
    for (Task t : model::kTaskOrder)
      if (run.tasks.has(t)) examples[idx(t)] = run.data.train[idx(t)]->size();
    restore_state(ckpt, run.tasks, opt, run.optim, st, examples);
    ckpt = Checkpoint{};
    if (st.data != data_print)
      fail(opt.resume, ": the checkpoint was trained on other data (examples ", st.data, ", now ", data_print, ")");
    msg.info(cat("resuming from ", opt.resume, " after epoch ", st.epoch_done,
                 st.step ? cat(", step ", st.step) : std::string()));
  }
  st.data = data_print;
  describe(*run.model, mo, run.data, msg);

  TrainLog log(opt.log, !opt.resume.empty(), run.tasks);
  if (st.epoch_done >= opt.epochs)  // mid-epoch too: that epoch is past the run's end
    usage_fail("--resume: ", opt.resume, " already holds ", st.epoch_done, " epochs; give --epochs above that");
  Progress progress(opt, msg, run.tasks);
  bool validated[3];
  for (Task t : model::kTaskOrder) validated[idx(t)] = run.data.val[idx(t)] != nullptr;
  TrainSummary sum;
  sum.best_epoch = st.best_epoch;
  sum.best_r10 = st.best_r10;
  sum.epochs_done = st.epoch_done;

  for (int epoch = st.epoch_done + 1; epoch <= opt.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const int steps = begin_epoch(run);
    progress.start_epoch(epoch, steps, st.step);
    for (int step = st.step; step < steps; ++step) {
      train_step(run, epoch, step, steps);
      progress.step(step, st.loss_sum);
      if (stop_signal()) {
        st.step = step + 1;
        sum.checkpoint = interrupted_path(opt.output);
        save_checkpoint(sum.checkpoint, *run.model, opt, spec, run.optim, st);
        sum.stopped_by = stop_signal();
        msg.info(cat("stopped by signal ", sum.stopped_by, " at epoch ", epoch, ", step ", step + 1, " of ", steps,
                     "; checkpoint ", sum.checkpoint, " written"));
        return sum;
      }
    }
    bool best = false;
    const EpochResult r = end_epoch(run, epoch, steps, t0, best);
    sum.checkpoint = checkpoint_path(opt.output, epoch);
    sum.epochs_done = epoch;
    sum.best_epoch = st.best_epoch;
    sum.best_r10 = st.best_r10;
    progress.epoch_done(r, best, validated);
    log.write(r);
    if (stop_signal()) {
      sum.stopped_by = stop_signal();
      msg.info(cat("stopped by signal ", sum.stopped_by, " after epoch ", epoch, "; checkpoint ", sum.checkpoint,
                   " written"));
      return sum;
    }
  }
  return sum;
}

}  // namespace sb::train
