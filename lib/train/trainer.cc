#include "train/trainer.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>

#include "core/error.h"
#include "core/strings.h"
#include "io/archive.h"
#include "model/model.h"
#include "model/vocab.h"
#include "nn/nn.h"
#include "train/batching.h"
#include "train/data.h"
#include "train/evaluate.h"
#include "train/rng.h"

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

// Exact text for doubles and floats (%.17g round-trips a double).
std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string real_dir(const std::string& d) {
  char buf[PATH_MAX];
  if (::realpath(d.c_str(), buf)) return buf;
  return d;
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

// ---- options ---------------------------------------------------------------

void TrainOptions::validate() const {
  if (!(margin >= 0 && margin < 100)) usage_fail("--margin: ", margin, " is out of range 0..100");
  if (epochs < 1 || epochs > 100000) usage_fail("--epochs: ", epochs, " is out of range 1..100000");
  if (batch < 2 || batch > 65536)
    usage_fail("--batch: ", batch, " is out of range 2..65536 (the loss needs negatives)");
  if (!(lr > 0 && lr < 10)) usage_fail("--lr: ", lr, " is out of range (0, 10)");
  if (!(clip > 0)) usage_fail("--clip: ", clip, " must be positive");
  if (keep < 0) usage_fail("--keep: ", keep, " must be 0 (keep all) or more");
  if (log_every < 1) usage_fail("--log-every: ", log_every, " must be at least 1");
  if (max_steps < 0) usage_fail("--max-steps: ", max_steps, " must be 0 (all) or more");
  if (output.empty()) usage_fail("-o MODEL is required");
}

std::string TrainOptions::to_text() const {
  return cat("margin ", num(margin), "\nbatch ", batch, "\nlr ", num(lr), "\nclip ", num(clip),
             "\nseed ", seed, "\n");
}

void TrainOptions::restore_from_text(std::string_view text, const std::string& where) {
  auto kv = model::parse_options_text(text);
  auto get = [&](const char* k) -> const std::string& {
    auto it = kv.find(k);
    if (it == kv.end()) fail(where, ": options record: missing '", k, "' (not a checkpoint of sb-train)");
    return it->second;
  };
  try {
    margin = static_cast<float>(parse_double(get("margin"), "margin"));
    batch = static_cast<int>(parse_int(get("batch"), "batch"));
    lr = static_cast<float>(parse_double(get("lr"), "lr"));
    clip = static_cast<float>(parse_double(get("clip"), "clip"));
    seed = static_cast<std::uint64_t>(parse_int(get("seed"), "seed"));
  } catch (const UsageError& e) {
    fail(where, ": options record: ", e.what());
  }
}

std::string DataSpec::dir_for(Task t) const {
  const std::string& d = t == Task::SI ? si : t == Task::ST ? st : ti;
  return d.empty() ? data : d;
}

void check_condition(model::DataCondition c, const DataSpec& spec, const model::TaskSet& tasks) {
  using model::DataCondition;
  if (c == DataCondition::None) return;
  const std::string si = real_dir(spec.dir_for(Task::SI));
  const std::string st = real_dir(spec.dir_for(Task::ST));
  if (c == DataCondition::Aligned) {
    for (Task t : model::kTaskOrder)
      if (tasks.has(t) && real_dir(spec.dir_for(t)) != si)
        usage_fail("this preset is ALIGNED: every task trains on the same data (--data DIR), but ",
                   model::task_name(t), " reads ", spec.dir_for(t), " and si reads ", spec.dir_for(Task::SI));
  } else if (tasks.st && st == si) {
    usage_fail("this preset is NON-ALIGNED: st must train on other data than si (--st DIR), but both read ",
               spec.dir_for(Task::SI));
  }
}

std::string checkpoint_path(const std::string& output, int epoch) {
  std::string base = output;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".sbt") == 0) base.resize(base.size() - 4);
  char buf[32];
  std::snprintf(buf, sizeof buf, ".epoch%02d.sbt", epoch);
  return base + buf;
}

std::string interrupted_path(const std::string& output) {
  std::string base = output;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".sbt") == 0) base.resize(base.size() - 4);
  return base + ".interrupted.sbt";
}

// ---- progress ----------------------------------------------------------------

namespace {

class Progress {
 public:
  Progress(const TrainOptions& opt, const Messages& msg, const model::TaskSet& tasks)
      : opt_(opt), msg_(msg), tasks_(tasks) {}

  void start_epoch(int epoch, int steps, int first_step) {
    epoch_ = epoch;
    steps_ = steps;
    first_ = first_step;
    t0_ = last_ = std::chrono::steady_clock::now();
  }

  void step(int step, const double* sums) {
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
      std::fprintf(stderr, "\r\033[Kepoch %d/%d [%s%s] %d/%d %.1f steps/s loss%s ETA %d:%02d", epoch_,
                   opt_.epochs, std::string(static_cast<std::size_t>(fill), '#').c_str(),
                   std::string(static_cast<std::size_t>(width - fill), '.').c_str(), done, steps_, rate,
                   losses.c_str(), static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
      if (done == steps_) std::fputc('\n', stderr);
      std::fflush(stderr);
    } else if (done % opt_.log_every == 0 || done == steps_) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " (%.2f steps/s)", rate);
      msg_.info(cat("epoch ", epoch_, "/", opt_.epochs, " step ", done, "/", steps_, ": loss", losses, buf));
    }
  }

 private:
  const TrainOptions& opt_;
  const Messages& msg_;
  model::TaskSet tasks_;
  int epoch_ = 0, steps_ = 0, first_ = 0;
  std::chrono::steady_clock::time_point t0_, last_;
};

// Everything that changes during training besides parameters and Adam.
struct State {
  int epoch_done = 0;   // epochs completed
  int step = 0;         // next step in epoch epoch_done + 1 (0: at a boundary)
  int best_epoch = 0;
  double best_r10 = -1;
  double loss_sum[3] = {0, 0, 0};
  std::array<std::vector<Batch>, 3> order;  // the current epoch's batches (mid-epoch only)
  std::string data;  // fingerprint of the training examples (see fingerprint())

  std::string to_text() const {
    std::string s = cat("epoch_done ", epoch_done, "\nstep ", step, "\nbest_epoch ", best_epoch,
                        "\nbest_r10 ", num(best_r10), "\ndata ", data, "\n");
    for (Task t : model::kTaskOrder) s += cat("loss_sum.", model::task_name(t), " ", num(loss_sum[idx(t)]), "\n");
    return s;
  }
};

struct Run {
  Backend& be;
  const TrainOptions& opt;
  const Messages& msg;
  model::Model& model;
  std::array<std::unique_ptr<nn::Adam>, 3>& adam;
  std::array<Rng, 3>& rng;

  void save_checkpoint(const std::string& path, const State& st) {
    ArchiveWriter out(path);  // appears under its name only when complete
    model.save(out, opt.to_text());
    out.write_text("train.state", st.to_text());
    for (Task t : model::kTaskOrder) {
      if (!adam[idx(t)]) continue;
      const std::string name = model::task_name(t);
      adam[idx(t)]->save(out, "adam." + name + ".");
      std::int64_t words[4];
      for (int i = 0; i < 4; ++i) words[i] = static_cast<std::int64_t>(rng[idx(t)].state()[i]);
      const std::int64_t four = 4;
      out.write("rng." + name, DType::I64, std::span<const std::int64_t>(&four, 1), words);
      if (st.step > 0) {
        std::vector<std::int32_t> flat, sizes;
        for (const auto& b : st.order[idx(t)]) {
          sizes.push_back(static_cast<std::int32_t>(b.size()));
          flat.insert(flat.end(), b.begin(), b.end());
        }
        const std::int64_t nf = static_cast<std::int64_t>(flat.size());
        const std::int64_t ns = static_cast<std::int64_t>(sizes.size());
        out.write("order." + name, DType::I32, std::span<const std::int64_t>(&nf, 1), flat.data());
        out.write("order." + name + ".sizes", DType::I32, std::span<const std::int64_t>(&ns, 1), sizes.data());
      }
    }
    out.close();
  }

  void save_model(int epoch, const EpochResult* r) {
    ArchiveWriter out(opt.output);
    std::string extra = opt.to_text() + cat("epoch ", epoch, "\n");
    if (r && r->have_retrieval) extra += cat("val_r10 ", num(r->r10), "\nval_medr ", num(r->medr), "\n");
    model.save(out, extra);
    out.close();
  }
};

const Record* find_record(const std::vector<Record>& recs, const std::string& key) {
  for (const auto& r : recs)
    if (r.key == key) return &r;
  return nullptr;
}

void restore_state(const std::vector<Record>& recs, const std::string& where, const model::TaskSet& tasks,
                   std::array<std::unique_ptr<nn::Adam>, 3>& adam, std::array<Rng, 3>& rng, State& st,
                   const std::array<std::unique_ptr<TaskData>, 3>& train) {
  const Record* s = find_record(recs, "train.state");
  if (!s || s->tensor.dtype() != DType::Text)
    fail(where, ": not a checkpoint (no 'train.state' record; a final model cannot be resumed)");
  auto kv = model::parse_options_text(s->tensor.as_text());
  auto get = [&](const std::string& k) -> const std::string& {
    auto it = kv.find(k);
    if (it == kv.end()) fail(where, ": train.state: missing '", k, "'");
    return it->second;
  };
  try {
    st.epoch_done = static_cast<int>(parse_int(get("epoch_done"), "epoch_done"));
    st.step = static_cast<int>(parse_int(get("step"), "step"));
    st.best_epoch = static_cast<int>(parse_int(get("best_epoch"), "best_epoch"));
    st.best_r10 = parse_double(get("best_r10"), "best_r10");
    st.data = get("data");
    for (Task t : model::kTaskOrder)
      st.loss_sum[idx(t)] = parse_double(get(cat("loss_sum.", model::task_name(t))), "loss_sum");
  } catch (const UsageError& e) {
    fail(where, ": train.state: ", e.what());
  }
  if (st.epoch_done < 0 || st.step < 0) fail(where, ": train.state: negative epoch or step");
  for (Task t : model::kTaskOrder) {
    if (!tasks.has(t)) continue;
    const std::string name = model::task_name(t);
    try {
      adam[idx(t)]->load(recs, "adam." + name + ".");
    } catch (const Error& e) {
      fail(where, ": ", e.what());
    }
    const Record* r = find_record(recs, "rng." + name);
    if (!r || r->tensor.dtype() != DType::I64 || r->tensor.numel() != 4)
      fail(where, ": record 'rng.", name, "' missing or not 4 i64 words");
    std::array<std::uint64_t, 4> words;
    std::memcpy(words.data(), r->tensor.bytes(), sizeof words);
    rng[idx(t)].set_state(words);
    if (st.step > 0) {
      const Record* o = find_record(recs, "order." + name);
      const Record* z = find_record(recs, "order." + name + ".sizes");
      if (!o || !z || o->tensor.dtype() != DType::I32 || z->tensor.dtype() != DType::I32)
        fail(where, ": mid-epoch checkpoint without the batch order of ", name);
      const std::int32_t* flat = o->tensor.i32();
      const std::int32_t* sizes = z->tensor.i32();
      std::size_t pos = 0;
      const std::size_t n = train[idx(t)]->size();
      for (std::size_t b = 0; b < z->tensor.numel(); ++b) {
        const auto len = static_cast<std::size_t>(sizes[b]);
        if (sizes[b] < 1 || pos + len > o->tensor.numel())
          fail(where, ": record 'order.", name, "': batch sizes do not add up");
        Batch batch(flat + pos, flat + pos + len);
        for (int i : batch)
          if (i < 0 || static_cast<std::size_t>(i) >= n)
            fail(where, ": record 'order.", name, "': example ", i, " outside the ", n,
                 " examples of the data (is this the data the run started with?)");
        st.order[idx(t)].push_back(std::move(batch));
        pos += len;
      }
    }
  }
}

// Utterances the convolution turns into zero frames cannot be encoded.
void drop_short(TaskData& d, const model::Model& m, const Messages& msg, const char* what) {
  if (!d.feats) return;
  std::size_t kept = 0, dropped = 0;
  for (std::size_t i = 0; i < d.examples.size(); ++i) {
    if (m.speech_output_length(d.feats->frames[static_cast<std::size_t>(d.examples[i].utt)]) < 1) {
      ++dropped;
      continue;
    }
    d.examples[kept] = d.examples[i];
    d.keys[kept] = d.keys[i];
    ++kept;
  }
  d.examples.resize(kept);
  d.keys.resize(kept);
  if (dropped)
    msg.warn(cat(what, " ", model::task_name(d.task), " (", d.dir, "): skipped ", dropped,
                 " utterances too short for the convolution"));
  if (d.examples.empty()) fail(d.dir, ": task ", model::task_name(d.task), ": no utterance long enough");
}

// Which examples, in which order, each task trains on: a resumed run must
// see the same ones to continue the same run. FNV-1a over keys and ids.
std::string fingerprint(const std::array<std::unique_ptr<TaskData>, 3>& train) {
  std::string out;
  for (Task t : model::kTaskOrder) {
    if (!train[idx(t)]) continue;
    const TaskData& d = *train[idx(t)];
    std::uint64_t h = 1469598103934665603ULL;
    auto mix = [&](const void* p, std::size_t n) {
      const auto* b = static_cast<const unsigned char*>(p);
      for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
    };
    for (std::size_t i = 0; i < d.size(); ++i) {
      mix(d.keys[i].data(), d.keys[i].size() + 1);
      mix(&d.examples[i], sizeof(Example));
      if (d.feats) mix(&d.feats->frames[static_cast<std::size_t>(d.examples[i].utt)], sizeof(int));
      if (!d.captions.empty()) mix(d.captions[static_cast<std::size_t>(d.examples[i].text)].data(),
                                   d.captions[static_cast<std::size_t>(d.examples[i].text)].size());
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s:%zu:%016llx", out.empty() ? "" : ",", model::task_name(t), d.size(),
                  static_cast<unsigned long long>(h));
    out += buf;
  }
  return out;
}

void encode_captions(TaskData& d, const model::Vocabulary& v) {
  d.text_ids.clear();
  for (const auto& c : d.captions) d.text_ids.push_back(v.encode(c));
}

}  // namespace

// ---- the training run ----------------------------------------------------------

TrainSummary train(Backend& be, const model::ModelOptions& model_opts, const TrainOptions& opt_in,
                   const DataSpec& spec, const Messages& msg) {
  TrainOptions opt = opt_in;
  opt.validate();
  model::ModelOptions mo = model_opts;
  std::vector<Record> ckpt;
  if (!opt.resume.empty()) {
    ckpt = read_archive(opt.resume);
    const Record* o = find_record(ckpt, "options");
    if (!o || o->tensor.dtype() != DType::Text) fail(opt.resume, ": not an sb checkpoint (no 'options' record)");
    mo = model::ModelOptions::from_text(o->tensor.as_text(), opt.resume);
    opt.restore_from_text(o->tensor.as_text(), opt.resume);
  }
  const model::TaskSet tasks = mo.tasks;
  {
    // Fail now, not after the first epoch, when the model cannot be written.
    const auto slash = opt.output.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : opt.output.substr(0, slash + 1);
    if (::access(dir.c_str(), W_OK) != 0)
      fail(opt.output, ": cannot write into ", dir, ": ", std::strerror(errno));
  }

  // ---- data
  std::map<std::string, std::unique_ptr<DataDir>> dirs;
  auto dir = [&](const std::string& path) -> DataDir& {
    auto& d = dirs[path];
    if (!d) d = std::make_unique<DataDir>(path);
    return *d;
  };
  std::array<std::unique_ptr<TaskData>, 3> train, val;
  for (Task t : model::kTaskOrder) {
    if (!tasks.has(t)) continue;
    const std::string path = spec.dir_for(t);
    if (path.empty())
      usage_fail("task ", model::task_name(t), " needs training data: --data DIR or --", model::task_name(t), " DIR");
    train[idx(t)] = std::make_unique<TaskData>(load_task(t, dir(path)));
    for (const auto& s : train[idx(t)]->skipped)
      msg.warn(cat("training ", model::task_name(t), " (", path, "): skipped ", s));
  }
  if (!spec.val.empty()) {
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
      val[idx(t)] = std::make_unique<TaskData>(load_task(t, vd));
      for (const auto& s : val[idx(t)]->skipped)
        msg.warn(cat("validation ", model::task_name(t), " (", spec.val, "): skipped ", s));
    }
  } else {
    msg.warn("no --val: no validation; the output model is the last epoch's");
  }

  // Feature and image sizes come from the data and must agree across sets.
  const TaskData& si = *train[idx(Task::SI)];
  auto check_dim = [&](const char* what, int want, int got, const std::string& path) {
    if (want != got) fail(path, ": ", what, " have ", got, " dimensions, but ", want, " elsewhere (",
                          si.dir, ")");
  };
  const int feat_dim = si.feats->dim, image_dim = si.images->dim;
  for (auto* set : {&train, &val})
    for (const auto& d : *set) {
      if (!d) continue;
      if (d->feats) check_dim("features", feat_dim, d->feats->dim, d->feats->path);
      if (d->images) check_dim("image vectors", image_dim, d->images->dim, d->images->path);
    }
  model::Vocabulary vocab;
  for (const auto& d : train)
    if (d)
      for (const auto& c : d->captions) vocab.add(c);
  vocab.build();
  if (!opt.resume.empty()) {
    if (mo.feat_dim != feat_dim || mo.image_dim != image_dim || mo.vocab != vocab.chars())
      fail(opt.resume, ": the checkpoint was trained on other data (feature or image size, or the "
                       "characters of the text, differ from the data given now)");
  } else {
    mo.feat_dim = feat_dim;
    mo.image_dim = image_dim;
    mo.vocab = vocab.chars();
  }
  for (auto* set : {&train, &val})
    for (auto& d : *set)
      if (d) encode_captions(*d, vocab);

  // ---- model, optimisers, generators
  std::unique_ptr<model::Model> model;
  if (opt.resume.empty()) model = std::make_unique<model::Model>(be, mo, opt.seed);
  else model = model::Model::load(be, ckpt, opt.resume);
  for (auto* set : {&train, &val})
    for (auto& d : *set)
      if (d) drop_short(*d, *model, msg, set == &train ? "training" : "validation");
  std::array<std::unique_ptr<nn::Adam>, 3> adam;
  std::array<Rng, 3> rng;
  std::array<std::vector<nn::Parameter*>, 3> params;
  std::array<std::vector<int>, 3> lengths;
  for (Task t : model::kTaskOrder) {
    if (!tasks.has(t)) continue;
    params[idx(t)] = model->parameters(t);
    nn::AdamOptions ao;
    ao.lr = opt.lr;
    adam[idx(t)] = std::make_unique<nn::Adam>(params[idx(t)], ao);
    // Independent streams per task, all fixed by --seed.
    rng[idx(t)].reseed(opt.seed * 0x100000001b3ULL + static_cast<std::uint64_t>(idx(t)) + 1);
    const TaskData& d = *train[idx(t)];
    for (std::size_t i = 0; i < d.size(); ++i) lengths[idx(t)].push_back(d.length(i));
    if (d.size() < 2) fail(d.dir, ": task ", model::task_name(t), " has ", d.size(), " example; at least 2 are needed");
  }
  State st;
  const std::string data_print = fingerprint(train);
  if (!opt.resume.empty()) {
    restore_state(ckpt, opt.resume, tasks, adam, rng, st, train);
    ckpt.clear();
    if (st.data != data_print)
      fail(opt.resume, ": the checkpoint was trained on other data (examples ", st.data, ", now ", data_print, ")");
    msg.info(cat("resuming from ", opt.resume, " after epoch ", st.epoch_done,
                 st.step ? cat(", step ", st.step) : std::string()));
  }
  st.data = data_print;
  {
    std::string sizes;
    for (Task t : model::kTaskOrder)
      if (tasks.has(t)) sizes += cat(" ", model::task_name(t), " ", train[idx(t)]->size());
    std::size_t n = 0;
    for (auto* p : model->parameters()) n += p->numel();
    msg.info(cat("tasks ", tasks.str(), ", layers ", mo.layers.str(), ", hidden ", mo.hidden, ", ", n,
                 " parameters; training examples:", sizes,
                 tasks.st || tasks.ti ? cat("; vocabulary ", mo.vocab.size(), " characters + unknown") : std::string()));
  }

  // ---- log
  std::ofstream log;
  if (!opt.log.empty()) {
    bool fresh = opt.resume.empty();
    if (!fresh) {
      std::ifstream probe(opt.log);
      fresh = !probe || probe.peek() == std::ifstream::traits_type::eof();
    }
    log.open(opt.log, fresh ? std::ios::trunc : std::ios::app);
    if (!log) fail(opt.log, ": cannot open for writing: ", std::strerror(errno));
    if (fresh) {
      log << "epoch";
      for (Task t : model::kTaskOrder)
        if (tasks.has(t)) log << "\tloss_" << model::task_name(t) << "\tval_loss_" << model::task_name(t);
      log << "\tr1\tr5\tr10\tmedr\tseconds\n";
      log.flush();
    }
  }

  if (st.epoch_done >= opt.epochs && st.step == 0)
    usage_fail("--resume: ", opt.resume, " already holds ", st.epoch_done, " epochs; give --epochs above that");
  Run run{be, opt, msg, *model, adam, rng};
  Progress progress(opt, msg, tasks);
  TrainSummary sum;
  sum.best_epoch = st.best_epoch;
  sum.best_r10 = st.best_r10;
  sum.epochs_done = st.epoch_done;

  for (int epoch = st.epoch_done + 1; epoch <= opt.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    if (st.step == 0) {
      for (Task t : model::kTaskOrder)
        if (tasks.has(t)) st.order[idx(t)] = shuffled_batches(lengths[idx(t)], opt.batch, rng[idx(t)]);
      for (double& s : st.loss_sum) s = 0;
    }
    int steps = std::numeric_limits<int>::max();
    for (Task t : model::kTaskOrder)
      if (tasks.has(t)) steps = std::min(steps, static_cast<int>(st.order[idx(t)].size()));
    if (opt.max_steps > 0) steps = std::min(steps, opt.max_steps);
    if (steps < 1) fail("no batch of at least 2 examples in some task's data");
    progress.start_epoch(epoch, steps, st.step);
    for (int step = st.step; step < steps; ++step) {
      for (Task t : model::kTaskOrder) {
        if (!tasks.has(t)) continue;
        const int i = idx(t);
        const auto in = make_batch(*train[i], st.order[i][static_cast<std::size_t>(step)]);
        nn::zero_grad(params[i]);
        const float loss = model->train_loss(t, in, opt.margin);
        if (!std::isfinite(loss))
          fail(model::task_name(t), " loss is ", loss, " at epoch ", epoch, ", step ", step + 1, " of ", steps,
               "; training stopped (try a lower --lr or --clip; last good checkpoint: ",
               st.epoch_done ? checkpoint_path(opt.output, st.epoch_done) : std::string("none"), ")");
        const float norm = nn::clip_grad_norm(params[i], opt.clip);
        if (!std::isfinite(norm))
          fail(model::task_name(t), " gradient norm is ", norm, " at epoch ", epoch, ", step ", step + 1,
               " of ", steps, "; training stopped");
        adam[i]->step();
        st.loss_sum[i] += loss;
      }
      progress.step(step, st.loss_sum);
      if (stop_signal()) {
        st.step = step + 1;
        sum.checkpoint = interrupted_path(opt.output);
        run.save_checkpoint(sum.checkpoint, st);
        sum.stopped_by = stop_signal();
        msg.info(cat("stopped by signal ", sum.stopped_by, " at epoch ", epoch, ", step ", step + 1, " of ", steps,
                     "; checkpoint ", sum.checkpoint, " (continue with --resume ", sum.checkpoint, ")"));
        return sum;
      }
    }

    // ---- end of epoch: validation, log, checkpoint, best model
    EpochResult r;
    r.epoch = epoch;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (Task t : model::kTaskOrder) {
      r.train_loss[idx(t)] = tasks.has(t) ? st.loss_sum[idx(t)] / steps : nan;
      r.val_loss[idx(t)] = val[idx(t)] ? validation_loss(*model, *val[idx(t)], opt.batch, opt.margin) : nan;
    }
    if (val[idx(Task::SI)]) {
      const Retrieval ret = speech_image_retrieval(*model, *val[idx(Task::SI)], opt.batch);
      r.have_retrieval = true;
      r.r1 = ret.r1;
      r.r5 = ret.r5;
      r.r10 = ret.r10;
      r.medr = ret.medr;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    st.epoch_done = epoch;
    st.step = 0;
    for (auto& o : st.order) o.clear();
    const bool best = !r.have_retrieval || r.r10 > st.best_r10;
    if (best) {
      st.best_epoch = epoch;
      st.best_r10 = r.have_retrieval ? r.r10 : -1;
      run.save_model(epoch, &r);
    }
    sum.checkpoint = checkpoint_path(opt.output, epoch);
    run.save_checkpoint(sum.checkpoint, st);
    if (opt.keep > 0 && epoch - opt.keep >= 1) std::remove(checkpoint_path(opt.output, epoch - opt.keep).c_str());
    sum.epochs_done = epoch;
    sum.best_epoch = st.best_epoch;
    sum.best_r10 = st.best_r10;

    std::string line = cat("epoch ", epoch, "/", opt.epochs, ":");
    char buf[160];
    for (Task t : model::kTaskOrder) {
      if (!tasks.has(t)) continue;
      std::snprintf(buf, sizeof buf, " %s loss %.4f", model::task_name(t), r.train_loss[idx(t)]);
      line += buf;
      if (val[idx(t)]) {
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
    msg.info(line);
    if (log.is_open()) {
      auto g = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, "\t%.6g", v);
        return std::string(b);
      };
      log << epoch;
      for (Task t : model::kTaskOrder)
        if (tasks.has(t)) log << g(r.train_loss[idx(t)]) << g(r.val_loss[idx(t)]);
      if (r.have_retrieval) log << g(r.r1) << g(r.r5) << g(r.r10) << g(r.medr);
      else log << "\tnan\tnan\tnan\tnan";
      std::snprintf(buf, sizeof buf, "\t%.3f\n", r.seconds);
      log << buf;
      log.flush();
      if (!log) fail(opt.log, ": write error");
    }
    if (stop_signal()) {
      sum.stopped_by = stop_signal();
      msg.info(cat("stopped by signal ", sum.stopped_by, " after epoch ", epoch, "; continue with --resume ",
                   sum.checkpoint));
      return sum;
    }
  }
  return sum;
}

}  // namespace sb::train
