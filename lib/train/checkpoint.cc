#include "train/checkpoint.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>

#include "core/error.h"
#include "core/random.h"
#include "core/strings.h"

namespace sb::train {

using model::Task;

namespace {

int idx(Task t) { return static_cast<int>(t); }

std::string strip_sbt(const std::string& output) {
  std::string base = output;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".sbt") == 0) base.resize(base.size() - 4);
  return base;
}

const Record* find_record(const std::vector<Record>& recs, const std::string& key) {
  for (const auto& r : recs)
    if (r.key == key) return &r;
  return nullptr;
}

}  // namespace

void State::Register(OptionsItf& o) {
  o.add("epoch_done", &epoch_done, "epochs completed", 0, kMaxEpochs);
  o.add("step", &step, "next step of the current epoch", 0, INT_MAX);
  o.add("best_epoch", &best_epoch, "epoch with the best validation R@10", 0, kMaxEpochs);
  o.add("best_r10", &best_r10, "its R@10 (-1: none yet)", -1, 1);
  o.add("data", &data, "fingerprint of the training examples");
  for (Task t : model::kTaskOrder)
    o.add(cat("loss_sum.", model::task_name(t)), &loss_sum[idx(t)], "loss summed over the epoch's steps so far",
          -1e300, 1e300);
}

std::string checkpoint_path(const std::string& output, int epoch) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ".epoch%02d.sbt", epoch);
  return strip_sbt(output) + buf;
}

std::string interrupted_path(const std::string& output) { return strip_sbt(output) + ".interrupted.sbt"; }

void save_checkpoint(const std::string& path, model::Model& m, const TrainOptions& opt, const DataSpec& data,
                     const Optimisers& o, const State& st) {
  ArchiveWriter out(path);  // appears under its name only when complete
  m.save(out, opt.to_text());
  out.write_text("train.run", run_record(opt, data));
  State sc = st;
  out.write_text("train.state", options_record([&](OptionsItf& r) { sc.Register(r); }));
  for (Task t : model::kTaskOrder) {
    if (!o.adam[idx(t)]) continue;
    const std::string name = model::task_name(t);
    o.adam[idx(t)]->save(out, "adam." + name + ".");
    std::int64_t words[4];
    for (int i = 0; i < 4; ++i) words[i] = static_cast<std::int64_t>(o.rng[idx(t)].state()[i]);
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

void save_model(const std::string& path, model::Model& m, const TrainOptions& opt, int epoch, bool validated,
                double r10, double medr) {
  ArchiveWriter out(path);  // appears under its name only when complete
  const std::string extra = options_record([&](OptionsItf& r) {
    r.add("epoch", &epoch, "the epoch this model is", 0, INT_MAX);
    if (validated) {
      r.add("val_r10", &r10, "its validation R@10", 0, 1);
      r.add("val_medr", &medr, "its validation median rank", 0, 1e300);
    }
  });
  m.save(out, opt.to_text() + extra);
  out.close();
}

Checkpoint Checkpoint::read(const std::string& path) {
  Checkpoint c;
  c.path = path;
  c.records = read_archive(path);
  const Record* o = find_record(c.records, "options");
  if (!o || o->tensor.dtype() != DType::Text) fail(path, ": not an sb checkpoint (no 'options' record)");
  c.model = model::ModelOptions::from_text(o->tensor.as_text(), path);
  return c;
}

void restore_state(const Checkpoint& c, const model::TaskSet& tasks, const TrainOptions& run, Optimisers& opt,
                   State& st, const std::array<std::size_t, 3>& examples) {
  const std::string& where = c.path;
  const std::string in_state = where + ": train.state";
  const auto& recs = c.records;
  const Record* s = find_record(recs, "train.state");
  if (!s || s->tensor.dtype() != DType::Text)
    fail(where, ": not a checkpoint (no 'train.state' record; a final model cannot be resumed)");
  {
    const auto text = s->tensor.as_text();
    const auto kv = model::parse_options_text(text);
    State probe;
    for (const auto& kv_probe : option_values([&](OptionsItf& r) { probe.Register(r); }))
      if (!kv.count(kv_probe.first)) fail(in_state, ": missing '", kv_probe.first, "'");
    read_options_record([&](OptionsItf& r) { st.Register(r); }, text, in_state);  // ranges checked
  }
  // The position must be one the run the checkpoint records can reach: a
  // run of E epochs checkpoints after epochs 1..E and inside epochs 1..E.
  if (const Record* r = find_record(recs, "train.run"); r && r->tensor.dtype() == DType::Text) {
    TrainOptions rt;
    DataSpec rd;
    read_run_record(r->tensor.as_text(), where, rt, rd);
    if (st.epoch_done > rt.epochs || (st.step > 0 && st.epoch_done == rt.epochs))
      fail(in_state, ": 'epoch_done' is ", st.epoch_done, st.step > 0 ? cat(" (inside epoch ", st.epoch_done + 1, ")") : "",
           ", past the ", rt.epochs, " epochs of the run it records");
  }
  if (st.best_epoch > st.epoch_done)
    fail(in_state, ": 'best_epoch' is ", st.best_epoch, ", after the ", st.epoch_done, " epochs done ('epoch_done')");
  int steps = run.max_steps > 0 ? run.max_steps : INT_MAX;  // the epoch's step count, as begin_epoch() counts
  for (Task t : model::kTaskOrder) {
    if (!tasks.has(t)) continue;
    const std::string name = model::task_name(t);
    try {
      opt.adam[idx(t)]->load(recs, "adam." + name + ".");
    } catch (const Error& e) {
      fail(where, ": ", e.what());
    }
    const Record* r = find_record(recs, "rng." + name);
    if (!r || r->tensor.dtype() != DType::I64 || r->tensor.numel() != 4)
      fail(where, ": record 'rng.", name, "' missing or not 4 i64 words");
    std::array<std::uint64_t, 4> words;
    std::memcpy(words.data(), r->tensor.bytes(), sizeof words);
    // xoshiro256** never leaves the all-zero state: every draw would be 0.
    if (words[0] == 0 && words[1] == 0 && words[2] == 0 && words[3] == 0)
      fail(where, ": record 'rng.", name, "': an all-zero generator state");
    opt.rng[idx(t)].set_state(words);
    if (st.step > 0) {
      const Record* o = find_record(recs, "order." + name);
      const Record* z = find_record(recs, "order." + name + ".sizes");
      if (!o || !z || o->tensor.dtype() != DType::I32 || z->tensor.dtype() != DType::I32)
        fail(where, ": mid-epoch checkpoint without the batch order of ", name);
      const std::int32_t* flat = o->tensor.i32();
      const std::int32_t* sizes = z->tensor.i32();
      std::size_t pos = 0;
      const std::size_t n = examples[idx(t)];
      for (std::size_t b = 0; b < z->tensor.numel(); ++b) {
        if (sizes[b] < 2 || sizes[b] > run.batch)
          fail(where, ": record 'order.", name, ".sizes': batch ", b + 1, " has ", sizes[b],
               " examples, outside 2..", run.batch, " (--batch)");
        const auto len = static_cast<std::size_t>(sizes[b]);
        if (pos + len > o->tensor.numel())
          fail(where, ": record 'order.", name, "': batch sizes do not add up");
        Batch batch(flat + pos, flat + pos + len);
        for (int i : batch)
          if (i < 0 || static_cast<std::size_t>(i) >= n)
            fail(where, ": record 'order.", name, "': example ", i, " outside the ", n,
                 " examples of the data (is this the data the run started with?)");
        st.order[idx(t)].push_back(std::move(batch));
        pos += len;
      }
      if (pos != o->tensor.numel()) fail(where, ": record 'order.", name, "': batch sizes do not add up");
      steps = std::min(steps, static_cast<int>(std::min<std::size_t>(st.order[idx(t)].size(), INT_MAX)));
    }
  }
  // step == steps is a checkpoint taken after the epoch's last step, before
  // its end; past that, the epoch would "end" with batches never trained.
  if (st.step > steps)
    fail(in_state, ": 'step' is ", st.step, ", past the end of epoch ", st.epoch_done + 1, " (", steps,
         " steps in the batch order it records)");
}

RecordedRun read_recorded_run(const std::string& checkpoint) {
  RecordedRun rec;
  ArchiveReader in(checkpoint);
  Record r;
  bool have_options = false, have_state = false;
  while (!have_state && in.next(r)) {
    if (r.tensor.dtype() != DType::Text) continue;
    if (r.key == "options") {
      rec.model = model::ModelOptions::from_text(r.tensor.as_text(), checkpoint);
      rec.train.restore_from_text(r.tensor.as_text(), checkpoint);
      have_options = true;
    } else if (r.key == "train.run") {
      read_run_record(r.tensor.as_text(), checkpoint, rec.train, rec.data);
      rec.have_run = true;
    } else if (r.key == "train.state") {
      have_state = true;
    }
  }
  if (!have_options) fail(checkpoint, ": not an sb checkpoint (no 'options' record)");
  if (!have_state) fail(checkpoint, ": not a checkpoint (no 'train.state' record; a final model cannot be resumed)");
  return rec;
}

void prune_checkpoints(const std::string& output, int epoch, int best_epoch, int keep) {
  if (keep <= 0) return;
  for (int e = epoch - keep; e >= 1; --e)
    if (e != best_epoch) std::remove(checkpoint_path(output, e).c_str());
}

std::string fingerprint(const std::array<std::unique_ptr<TaskData>, 3>& train) {
  std::string out;
  for (Task t : model::kTaskOrder) {
    if (!train[idx(t)]) continue;
    const TaskData& d = *train[idx(t)];
    std::uint64_t h = kFnv1aBasis;
    auto mix = [&](const void* p, std::size_t n) { h = fnv1a(p, n, h); };
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

}  // namespace sb::train
