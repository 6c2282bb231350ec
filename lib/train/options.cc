#include "train/options.h"

#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <limits>

#include "backend/device.h"
#include "core/error.h"
#include "core/strings.h"

namespace sb::train {

using model::Task;

namespace {

// "o,output" -> "output": records and messages use the long name.
std::string long_name(const std::string& name) {
  const auto comma = name.find(',');
  return comma == std::string::npos ? name : name.substr(comma + 1);
}

// Exact text for doubles and floats (%.17g round-trips a double, and so a
// float widened to one); the short form for messages.
std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
std::string shown(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Each registered option as text, in registration order.
class ValueWriter : public OptionsItf {
 public:
  ValueWriter(const std::set<std::string, std::less<>>& skip, bool for_messages)
      : skip_(skip), short_(for_messages) {}
  std::vector<std::pair<std::string, std::string>> values;

  void add(const std::string& n, int* v, const std::string&, long long, long long) override { put(n, std::to_string(*v)); }
  void add(const std::string& n, long long* v, const std::string&, long long, long long) override {
    put(n, std::to_string(*v));
  }
  void add(const std::string& n, std::uint64_t* v, const std::string&, std::uint64_t, std::uint64_t) override {
    put(n, std::to_string(*v));
  }
  void add(const std::string& n, double* v, const std::string&, double, double) override {
    put(n, short_ ? shown(*v) : exact(*v));
  }
  void add(const std::string& n, float* v, const std::string&, double, double) override {
    put(n, short_ ? shown(*v) : exact(static_cast<double>(*v)));
  }
  void add(const std::string& n, bool* v, const std::string&) override { put(n, *v ? "true" : "false"); }
  void add(const std::string& n, std::string* v, const std::string&) override { put(n, *v); }
  void add(const std::string& n, std::string* v, const std::string&, const std::vector<std::string>&) override {
    put(n, *v);
  }
  void add(const std::string& n, std::string* v, const std::string&, const TextCheck&) override { put(n, *v); }

 private:
  void put(const std::string& name, std::string value) {
    const std::string key = long_name(name);
    if (!skip_.count(key)) values.emplace_back(key, std::move(value));
  }
  std::set<std::string, std::less<>> skip_;
  bool short_;
};

// Sets fields from "key value" text; keys not in the text keep their value.
// Every value is checked against its registered range (or choices) before it
// is stored: a record is input like any other, and an integer is read as 64
// bits and refused out of range, never cut to int ("epoch_done 4294967297"
// must not read as 1); NaN and Inf are outside every range.
class ValueReader : public OptionsItf {
 public:
  ValueReader(std::string_view text, const std::string& where) : kv_(model::parse_options_text(text)), where_(where) {}

  void add(const std::string& n, int* v, const std::string&, long long lo, long long hi) override {
    if (auto* s = get(n)) *v = static_cast<int>(in_range(n, *s, integer(n, *s), lo, hi));
  }
  void add(const std::string& n, long long* v, const std::string&, long long lo, long long hi) override {
    if (auto* s = get(n)) *v = in_range(n, *s, integer(n, *s), lo, hi);
  }
  void add(const std::string& n, std::uint64_t* v, const std::string&, std::uint64_t lo, std::uint64_t hi) override {
    if (auto* s = get(n)) {
      errno = 0;
      char* end = nullptr;
      const unsigned long long x = std::strtoull(s->c_str(), &end, 10);
      if (s->empty() || (*s)[0] == '-' || *end || errno) bad(n, *s);
      if (x < lo || x > hi) out_of_range(n, *s, std::to_string(lo), std::to_string(hi));
      *v = x;
    }
  }
  void add(const std::string& n, double* v, const std::string&, double lo, double hi) override {
    if (auto* s = get(n)) *v = in_range(n, *s, real(n, *s), lo, hi);
  }
  void add(const std::string& n, float* v, const std::string&, double lo, double hi) override {
    if (auto* s = get(n)) *v = static_cast<float>(in_range(n, *s, real(n, *s), lo, hi));
  }
  void add(const std::string& n, bool* v, const std::string&) override {
    if (auto* s = get(n)) {
      if (*s != "true" && *s != "false") bad(n, *s);
      *v = *s == "true";
    }
  }
  void add(const std::string& n, std::string* v, const std::string&) override {
    if (auto* s = get(n)) *v = *s;
  }
  void add(const std::string& n, std::string* v, const std::string&, const TextCheck& check) override {
    if (auto* s = get(n)) {
      try {
        check(*s);
      } catch (const UsageError&) {
        bad(n, *s);
      }
      *v = *s;
    }
  }
  void add(const std::string& n, std::string* v, const std::string&, const std::vector<std::string>& choices) override {
    if (auto* s = get(n)) {
      if (std::find(choices.begin(), choices.end(), *s) == choices.end()) bad(n, *s);
      *v = *s;
    }
  }

 private:
  const std::string* get(const std::string& name) const {
    auto it = kv_.find(long_name(name));
    return it == kv_.end() ? nullptr : &it->second;
  }
  [[noreturn]] void bad(const std::string& n, const std::string& s) const {
    fail(where_, ": '", long_name(n), "' is '", s, "', not a valid value");
  }
  [[noreturn]] void out_of_range(const std::string& n, const std::string& s, const std::string& lo,
                                 const std::string& hi) const {
    fail(where_, ": '", long_name(n), "' is ", s, ", out of range ", lo, "..", hi);
  }
  long long in_range(const std::string& n, const std::string& s, long long x, long long lo, long long hi) const {
    if (x < lo || x > hi) out_of_range(n, s, std::to_string(lo), std::to_string(hi));
    return x;
  }
  double in_range(const std::string& n, const std::string& s, double x, double lo, double hi) const {
    if (!(x >= lo && x <= hi)) out_of_range(n, s, shown(lo), shown(hi));  // NaN fails both
    return x;
  }
  long long integer(const std::string& n, const std::string& s) const {
    try {
      return parse_int(s, long_name(n));
    } catch (const UsageError&) {
      bad(n, s);
    }
  }
  double real(const std::string& n, const std::string& s) const {
    try {
      return parse_double(s, long_name(n));
    } catch (const UsageError&) {
      bad(n, s);
    }
  }
  std::map<std::string, std::string, std::less<>> kv_;
  const std::string& where_;
};

// The registered ranges, checked: UsageError naming the option.
class RangeChecker : public OptionsItf {
 public:
  void add(const std::string& n, int* v, const std::string&, long long lo, long long hi) override {
    if (*v < lo || *v > hi) usage_fail("--", long_name(n), ": ", *v, " is out of range ", lo, "..", hi);
  }
  void add(const std::string& n, long long* v, const std::string&, long long lo, long long hi) override {
    if (*v < lo || *v > hi) usage_fail("--", long_name(n), ": ", *v, " is out of range ", lo, "..", hi);
  }
  void add(const std::string& n, std::uint64_t* v, const std::string&, std::uint64_t lo, std::uint64_t hi) override {
    if (*v < lo || *v > hi) usage_fail("--", long_name(n), ": ", *v, " is out of range ", lo, "..", hi);
  }
  void add(const std::string& n, double* v, const std::string&, double lo, double hi) override {
    if (!(*v >= lo && *v <= hi))
      usage_fail("--", long_name(n), ": ", shown(*v), " is out of range ", shown(lo), "..", shown(hi));
  }
  void add(const std::string& n, float* v, const std::string&, double lo, double hi) override {
    if (!(*v >= lo && *v <= hi))
      usage_fail("--", long_name(n), ": ", shown(*v), " is out of range ", shown(lo), "..", shown(hi));
  }
  void add(const std::string&, bool*, const std::string&) override {}
  void add(const std::string&, std::string*, const std::string&) override {}
  void add(const std::string&, std::string* v, const std::string&, const TextCheck& check) override { check(*v); }
  void add(const std::string& n, std::string* v, const std::string&, const std::vector<std::string>& choices) override {
    for (const auto& c : choices)
      if (*v == c) return;
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
    usage_fail("--", long_name(n), ": unknown value '", *v, "' (", list, ")");
  }
};

std::string real_dir(const std::string& d) {
  char buf[PATH_MAX];
  if (::realpath(d.c_str(), buf)) return buf;
  return d;
}

std::function<void(OptionsItf&)> both(TrainOptions& t, DataSpec& d) {
  return [&](OptionsItf& o) {
    t.Register(o);
    d.Register(o);
  };
}

}  // namespace

// ---- registration ------------------------------------------------------------

void TrainOptions::Register(OptionsItf& o) {
  o.add("o,output", &output,
        "the trained model (required): the best epoch; checkpoints MODEL.epochNN.sbt beside it");
  o.add("epochs", &epochs, "training epochs", 1, kMaxEpochs);
  o.add("batch", &batch, "batch size per task (the loss needs negatives: at least 2)", 2, 65536);
  o.add("lr", &lr, "Adam learning rate", 1e-12, 10);
  o.add("clip", &clip, "gradient clipping: max L2 norm per task step", 1e-12, 1e30);
  o.add("margin", &margin, "contrastive loss margin", 0, 100);
  o.add("seed", &seed, "random seed (initialisation and data order)", 0, std::numeric_limits<std::uint64_t>::max());
  o.add("keep", &keep, "epoch checkpoints to keep besides the best epoch's, newest first (0 = all)", 0, 1000000);
  o.add("log", &log, "TSV log, one row per epoch");
  o.add("log-every", &log_every, "steps between progress lines when stderr is not a terminal", 1, INT_MAX);
  o.add("resume", &resume, "continue the run of a checkpoint (its recorded options are used)");
  o.add("max-steps", &max_steps, "cut every epoch after N steps (0 = no cut; for quick trials)", 0, INT_MAX);
  o.add("max-frames", &max_frames,
        "skip training utterances longer than N frames (0 = no cap; 2000 = 20 s at 10 ms)", 0, INT_MAX);
  o.add("device", &device, std::string("where to compute: ") + device_words(),
        [](const std::string& word) { parse_device(word); });
  o.add("threads", &threads,
        "CPU threads (0 = all cores: results then depend on the machine); bit-reproducible for one build "
        "and one thread count",
        0, 4096);
}

void DataSpec::Register(OptionsItf& o) {
  o.add("data", &data, "data directory for every task (ALIGNED)");
  o.add("si", &si, "data directory of the SPEECH/IMAGE task");
  o.add("st", &st, "data directory of the SPEECH/TEXT task");
  o.add("ti", &ti, "data directory of the TEXT/IMAGE task");
  o.add("val", &val, "validation data directory (loss per task, speech->image R@k)");
}

void register_model_sizes(OptionsItf& o, model::ModelOptions& m) {
  o.add("hidden", &m.hidden, "GRU size and joint embedding size", 1, 65536);
  o.add("conv-channels", &m.conv_channels, "convolution channels", 1, 65536);
  o.add("conv-kernel", &m.conv_kernel, "convolution kernel size (frames)", 1, 1024);
  o.add("conv-stride", &m.conv_stride, "convolution stride (frames)", 1, 1024);
  o.add("conv-padding", &m.conv_padding, "convolution zero padding at each end (frames)", 0, 1024);
  o.add("embed", &m.embed_size, "character embedding size", 1, 65536);
  o.add("attn", &m.attn_size, "attention MLP hidden size", 1, 65536);
}

void TrainOptions::validate() const {
  TrainOptions copy = *this;
  RangeChecker check;
  copy.Register(check);
  if (output.empty()) usage_fail("-o MODEL is required");
  if (output == "-")
    usage_fail("-o -: sb-train writes checkpoints (MODEL.epochNN.sbt) and a lock beside its model, so -o "
               "needs a file name; write the model to a file, then cat it");
}

// ---- records -----------------------------------------------------------------

std::map<std::string, std::string> option_values(const std::function<void(OptionsItf&)>& reg,
                                                 const std::set<std::string, std::less<>>& skip) {
  ValueWriter w(skip, false);
  reg(w);
  return {w.values.begin(), w.values.end()};
}

std::string options_record(const std::function<void(OptionsItf&)>& reg,
                           const std::set<std::string, std::less<>>& skip) {
  ValueWriter w(skip, false);
  reg(w);
  std::string s;
  for (const auto& [k, v] : w.values) {
    // The "key value" line format keeps a value as the trimmed rest of its line.
    if (v.find_first_of("\n\r") != std::string::npos || trim(v).size() != v.size())
      fail("--", k, ": '", v, "' cannot be recorded in a checkpoint (line breaks or surrounding spaces)");
    s += v.empty() ? k + "\n" : k + " " + v + "\n";
  }
  return s;
}

void read_options_record(const std::function<void(OptionsItf&)>& reg, std::string_view text,
                         const std::string& where) {
  ValueReader r(text, where);
  reg(r);
}

std::string TrainOptions::to_text() const {
  TrainOptions copy = *this;
  ValueWriter w({}, false);
  copy.Register(w);
  // The model record's historic order: margin, batch, lr, clip, seed.
  std::map<std::string, std::string> v(w.values.begin(), w.values.end());
  std::string s;
  for (const char* k : {"margin", "batch", "lr", "clip", "seed"}) s += cat(k, " ", v.at(k), "\n");
  return s;
}

void TrainOptions::restore_from_text(std::string_view text, const std::string& where) {
  const auto kv = model::parse_options_text(text);
  for (const auto& k : kModelRecordKeys)
    if (!kv.count(k)) fail(where, ": options record: missing '", k, "' (not a checkpoint of sb-train)");
  TrainOptions got = *this;
  read_options_record([&](OptionsItf& o) { got.Register(o); }, text, where + ": options record");
  margin = got.margin;
  batch = got.batch;
  lr = got.lr;
  clip = got.clip;
  seed = got.seed;
}

static std::set<std::string, std::less<>> run_record_skip() {
  auto s = kModelRecordKeys;
  s.insert("resume");
  return s;
}

std::string run_record(const TrainOptions& t, const DataSpec& d) {
  TrainOptions tc = t;
  DataSpec dc = d;
  return options_record(both(tc, dc), run_record_skip());
}

void read_run_record(std::string_view text, const std::string& where, TrainOptions& t, DataSpec& d) {
  const std::string resume = t.resume;
  TrainOptions tc = t;
  DataSpec dc = d;
  read_options_record(both(tc, dc), text, where + ": train.run");
  // The model record owns these; a run record never overrides them.
  tc.margin = t.margin, tc.batch = t.batch, tc.lr = t.lr, tc.clip = t.clip, tc.seed = t.seed;
  tc.resume = resume;
  tc.progress_bar = t.progress_bar;
  t = tc;
  d = dc;
}

// ---- resuming ------------------------------------------------------------------

void resolve_resume(const RecordedRun& rec, const std::set<std::string>& given_names, TrainOptions& train,
                    DataSpec& data, const Messages& msg, const std::string& where) {
  TrainOptions given = train;
  DataSpec given_data = data;
  TrainOptions out = rec.have_run ? rec.train : train;
  DataSpec out_data = rec.have_run ? rec.data : data;
  out.margin = rec.train.margin, out.batch = rec.train.batch, out.lr = rec.train.lr;
  out.clip = rec.train.clip, out.seed = rec.train.seed;
  out.resume = train.resume;
  out.progress_bar = train.progress_bar;
  // Runs before the run record had no length cap.
  if (!rec.have_run && !given_names.count("max-frames")) out.max_frames = 0;

  const auto want = option_values(both(given, given_data));
  const auto have = option_values(both(out, out_data));
  ValueWriter gw({}, true), hw({}, true);
  both(given, given_data)(gw);
  both(out, out_data)(hw);
  const std::map<std::string, std::string> want_shown(gw.values.begin(), gw.values.end());
  const std::map<std::string, std::string> have_shown(hw.values.begin(), hw.values.end());

  for (const auto& name : given_names) {
    if (name == "resume" || !want.count(name)) continue;
    if (!rec.have_run && !kModelRecordKeys.count(name)) continue;  // no record: the given value is used
    if (want.at(name) == have.at(name)) continue;
    if (name == "epochs") {
      msg.info(cat("--epochs ", given.epochs, ": the run was recorded with ", out.epochs, " epochs; it now runs ",
                   given.epochs));
      out.epochs = given.epochs;
    } else if (name == "threads" || name == "device") {
      msg.warn(cat("--", name, " ", want_shown.at(name), ": the run was recorded with --", name, " ",
                   have_shown.at(name), "; the continuation is no longer bit-identical to an uninterrupted run"));
      if (name == "threads") out.threads = given.threads;
      else out.device = given.device;
    } else {
      usage_fail("--", name, " cannot be given with --resume as '", want_shown.at(name), "': ", where,
                 " records --", name, " '", have_shown.at(name),
                 "' (leave it out to continue the run as it was)");
    }
  }
  train = out;
  data = out_data;
}

void check_model_agrees(const model::ModelOptions& recorded, const model::ModelOptions& given,
                        const std::set<std::string>& given_names, const std::string& where) {
  model::ModelOptions r = recorded, g = given;
  const auto have = option_values([&](OptionsItf& o) { register_model_sizes(o, r); });
  const auto want = option_values([&](OptionsItf& o) { register_model_sizes(o, g); });
  auto refuse = [&](const std::string& name, const std::string& w, const std::string& h) {
    usage_fail("--", name, " cannot be given with --resume as '", w, "': ", where, " records --", name, " '", h,
               "' (leave it out to continue the run as it was)");
  };
  for (const auto& name : given_names) {
    if (want.count(name) && want.at(name) != have.at(name)) refuse(name, want.at(name), have.at(name));
    if (name == "tasks" && g.tasks.str() != r.tasks.str()) refuse(name, g.tasks.str(), r.tasks.str());
    if (name == "layers" && g.layers.str() != r.layers.str()) refuse(name, g.layers.str(), r.layers.str());
  }
}

// ---- data ----------------------------------------------------------------------

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

}  // namespace sb::train
