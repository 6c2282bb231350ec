// lib/train: the checkpointable generator, bucketed batching, retrieval
// metrics, data directories and key matching, data conditions, options
// text, and a short training run that learns and resumes bit for bit.
#define BOOST_TEST_MODULE train
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <numeric>
#include <set>
#include <sstream>

#include "backend/backend.h"
#include "core/error.h"
#include "io/archive.h"
#include "train/batching.h"
#include "train/data.h"
#include "train/evaluate.h"
#include "train/rng.h"
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
  BOOST_TEST(si.skipped[0] == "1 utterances in feats.sbt without an utt2img entry");
  BOOST_TEST(si.skipped[1] == "1 utterances whose image has no vector in images.sbt");
  BOOST_TEST(si.skipped[2] == "1 utt2img entries without features in feats.sbt");
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
// epoch-boundary resume ends in the same bits as the straight run.
BOOST_AUTO_TEST_CASE(training_learns_and_resumes_identically) {
  TempDir tr, va, out;
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
  o.output = out / "a.sbt";
  o.log = out / "a.tsv";
  std::vector<std::string> lines;
  Messages msg;
  msg.info = [&](std::string_view s) { lines.emplace_back(s); };
  const auto sum = sb::train::train(cpu_backend(), mo, o, spec, msg);
  BOOST_TEST(sum.epochs_done == 6);
  BOOST_TEST(sum.best_r10 > 0.9);  // 12 images: R@10 chance is 10/12, R@1 tells more
  std::ifstream log(o.log);
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
  first.output = out / "b.sbt";
  first.log.clear();
  sb::train::train(cpu_backend(), mo, first, spec, msg);
  TrainOptions rest = first;
  rest.epochs = 6;
  rest.resume = checkpoint_path(first.output, 3);
  sb::train::train(cpu_backend(), mo, rest, spec, msg);
  auto bytes = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  BOOST_TEST(bytes(checkpoint_path(o.output, 6)) == bytes(checkpoint_path(first.output, 6)));
  BOOST_TEST(bytes(o.output) == bytes(first.output));
}
