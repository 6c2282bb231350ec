// lib/train: the checkpointable generator, bucketed batching, retrieval
// metrics, data directories and key matching, data conditions, options
// text, a short training run that learns and resumes bit for bit, the
// checks of every value a checkpoint hands a resumed run, and the lock
// that keeps two runs off one output.
#define BOOST_TEST_MODULE train
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>
#include <fstream>
#include <random>
#include <numeric>
#include <set>
#include <sstream>

#include "backend/backend.h"
#include "core/error.h"
#include "io/archive.h"
#include "train/batching.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/evaluate.h"
#include "train/options.h"
#include "train/rng.h"
#include "train/run_lock.h"
#include "train/trainer.h"

using namespace sb;
using namespace sb::train;
using model::Task;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("sb-test-train." + std::to_string(::getpid()) + "." +
                                        std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A tiny grounded corpus: image i is a one-hot-ish vector; its utterances'
// frames carry the same pattern, so speech determines the image.
void make_corpus(const TempDir& d, int images, int per_image, unsigned seed, int image_dim = 6) {
  std::mt19937 g(seed);
  std::normal_distribution<float> noise(0, 0.2f);
  ArchiveWriter feats(d / "feats.sbt"), imgs(d / "images.sbt");
  std::string text, u2i;
  for (int i = 0; i < images; ++i) {
    std::vector<float> v(static_cast<std::size_t>(image_dim));
    for (int k = 0; k < image_dim; ++k) v[static_cast<std::size_t>(k)] = (k == i % image_dim ? 2.0f : 0.0f) + noise(g);
    const std::string img = "img" + std::to_string(i);
    imgs.write_f32(img, {image_dim}, v.data());
    for (int c = 0; c < per_image; ++c) {
      const std::string utt = "u" + std::to_string(i).append("_").append(std::to_string(c));
      const int T = 6 + static_cast<int>(g() % 6);
      std::vector<float> f(static_cast<std::size_t>(T * 4));
      for (int t = 0; t < T; ++t)
        for (int k = 0; k < 4; ++k)
          f[static_cast<std::size_t>(t * 4 + k)] = (k == i % 4 ? 1.5f : 0.0f) + noise(g);
      feats.write_f32(utt, {T, 4}, f.data());
      text.append(utt).append(" w").push_back(static_cast<char>('a' + i % 6));
      text.push_back('\n');
      u2i.append(utt).append(" ").append(img).append("\n");
    }
  }
  feats.close();
  imgs.close();
  write_text(d / "text", text);
  write_text(d / "utt2img", u2i);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(rng_state_restores_the_stream) {
  Rng a(5), b(5), c(6);
  BOOST_TEST(a.next() == b.next());
  BOOST_TEST(a.next() != c.next());
  for (int i = 0; i < 10; ++i) a.next();
  Rng d;
  d.set_state(a.state());
  for (int i = 0; i < 100; ++i) BOOST_TEST(a.next() == d.next());
  for (int i = 0; i < 1000; ++i) BOOST_TEST(a.below(7) < 7u);
  std::vector<int> v(50);
  std::iota(v.begin(), v.end(), 0);
  auto w = v;
  a.shuffle(w);
  BOOST_TEST(w != v);
  std::sort(w.begin(), w.end());
  BOOST_TEST(w == v);
}

BOOST_AUTO_TEST_CASE(bucketed_batches_cover_the_data_and_vary) {
  std::vector<int> lengths;
  std::mt19937 g(1);
  for (int i = 0; i < 1001; ++i) lengths.push_back(static_cast<int>(g() % 500) + 1);
  Rng rng(3);
  const auto e1 = shuffled_batches(lengths, 16, rng);
  const auto e2 = shuffled_batches(lengths, 16, rng);
  std::multiset<int> seen;
  for (const auto& b : e1) {
    BOOST_TEST(b.size() >= 2u);
    BOOST_TEST(b.size() <= 16u);
    for (std::size_t i = 1; i < b.size(); ++i) BOOST_TEST(lengths[b[i - 1]] <= lengths[b[i]]);
    seen.insert(b.begin(), b.end());
  }
  // 1001 = 3 buckets of 320 + one of 41: only a trailing single can be dropped.
  BOOST_TEST(seen.size() >= 1000u);
  BOOST_TEST(std::set<int>(seen.begin(), seen.end()).size() == seen.size());
  BOOST_TEST(e1 != e2);  // reshuffled each epoch
  Rng again(3);
  BOOST_TEST(shuffled_batches(lengths, 16, again) == e1);  // and reproducible
  // Buckets keep lengths close: far less padding than random batches.
  double spread = 0;
  for (const auto& b : e1) spread += lengths[b.back()] - lengths[b.front()];
  BOOST_TEST(spread / static_cast<double>(e1.size()) < 100.0);

  const auto s = sorted_batches({5, 1, 3, 1}, 3);
  BOOST_TEST(s.size() == 2u);
  BOOST_TEST((s[0] == Batch{1, 3, 2}));
  BOOST_TEST((s[1] == Batch{0}));
}

BOOST_AUTO_TEST_CASE(ranks_recall_and_median) {
  // Three 2-d unit queries against three targets.
  const std::vector<float> q{1, 0, 0, 1, 0.6f, 0.8f};
  const std::vector<float> t{1, 0, 0, 1, 0.6f, 0.8f};
  auto r = gold_ranks(q, t, 2, {0, 1, 0});
  BOOST_TEST(r[0] == 1u);
  BOOST_TEST(r[1] == 1u);
  BOOST_TEST(r[2] == 3u);  // query 2 is closest to itself, then target 1
  // Ties go to the earlier target.
  const std::vector<float> same{1, 0, 1, 0};
  BOOST_TEST(gold_ranks({1, 0}, same, 2, {1})[0] == 2u);
  BOOST_TEST(gold_ranks({1, 0}, same, 2, {0})[0] == 1u);
  auto s = summarize_ranks({1, 3, 12, 7}, 20);
  BOOST_TEST(s.r1 == 0.25);
  BOOST_TEST(s.r5 == 0.5);
  BOOST_TEST(s.r10 == 0.75);
  BOOST_TEST(s.medr == 5.0);
  BOOST_TEST(summarize_ranks({4, 1, 9}, 9).medr == 4.0);
}

BOOST_AUTO_TEST_CASE(tasks_match_keys_and_count_what_they_skip) {
  TempDir d;
  make_corpus(d, 4, 2, 1);
  // Drop one utt2img line, point one at a missing image, add a ghost.
  write_text(d / "utt2img", "u0_0 img0\nu0_1 img0\nu1_0 img1\nu1_1 imgX\nu2_0 img2\nu2_1 img2\nu3_0 img3\nghost img0\n");
  DataDir dir(d.path.string());
  const auto si = load_task(Task::SI, dir);
  BOOST_TEST(si.size() == 6u);
  BOOST_TEST(si.skipped.size() == 3u);
  BOOST_TEST(si.skipped[0] == "1 utterances in feats.sbt without an utt2img entry (first: u3_1)");
  BOOST_TEST(si.skipped[1] == "1 utterances whose image has no vector in images.sbt (first: u1_1)");
  BOOST_TEST(si.skipped[2] == "1 utt2img entries without features in feats.sbt (first: ghost)");
  BOOST_TEST(si.distinct_images().size() == 4u);
  const auto st = load_task(Task::ST, dir);
  BOOST_TEST(st.size() == 8u);
  BOOST_TEST(st.captions[0] == "wa");
  const auto ti = load_task(Task::TI, dir);
  BOOST_TEST(ti.size() == 6u);
  BOOST_TEST(ti.feats == nullptr);
  BOOST_TEST(&dir.feats() == si.feats);  // one copy per directory

  write_text(d / "utt2img", "nobody img0\n");
  DataDir none(d.path.string());
  BOOST_TEST(error_of([&] { load_task(Task::SI, none); }).find("no usable examples") != std::string::npos);
  fs::remove(d.path / "text");
  BOOST_TEST(error_of([&] { load_task(Task::ST, none); }) ==
             d / "text" + ": no such file (task st needs it in " + d.path.string() + ")");
}

BOOST_AUTO_TEST_CASE(bad_features_name_file_and_record) {
  TempDir d;
  {
    ArchiveWriter w(d / "feats.sbt");
    const float a[8] = {0};
    w.write_f32("a", {2, 4}, a);
    w.write_f32("b", {2, 3}, a);
    w.close();
  }
  DataDir dir(d.path.string());
  BOOST_TEST(error_of([&] { dir.feats(); }) == d / "feats.sbt" + ": record 2 (b): 3 columns, earlier records have 4");
  {
    ArchiveWriter w(d / "feats.sbt");
    const float a[2] = {0, NAN};
    w.write_f32("a", {1, 2}, a);
    w.close();
  }
  DataDir dir2(d.path.string());
  BOOST_TEST(error_of([&] { dir2.feats(); }).find("record 1 (a): NaN or Inf") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(data_conditions) {
  TempDir a, b;
  const model::TaskSet three{true, true, true};
  DataSpec aligned;
  aligned.data = a.path.string();
  BOOST_CHECK_NO_THROW(check_condition(model::DataCondition::Aligned, aligned, three));
  BOOST_CHECK_THROW(check_condition(model::DataCondition::NonAligned, aligned, three), UsageError);
  DataSpec split = aligned;
  split.st = b.path.string();
  BOOST_CHECK_NO_THROW(check_condition(model::DataCondition::NonAligned, split, three));
  BOOST_CHECK_THROW(check_condition(model::DataCondition::Aligned, split, three), UsageError);
  DataSpec same_by_path = aligned;
  same_by_path.st = a.path.string() + "/.";  // the same directory spelled differently
  BOOST_CHECK_THROW(check_condition(model::DataCondition::NonAligned, same_by_path, three), UsageError);
}

BOOST_AUTO_TEST_CASE(train_options_text_round_trip) {
  TrainOptions o;
  o.lr = 1.2345678e-4f;
  o.margin = 0.3f;
  o.batch = 7;
  o.seed = 99;
  TrainOptions back;
  back.restore_from_text(o.to_text(), "c.sbt");
  BOOST_TEST(back.lr == o.lr);
  BOOST_TEST(back.margin == o.margin);
  BOOST_TEST(back.batch == 7);
  BOOST_TEST(back.seed == 99u);
  TrainOptions bad;
  bad.output = "m.sbt";
  bad.batch = 1;
  BOOST_CHECK_THROW(bad.validate(), UsageError);
  BOOST_TEST(checkpoint_path("out/m.sbt", 3) == "out/m.epoch03.sbt");
  BOOST_TEST(interrupted_path("m") == "m.interrupted.sbt");
}

// A whole run through the library: learns, keeps the best epoch, and an
// epoch-boundary resume ends in the same bits as the straight run. The two
// runs write into two directories under the same relative names, so that
// their checkpoints (which record the run's options, -o and --log among
// them) can be compared byte for byte.
BOOST_AUTO_TEST_CASE(training_learns_and_resumes_identically) {
  TempDir tr, va, out1, out2;
  make_corpus(tr, 12, 4, 1);
  make_corpus(va, 12, 1, 2);
  set_num_threads(1);
  model::ModelOptions mo;
  mo.tasks = model::TaskSet{true, true, true};
  mo.layers = model::parse_layers("s=1,t=1,s2i=1,s2t=0,t2s=0,t2i=1");
  mo.hidden = 12;
  mo.conv_channels = 6;
  mo.embed_size = 5;
  mo.attn_size = 4;
  DataSpec spec;
  spec.data = tr.path.string();
  spec.val = va.path.string();
  TrainOptions o;
  o.epochs = 6;
  o.batch = 8;
  o.lr = 3e-3f;
  o.keep = 0;
  o.output = "a.sbt";
  o.log = "a.tsv";
  std::vector<std::string> lines;
  Messages msg;
  msg.info = [&](std::string_view s) { lines.emplace_back(s); };
  const fs::path cwd = fs::current_path();
  fs::current_path(out1.path);
  const auto sum = sb::train::train(cpu_backend(), mo, o, spec, msg);
  fs::current_path(cwd);
  BOOST_TEST(sum.epochs_done == 6);
  BOOST_TEST(sum.best_r10 > 0.9);  // 12 images: R@10 chance is 10/12, R@1 tells more
  std::ifstream log(out1 / o.log);
  std::vector<std::string> rows;
  for (std::string line; std::getline(log, line);) rows.push_back(line);
  BOOST_REQUIRE(rows.size() == 7u);  // header + 6 epochs
  const std::string& row = rows[1];
  const std::string& last = rows.back();
  auto field = [](const std::string& r, int k) {
    std::istringstream is(r);
    std::string f;
    for (int i = 0; i <= k; ++i) std::getline(is, f, '\t');
    return std::stod(f);
  };
  BOOST_TEST(field(last, 3) < 0.8 * field(row, 3));  // loss_si falls
  BOOST_TEST_MESSAGE("loss_si " << field(row, 3) << " -> " << field(last, 3) << ", R@1 " << field(last, 7));
  BOOST_TEST(field(last, 7) >= 2.0 / 12);  // R@1 at least twice chance (two images share each pattern: 0.5 at best)

  TrainOptions first = o;
  first.epochs = 3;
  fs::current_path(out2.path);
  sb::train::train(cpu_backend(), mo, first, spec, msg);
  TrainOptions rest = first;
  rest.epochs = 6;
  rest.resume = checkpoint_path(first.output, 3);
  sb::train::train(cpu_backend(), mo, rest, spec, msg);
  fs::current_path(cwd);
  auto bytes = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  const std::string c6 = checkpoint_path(o.output, 6);
  BOOST_TEST(!bytes(out1 / c6).empty());
  BOOST_TEST(bytes(out1 / c6) == bytes(out2 / c6));
  BOOST_TEST(bytes(out1 / o.output) == bytes(out2 / o.output));
  // The log of the split run has the same rows (but the seconds).
  std::ifstream log2(out2 / o.log);
  std::vector<std::string> rows2;
  for (std::string line; std::getline(log2, line);) rows2.push_back(line);
  BOOST_TEST(rows2.size() == rows.size());

  // The checkpoint records the run: read back, it is the options given.
  const auto rec = read_recorded_run(out2 / c6);
  BOOST_TEST(rec.have_run);
  BOOST_TEST(rec.train.epochs == 6);
  BOOST_TEST(rec.train.output == "a.sbt");
  BOOST_TEST(rec.train.log == "a.tsv");
  BOOST_TEST(rec.train.lr == 3e-3f);
  BOOST_TEST(rec.train.keep == 0);
  BOOST_TEST(rec.data.data == spec.data);
  BOOST_TEST(rec.data.val == spec.val);
  BOOST_TEST(rec.model.hidden == 12);
}

// An OptionsItf that lists what a struct registers, for the tests.
struct Listing : OptionsItf {
  std::map<std::string, std::string> defaults;
  std::map<std::string, std::pair<double, double>> ranges;
  void add(const std::string& n, int* v, const std::string&, long long lo, long long hi) override {
    defaults[n] = std::to_string(*v);
    ranges[n] = {double(lo), double(hi)};
  }
  void add(const std::string& n, long long* v, const std::string&, long long, long long) override {
    defaults[n] = std::to_string(*v);
  }
  void add(const std::string& n, std::uint64_t* v, const std::string&, std::uint64_t, std::uint64_t) override {
    defaults[n] = std::to_string(*v);
  }
  void add(const std::string& n, double* v, const std::string&, double, double) override {
    defaults[n] = std::to_string(*v);
  }
  void add(const std::string& n, float* v, const std::string&, double, double) override {
    defaults[n] = std::to_string(*v);
  }
  void add(const std::string& n, bool* v, const std::string&) override { defaults[n] = *v ? "true" : "false"; }
  void add(const std::string& n, std::string* v, const std::string&) override { defaults[n] = *v; }
  void add(const std::string& n, std::string* v, const std::string&, const std::vector<std::string>&) override {
    defaults[n] = *v;
  }
  void add(const std::string& n, std::string* v, const std::string&, const TextCheck&) override { defaults[n] = *v; }
};

BOOST_AUTO_TEST_CASE(options_register_once_with_their_defaults) {
  TrainOptions o;
  Listing l;
  o.Register(l);
  BOOST_TEST(l.defaults.at("epochs") == "25");
  BOOST_TEST(l.defaults.at("batch") == "16");
  BOOST_TEST(l.defaults.at("keep") == "3");
  BOOST_TEST(l.defaults.at("max-frames") == "2000");
  BOOST_TEST(l.defaults.at("threads") == "0");
  BOOST_TEST(l.defaults.at("device") == "cpu");
  BOOST_TEST(l.defaults.count("o,output") == 1u);
  BOOST_TEST(l.ranges.at("batch").first == 2.0);
  // validate() checks the registered ranges, naming the option.
  TrainOptions bad;
  bad.output = "m.sbt";
  bad.epochs = 0;
  try {
    bad.validate();
    BOOST_FAIL("epochs 0 accepted");
  } catch (const UsageError& e) {
    BOOST_TEST(std::string(e.what()) == "--epochs: 0 is out of range 1..100000");
  }
  bad.epochs = 1;
  bad.device = "tpu";
  BOOST_CHECK_THROW(bad.validate(), UsageError);
  model::ModelOptions mo;
  Listing m;
  register_model_sizes(m, mo);
  BOOST_TEST(m.defaults.at("hidden") == "1024");
  BOOST_TEST(m.defaults.at("conv-padding") == "6");
}

BOOST_AUTO_TEST_CASE(run_record_round_trips_exactly) {
  TrainOptions o;
  o.output = "out/m.sbt";
  o.log = "my log.tsv";  // inner spaces survive
  o.epochs = 7;
  o.keep = 0;
  o.max_frames = 1234;
  o.threads = 2;
  o.lr = 1.2345678e-4f;  // the model record's, not the run record's
  DataSpec d;
  d.data = "data/train";
  d.st = "data/libri";
  d.val = "data/val";
  const std::string text = run_record(o, d);
  BOOST_TEST(text.find("lr") == std::string::npos);  // one owner: the model's options record
  BOOST_TEST(text.find("resume") == std::string::npos);
  TrainOptions back;
  DataSpec dback;
  read_run_record(text, "c.sbt", back, dback);
  BOOST_TEST(back.output == o.output);
  BOOST_TEST(back.log == o.log);
  BOOST_TEST(back.epochs == 7);
  BOOST_TEST(back.keep == 0);
  BOOST_TEST(back.max_frames == 1234);
  BOOST_TEST(back.threads == 2);
  BOOST_TEST(dback.data == d.data);
  BOOST_TEST(dback.st == d.st);
  BOOST_TEST(dback.si.empty());
  BOOST_TEST(dback.val == d.val);
  BOOST_TEST(run_record(back, dback) == text);
  TrainOptions broken;
  broken.output = "two\nlines.sbt";
  BOOST_CHECK_THROW(run_record(broken, d), Error);
}

BOOST_AUTO_TEST_CASE(resume_uses_the_recorded_run_and_refuses_disagreement) {
  RecordedRun rec;
  rec.have_run = true;
  rec.train.output = "run.sbt";
  rec.train.epochs = 5;
  rec.train.lr = 1e-3f;
  rec.train.threads = 1;
  rec.data.data = "train";
  rec.data.val = "val";
  std::vector<std::string> infos, warns;
  Messages msg;
  msg.info = [&](std::string_view s) { infos.emplace_back(s); };
  msg.warn = [&](std::string_view s) { warns.emplace_back(s); };

  // Nothing given but --resume: the recorded run.
  TrainOptions t;
  t.resume = "run.epoch02.sbt";
  DataSpec d;
  resolve_resume(rec, {"resume"}, t, d, msg, t.resume);
  BOOST_TEST(t.output == "run.sbt");
  BOOST_TEST(t.epochs == 5);
  BOOST_TEST(t.lr == 1e-3f);
  BOOST_TEST(t.threads == 1);
  BOOST_TEST(t.resume == "run.epoch02.sbt");
  BOOST_TEST(d.data == "train");
  BOOST_TEST(infos.empty());

  // The same values again: accepted.
  TrainOptions same;
  same.output = "run.sbt";
  same.lr = 1e-3f;
  DataSpec dsame;
  dsame.data = "train";
  BOOST_CHECK_NO_THROW(resolve_resume(rec, {"output", "lr", "data"}, same, dsame, msg, "c.sbt"));

  // Another value: refused, naming the option and both values.
  TrainOptions other;
  other.lr = 0.1f;
  try {
    resolve_resume(rec, {"lr"}, other, d, msg, "c.sbt");
    BOOST_FAIL("another --lr accepted");
  } catch (const UsageError& e) {
    BOOST_TEST(std::string(e.what()).find("--lr cannot be given with --resume as '0.1': c.sbt records --lr '0.001'") == 0u);
  }
  DataSpec moved;
  moved.data = "elsewhere";
  TrainOptions t2;
  BOOST_CHECK_THROW(resolve_resume(rec, {"data"}, t2, moved, msg, "c.sbt"), UsageError);
  TrainOptions t3;
  t3.keep = 9;
  BOOST_CHECK_THROW(resolve_resume(rec, {"keep"}, t3, d, msg, "c.sbt"), UsageError);

  // --epochs changes the run's length, saying so.
  TrainOptions longer;
  longer.epochs = 8;
  resolve_resume(rec, {"epochs"}, longer, d, msg, "c.sbt");
  BOOST_TEST(longer.epochs == 8);
  BOOST_TEST(longer.output == "run.sbt");
  BOOST_REQUIRE(infos.size() == 1u);
  BOOST_TEST(infos[0] == "--epochs 8: the run was recorded with 5 epochs; it now runs 8");
  // --threads changes how it computes: allowed, with a warning.
  TrainOptions threads;
  threads.threads = 4;
  resolve_resume(rec, {"threads"}, threads, d, msg, "c.sbt");
  BOOST_TEST(threads.threads == 4);
  BOOST_REQUIRE(warns.size() == 1u);
  BOOST_TEST(warns[0].find("no longer bit-identical") != std::string::npos);

  // A checkpoint without a run record: the given options, as before, but
  // the model record's (lr ...) must still agree, and no length cap.
  RecordedRun old = rec;
  old.have_run = false;
  TrainOptions given;
  given.output = "new.sbt";
  DataSpec gd;
  gd.data = "train2";
  resolve_resume(old, {"output", "data"}, given, gd, msg, "old.sbt");
  BOOST_TEST(given.output == "new.sbt");
  BOOST_TEST(gd.data == "train2");
  BOOST_TEST(given.lr == 1e-3f);
  BOOST_TEST(given.max_frames == 0);
  TrainOptions old_lr;
  old_lr.lr = 0.5f;
  BOOST_CHECK_THROW(resolve_resume(old, {"lr"}, old_lr, gd, msg, "old.sbt"), UsageError);

  // Model options given again must agree too.
  model::ModelOptions m, g;
  g.hidden = 64;
  BOOST_CHECK_NO_THROW(check_model_agrees(m, m, {"hidden", "tasks"}, "c.sbt"));
  BOOST_CHECK_THROW(check_model_agrees(m, g, {"hidden"}, "c.sbt"), UsageError);
  BOOST_CHECK_NO_THROW(check_model_agrees(m, g, {"attn"}, "c.sbt"));
}

BOOST_AUTO_TEST_CASE(keep_leaves_the_best_and_the_newest) {
  TempDir d;
  const std::string out = d / "m.sbt";
  auto exists = [&](int e) { return fs::exists(checkpoint_path(out, e)); };
  for (int e = 1; e <= 6; ++e) {
    write_text(checkpoint_path(out, e), "x");
    prune_checkpoints(out, e, /*best*/ e <= 2 ? e : 2, /*keep*/ 2);
  }
  BOOST_TEST(!exists(1));
  BOOST_TEST(exists(2));  // the best epoch
  BOOST_TEST(!exists(3));
  BOOST_TEST(!exists(4));
  BOOST_TEST(exists(5));
  BOOST_TEST(exists(6));
  // A new best lets the old best go once it is out of the window.
  write_text(checkpoint_path(out, 7), "x");
  prune_checkpoints(out, 7, 7, 2);
  BOOST_TEST(!exists(2));
  BOOST_TEST(!exists(5));
  BOOST_TEST(exists(6));
  BOOST_TEST(exists(7));
  // keep 0: all stay.
  write_text(checkpoint_path(out, 1), "x");
  prune_checkpoints(out, 7, 7, 0);
  BOOST_TEST(exists(1));
}

BOOST_AUTO_TEST_CASE(skipped_items_name_the_first_few) {
  TempDir d;
  make_corpus(d, 4, 2, 1);
  DataDir dir(d.path.string());
  auto si = load_task(Task::SI, dir);
  const Skipped s = drop_examples(si, [](const TaskData& td, std::size_t i) { return td.keys[i] != "u0_0"; });
  BOOST_TEST(si.size() == 1u);
  BOOST_TEST(si.keys[0] == "u0_0");
  BOOST_TEST(s.count == 7u);
  BOOST_TEST(s.note("utterances longer than --max-frames 5") ==
             "7 utterances longer than --max-frames 5 (first: u0_1, u1_0, u1_1, ...)");
  Skipped two;
  two.add("a");
  two.add("b");
  BOOST_TEST(two.note("x") == "2 x (first: a, b)");
}

// Every value of a checkpoint's records is checked against its registered
// range before it is stored: a 64-bit integer is never cut to int, and NaN
// or Inf is outside every range.
BOOST_AUTO_TEST_CASE(records_are_range_checked_when_read) {
  auto read_state = [](const std::string& text) {
    State st;
    return error_of([&] { read_options_record([&](OptionsItf& r) { st.Register(r); }, text, "c.sbt: train.state"); });
  };
  BOOST_TEST(read_state("epoch_done 3\nstep 5\nbest_r10 0.5\n") == "");
  BOOST_TEST(read_state("epoch_done 4294967297\n") ==
             "c.sbt: train.state: 'epoch_done' is 4294967297, out of range 0..100000");
  BOOST_TEST(read_state("step 4294967299\n") == "c.sbt: train.state: 'step' is 4294967299, out of range 0..2147483647");
  BOOST_TEST(read_state("best_r10 nan\n") == "c.sbt: train.state: 'best_r10' is nan, out of range -1..1");
  BOOST_TEST(read_state("loss_sum.si inf\n") == "c.sbt: train.state: 'loss_sum.si' is inf, out of range -1e+300..1e+300");
  TrainOptions t;
  DataSpec d;
  BOOST_TEST(error_of([&] { read_run_record("keep 4294967296\n", "c.sbt", t, d); }) ==
             "c.sbt: train.run: 'keep' is 4294967296, out of range 0..1000000");
  BOOST_TEST(error_of([&] { read_run_record("device tpu\n", "c.sbt", t, d); }) ==
             "c.sbt: train.run: 'device' is 'tpu', not a valid value");
  BOOST_TEST(t.keep == 3);  // nothing stored from a refused record
}

namespace {

// `in` with the "train.state" line of `field` set to `value`.
void rewrite_state(const std::string& in, const std::string& out, const std::string& field, const std::string& value) {
  ArchiveWriter w(out);
  bool found = false;
  for (const Record& r : read_archive(in)) {
    if (r.key != "train.state") {
      w.write(r.key, r.tensor);
      continue;
    }
    std::istringstream lines{std::string(r.tensor.as_text())};
    std::string text;
    for (std::string line; std::getline(lines, line);) {
      if (line.substr(0, line.find(' ')) == field) line = field + " " + value, found = true;
      text += line + "\n";
    }
    w.write_text(r.key, text);
  }
  BOOST_REQUIRE(found);
  w.close();
}

}  // namespace

// A resumed run uses nothing of a checkpoint it has not checked against the
// run: the epoch count of its run record, the best epoch, and the step
// count of the batch order it records. Each refusal names the checkpoint
// and the field.
BOOST_AUTO_TEST_CASE(resume_refuses_a_state_the_run_cannot_reach) {
  TempDir tr, out;
  make_corpus(tr, 8, 3, 1);
  set_num_threads(1);
  model::ModelOptions mo;
  mo.tasks = model::TaskSet{true, false, false};
  mo.layers = model::parse_layers("s=1,s2i=1");
  mo.hidden = 8;
  mo.conv_channels = 4;
  mo.attn_size = 4;
  DataSpec spec;
  spec.data = tr.path.string();
  TrainOptions o;
  o.epochs = 2;
  o.batch = 4;  // 24 examples: 6 steps an epoch
  o.output = out / "m.sbt";
  const auto sum = sb::train::train(cpu_backend(), mo, o, spec, Messages{});
  BOOST_REQUIRE(sum.epochs_done == 2);
  const std::string e1 = checkpoint_path(o.output, 1);
  // A mid-epoch checkpoint: stop requested before the run, so after step 1.
  TrainOptions again = o;
  again.output = out / "mid.sbt";
  request_stop(SIGINT);
  const auto stopped = sb::train::train(cpu_backend(), mo, again, spec, Messages{});
  request_stop(0);
  BOOST_REQUIRE(stopped.stopped_by == SIGINT);
  const std::string mid = interrupted_path(again.output);

  auto resume = [&](const std::string& from, const std::string& field, const std::string& value) {
    const std::string bad = out / "bad.sbt";
    rewrite_state(from, bad, field, value);
    TrainOptions r = from == mid ? again : o;
    r.resume = bad;
    return error_of([&] { sb::train::train(cpu_backend(), mo, r, spec, Messages{}); });
  };
  const std::string bad = out / "bad.sbt";
  BOOST_TEST(resume(e1, "epoch_done", "4294967297") ==
             bad + ": train.state: 'epoch_done' is 4294967297, out of range 0..100000");
  BOOST_TEST(resume(mid, "epoch_done", "2147483647") ==
             bad + ": train.state: 'epoch_done' is 2147483647, out of range 0..100000");
  BOOST_TEST(resume(e1, "epoch_done", "3") == bad + ": train.state: 'epoch_done' is 3, past the 2 epochs of the run it records");
  BOOST_TEST(resume(mid, "epoch_done", "2") ==
             bad + ": train.state: 'epoch_done' is 2 (inside epoch 3), past the 2 epochs of the run it records");
  BOOST_TEST(resume(e1, "best_epoch", "2") == bad + ": train.state: 'best_epoch' is 2, after the 1 epochs done ('epoch_done')");
  BOOST_TEST(resume(e1, "best_r10", "nan") == bad + ": train.state: 'best_r10' is nan, out of range -1..1");
  BOOST_TEST(resume(mid, "loss_sum.si", "-inf") ==
             bad + ": train.state: 'loss_sum.si' is -inf, out of range -1e+300..1e+300");
  BOOST_TEST(resume(mid, "step", "7") ==
             bad + ": train.state: 'step' is 7, past the end of epoch 1 (6 steps in the batch order it records)");
  BOOST_TEST(resume(mid, "step", "4294967297") == bad + ": train.state: 'step' is 4294967297, out of range 0..2147483647");
  // The records beside train.state too: a generator state of zeros (every
  // draw 0, the data never shuffled), a batch larger than --batch.
  auto resume_with = [&](const std::string& from, const std::string& key, const Tensor& t) {
    ArchiveWriter w(bad);
    for (const Record& r : read_archive(from)) w.write(r.key, r.key == key ? t : r.tensor);
    w.close();
    TrainOptions r = from == mid ? again : o;
    r.resume = bad;
    return error_of([&] { sb::train::train(cpu_backend(), mo, r, spec, Messages{}); });
  };
  const std::int64_t zeros[4] = {0, 0, 0, 0}, four = 4;
  BOOST_TEST(resume_with(e1, "rng.si", Tensor(DType::I64, {four}, zeros)) ==
             bad + ": record 'rng.si': an all-zero generator state");
  std::vector<std::int32_t> sizes;
  for (const Record& r : read_archive(mid))
    if (r.key == "order.si.sizes") sizes.assign(r.tensor.i32(), r.tensor.i32() + r.tensor.numel());
  BOOST_REQUIRE(sizes.size() == 6u);
  sizes[0] += sizes[1], sizes[1] = 0;  // same examples, one batch of 8
  BOOST_TEST(resume_with(mid, "order.si.sizes", Tensor(DType::I32, {6}, sizes.data())) ==
             bad + ": record 'order.si.sizes': batch 1 has 8 examples, outside 2..4 (--batch)");
  // The checked values pass: the last step of the epoch, and the real state.
  BOOST_TEST(resume(mid, "step", "6") == "");
  BOOST_TEST(resume(e1, "epoch_done", "1") == "");
}

// One run per output: the lock beside it refuses a second run at once,
// names the holder, and goes away with the run.
BOOST_AUTO_TEST_CASE(a_second_run_on_one_output_is_refused) {
  TempDir d;
  const std::string out = d / "m.sbt";
  BOOST_TEST(RunLock::path_for(out) == out + ".lock");
  {
    RunLock first(out);
    BOOST_TEST(fs::exists(out + ".lock"));
    BOOST_TEST(error_of([&] { RunLock second(out); }) ==
               out + ".lock: another sb-train (pid " + std::to_string(::getpid()) + ") is training into " + out +
                   "; wait for it to end, or give another -o");
    TempDir tr;
    make_corpus(tr, 4, 2, 1);
    model::ModelOptions mo;
    mo.tasks = model::TaskSet{true, false, false};
    mo.hidden = 8;
    DataSpec spec;
    spec.data = tr.path.string();
    TrainOptions o;
    o.epochs = 1;
    o.output = out;
    o.log = d / "m.tsv";
    BOOST_TEST(error_of([&] { sb::train::train(cpu_backend(), mo, o, spec, Messages{}); }).find("another sb-train") !=
               std::string::npos);
    BOOST_TEST(!fs::exists(o.log));  // refused before anything was written
    BOOST_TEST(fs::exists(out + ".lock"));  // the refused run leaves the holder's lock alone
  }
  BOOST_TEST(!fs::exists(out + ".lock"));  // removed at the end of the run
  // A lock file left by a killed run (its flock died with it) is taken over.
  write_text(out + ".lock", "999999\n");
  {
    RunLock again(out);
    std::ifstream f(out + ".lock");
    std::string pid;
    f >> pid;
    BOOST_TEST(pid == std::to_string(::getpid()));
  }
  BOOST_TEST(!fs::exists(out + ".lock"));
}
