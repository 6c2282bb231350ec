// lib/model: options and presets, the vocabulary, parameter names and
// shapes, gradients of the composed model against finite differences, model
// archives, and embeddings that do not depend on their batch.
#define BOOST_TEST_MODULE model
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "backend/backend.h"
#include "core/error.h"
#include "io/archive.h"
#include "model/embed_batches.h"
#include "model/model.h"
#include "model/options.h"
#include "model/row_stable.h"
#include "model/vocab.h"

using namespace sb;
using namespace sb::model;

namespace {

ModelOptions tiny(TaskSet tasks, Layers layers) {
  ModelOptions o;
  o.tasks = tasks;
  o.layers = layers;
  o.hidden = 8;
  o.feat_dim = 5;
  o.conv_channels = 4;
  o.embed_size = 6;
  o.attn_size = 3;
  o.image_dim = 7;
  o.vocab = {U' ', U'a', U'b', U'c'};
  return o;
}

const TaskSet kAll{true, true, true};

struct Data {
  std::vector<std::vector<float>> feats;
  std::vector<int> frames;
  std::vector<std::vector<std::int32_t>> text;
  std::vector<float> images;

  Data(int n, int feat_dim, int image_dim, unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d;
    for (int i = 0; i < n; ++i) {
      const int T = 3 + 4 * i;  // different lengths: padding in every batch
      frames.push_back(T);
      std::vector<float> f(static_cast<std::size_t>(T * feat_dim));
      for (auto& v : f) v = d(g);
      feats.push_back(f);
      std::vector<std::int32_t> t;
      for (int k = 0; k < 2 + i; ++k) t.push_back(static_cast<std::int32_t>(g() % 5));
      text.push_back(t);
      for (int k = 0; k < image_dim; ++k) images.push_back(d(g));
    }
  }
  BatchInput batch(std::vector<int> which, int image_dim) const {
    BatchInput in;
    for (int i : which) {
      in.speech.push_back(feats[static_cast<std::size_t>(i)].data());
      in.frames.push_back(frames[static_cast<std::size_t>(i)]);
      in.text.push_back(&text[static_cast<std::size_t>(i)]);
      in.images.insert(in.images.end(), images.begin() + i * image_dim, images.begin() + (i + 1) * image_dim);
    }
    return in;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(tasks_and_layers_parse) {
  auto t = parse_tasks("ti,si");
  BOOST_TEST(t.si);
  BOOST_TEST(!t.st);
  BOOST_TEST(t.ti);
  BOOST_TEST(t.str() == "si,ti");
  BOOST_CHECK_THROW(parse_tasks("st"), UsageError);
  BOOST_CHECK_THROW(parse_tasks("si,si"), UsageError);
  BOOST_CHECK_THROW(parse_tasks("si,xy"), UsageError);
  auto l = parse_layers("s=4,s2i=0");
  BOOST_TEST(l.s == 4);
  BOOST_TEST(l.s2i == 0);
  BOOST_TEST(l.t == 1);  // untouched keys keep the defaults
  BOOST_TEST(parse_layers(l.str()).str() == l.str());
  BOOST_CHECK_THROW(parse_layers("s=-1"), UsageError);
  BOOST_CHECK_THROW(parse_layers("s=1,s=2"), UsageError);
  BOOST_CHECK_THROW(parse_layers("s"), UsageError);
  BOOST_CHECK_THROW(parse_layers("x=1"), UsageError);
}

BOOST_AUTO_TEST_CASE(presets_are_table_1) {
  const auto& p = presets();
  BOOST_TEST(p.size() == 13u);
  const auto& r1 = find_preset("row1");
  BOOST_TEST(r1.tasks.count() == 1);
  BOOST_TEST(r1.layers.s == 2);
  BOOST_TEST(r1.layers.s2i == 2);
  const auto& r6 = find_preset("row6");
  BOOST_TEST(r6.tasks.count() == 3);
  BOOST_TEST(r6.layers.str() == "s=2,t=1,s2i=2,s2t=0,t2s=0,t2i=1");
  BOOST_TEST((r6.data == DataCondition::Aligned));
  BOOST_TEST(find_preset("row3").tasks.str() == "si,st");
  BOOST_TEST((find_preset("row3").data == DataCondition::NonAligned));
  BOOST_TEST(find_preset("row13").layers.str() == "s=4,t=1,s2i=0,s2t=0,t2s=0,t2i=0");
  BOOST_TEST(find_preset("row12").layers.str() == "s=2,t=1,s2i=2,s2t=1,t2s=1,t2i=1");
  // Rows 9..13 repeat rows 4..8 on non-aligned data.
  for (int i = 4; i <= 8; ++i) {
    const auto& a = find_preset("row" + std::to_string(i));
    const auto& b = find_preset("row" + std::to_string(i + 5));
    BOOST_TEST(a.layers.str() == b.layers.str());
    BOOST_TEST((b.data == DataCondition::NonAligned));
  }
  BOOST_CHECK_THROW(find_preset("row0"), UsageError);
}

BOOST_AUTO_TEST_CASE(options_round_trip) {
  ModelOptions o = tiny(kAll, parse_layers("s=3,t2i=2"));
  o.vocab = {U'\t', U' ', U'a', U'\u00e9', U'\u4e2d', U'\U0001F600'};
  const auto back = ModelOptions::from_text(o.to_text(), "m.sbt");
  BOOST_TEST(back.to_text() == o.to_text());
  BOOST_TEST((back.vocab == o.vocab));
  BOOST_TEST(back.layers.s == 3);
  try {
    ModelOptions::from_text("format sb-model 1\ntasks si\n", "m.sbt");
    BOOST_FAIL("missing keys accepted");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("m.sbt: options record: missing 'layers'") == 0);
  }
  BOOST_CHECK_THROW(ModelOptions::from_text("format sb-model 9\n", "m"), Error);
  std::string bad = o.to_text();
  bad.replace(bad.find("hidden 8"), 8, "hidden 0");
  BOOST_CHECK_THROW(ModelOptions::from_text(bad, "m"), Error);
}

BOOST_AUTO_TEST_CASE(vocabulary_is_order_free_with_unknown_zero) {
  Vocabulary a, b;
  a.add("cab");
  a.add("a é");
  a.build();
  b.add("é a");
  b.add("bca");
  b.build();
  BOOST_TEST((a.chars() == b.chars()));
  BOOST_TEST(a.size() == 6);  // unknown + ' ' a b c é
  const auto ids = a.encode("abz é");
  BOOST_TEST((ids == std::vector<std::int32_t>{2, 3, 0, 1, 5}));
  const Vocabulary c(a.chars());
  BOOST_TEST((c.encode("abz é") == ids));
  BOOST_CHECK_THROW(a.encode("\xff"), Error);
}

BOOST_AUTO_TEST_CASE(parameter_names_and_shapes) {
  Model m(cpu_backend(), tiny(kAll, parse_layers("s=2,t=1,s2i=1,s2t=0,t2s=1,t2i=1")), 1);
  std::map<std::string, std::vector<std::int64_t>> shapes;
  for (auto* p : m.parameters()) shapes[p->name] = p->shape;
  using V = std::vector<std::int64_t>;
  BOOST_TEST((shapes.at("speech.conv.weight") == V{4, 5, 6}));
  BOOST_TEST((shapes.at("speech.gru.weight_ih_l0") == V{24, 4}));
  BOOST_TEST((shapes.at("speech.gru.weight_hh_l1") == V{24, 8}));
  BOOST_TEST((shapes.at("speech.gru.bias_ih_l1") == V{24}));
  BOOST_TEST((shapes.at("text.embed.weight") == V{5, 6}));
  BOOST_TEST((shapes.at("text.gru.weight_ih_l0") == V{24, 6}));
  BOOST_TEST((shapes.at("s2i.gru.weight_ih_l0") == V{24, 8}));
  BOOST_TEST((shapes.at("s2i.attn.W.weight") == V{3, 8}));
  BOOST_TEST((shapes.at("s2i.attn.W.bias") == V{3}));
  BOOST_TEST((shapes.at("s2i.attn.U.weight") == V{1, 3}));
  BOOST_TEST((shapes.at("s2i.attn.U.bias") == V{1}));
  BOOST_TEST((shapes.at("i2s.weight") == V{8, 7}));
  BOOST_TEST((shapes.at("i2t.bias") == V{8}));
  BOOST_TEST(shapes.count("s2t.gru.weight_ih_l0") == 0u);  // s2t = 0 layers
  BOOST_TEST(shapes.count("s2t.attn.W.weight") == 1u);
  BOOST_TEST(shapes.count("t2s.gru.weight_hh_l0") == 1u);
  BOOST_TEST(shapes.count("speech.conv.bias") == 0u);  // the paper's conv has no bias

  // Each task's optimiser sees its shared encoders and its own heads only.
  auto names = [&](Task t) {
    std::set<std::string> s;
    for (auto* p : m.parameters(t)) s.insert(p->name);
    return s;
  };
  const auto si = names(Task::SI), st = names(Task::ST), ti = names(Task::TI);
  BOOST_TEST(si.count("speech.conv.weight") == 1u);
  BOOST_TEST(si.count("text.embed.weight") == 0u);
  BOOST_TEST(si.count("i2t.weight") == 0u);
  BOOST_TEST(st.count("speech.conv.weight") == 1u);
  BOOST_TEST(st.count("text.embed.weight") == 1u);
  BOOST_TEST(st.count("i2s.weight") == 0u);
  BOOST_TEST(ti.count("speech.conv.weight") == 0u);
  BOOST_TEST(ti.count("t2i.attn.U.bias") == 1u);

  Model one(cpu_backend(), tiny(TaskSet{}, Layers{}), 1);
  for (auto* p : one.parameters()) BOOST_TEST(p->name.rfind("text.", 0) != 0);
  BOOST_CHECK_THROW(one.parameters(Task::ST), Error);
}

BOOST_AUTO_TEST_CASE(parameter_shapes_are_what_the_model_builds) {
  // The loader checks files against parameter_shapes() before it builds a
  // model: it must list exactly Model::parameters(), in order, for every
  // layout of Table 1.
  for (const auto& preset : presets()) {
    ModelOptions o = tiny(preset.tasks, preset.layers);
    const Model m(cpu_backend(), o, 1);
    auto ps = const_cast<Model&>(m).parameters();
    const auto want = parameter_shapes(o);
    BOOST_REQUIRE_EQUAL(ps.size(), want.size());
    for (std::size_t i = 0; i < ps.size(); ++i) {
      BOOST_TEST(ps[i]->name == want[i].name, preset.name);
      BOOST_TEST((ps[i]->shape == want[i].shape), preset.name << " " << want[i].name);
    }
  }
}

BOOST_AUTO_TEST_CASE(hostile_model_files_fail_before_anything_is_built) {
  Backend& be = cpu_backend();
  const ModelOptions o = tiny(kAll, Layers{});
  Model m(be, o, 3);
  const std::string path = "test_model_hostile." + std::to_string(::getpid()) + ".sbt";
  {
    ArchiveWriter w(path);
    m.save(w);
    w.close();
  }
  const auto recs = read_archive(path);
  std::remove(path.c_str());
  auto expect_load_error = [&](const std::vector<Record>& r, const std::string& part) {
    try {
      Model::load(be, r, "m.sbt");
      BOOST_ERROR("loaded, expected an error mentioning '" << part << "'");
    } catch (const Error& e) {
      BOOST_TEST(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
  };
  auto with_options = [&](const std::string& from, const std::string& to) {
    auto r = recs;
    std::string text(r.front().tensor.as_text());
    const auto at = text.find(from);
    BOOST_REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    r.front().tensor = Tensor::text(text);
    return r;
  };
  // 64-bit values are not cut to int: 2^32 + 8 is not 8.
  expect_load_error(with_options("hidden 8\n", "hidden 4294967304\n"), "hidden 4294967304 is out of range");
  // Options that would build a huge model from a small file: refused on the
  // first parameter whose shape disagrees, before any allocation.
  expect_load_error(with_options("hidden 8\n", "hidden 60000\n"),
                    "speech.gru.weight_ih_l0: shape 24x4, but the options record implies 180000x4");
  // A parameter record too many, a NaN, a wrong dtype.
  {
    auto r = recs;
    r.push_back({"s2i.gru.weight_ih_l9", Tensor(DType::F32, {1})});
    expect_load_error(r, "record 's2i.gru.weight_ih_l9' is not a parameter of this model");
  }
  {
    auto r = recs;
    for (auto& rec : r)
      if (rec.key == "i2s.bias") rec.tensor.f32()[2] = std::nanf("");
    expect_load_error(r, "m.sbt: parameter i2s.bias: element 2 is nan");
  }
  {
    auto r = recs;
    for (auto& rec : r)
      if (rec.key == "i2s.bias") rec.tensor = Tensor(DType::I32, {8});
    expect_load_error(r, "parameter i2s.bias: expected f32, got i32");
  }
  // Checkpoint records under other names are not parameters.
  auto r = recs;
  r.push_back({"adam.si.step", Tensor(DType::I64, {1})});
  r.push_back({"train.state", Tensor::text("epoch 1\n")});
  BOOST_CHECK_NO_THROW(Model::load(be, r, "ckpt.sbt"));
}

BOOST_AUTO_TEST_CASE(layouts_must_meet_in_the_joint_space) {
  BOOST_CHECK_THROW(Model(cpu_backend(), tiny(TaskSet{}, parse_layers("s=0,s2i=0")), 1), UsageError);
  BOOST_CHECK_NO_THROW(Model(cpu_backend(), tiny(TaskSet{}, parse_layers("s=0,s2i=1")), 1));
  BOOST_CHECK_THROW(Model(cpu_backend(), tiny(kAll, parse_layers("t=0,t2s=0")), 1), UsageError);
}

BOOST_AUTO_TEST_CASE(same_seed_same_bits) {
  Model a(cpu_backend(), tiny(kAll, Layers{}), 42), b(cpu_backend(), tiny(kAll, Layers{}), 42),
      c(cpu_backend(), tiny(kAll, Layers{}), 43);
  auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
  bool all_same = true, any_differs = false;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    all_same = all_same && pa[i]->value.to_host() == pb[i]->value.to_host();
    any_differs = any_differs || pa[i]->value.to_host() != pc[i]->value.to_host();
  }
  BOOST_TEST(all_same);
  BOOST_TEST(any_differs);
}

// The model wires the layers' backward passes together (shared encoders,
// two sides of each loss); finite differences check every task's gradient.
// A margin of 1 keeps every hinge active at initialisation, so the loss is
// smooth where it is probed.
BOOST_AUTO_TEST_CASE(gradients_match_finite_differences) {
  Backend& be = cpu_backend();
  const ModelOptions o = tiny(kAll, parse_layers("s=1,t=1,s2i=1,s2t=0,t2s=1,t2i=0"));
  Model m(be, o, 7);
  const Data d(4, o.feat_dim, o.image_dim, 3);
  const BatchInput in = d.batch({0, 1, 2, 3}, o.image_dim);
  const float margin = 1.0f;
  for (Task t : kTaskOrder) {
    auto ps = m.parameters(t);
    nn::zero_grad(ps);
    m.train_loss(t, in, margin);
    int checked = 0;
    for (auto* p : ps) {
      const auto grad = p->grad.to_host();
      auto value = p->value.to_host();
      // Probe the largest-gradient element and one fixed element.
      std::size_t big = 0;
      for (std::size_t i = 0; i < grad.size(); ++i)
        if (std::fabs(grad[i]) > std::fabs(grad[big])) big = i;
      for (std::size_t i : {big, grad.size() / 2}) {
        const float eps = 1e-2f, keep = value[i];
        value[i] = keep + eps;
        p->value.upload(value.data(), value.size());
        const double up = m.eval_loss(t, in, margin);
        value[i] = keep - eps;
        p->value.upload(value.data(), value.size());
        const double down = m.eval_loss(t, in, margin);
        value[i] = keep;
        p->value.upload(value.data(), value.size());
        const double fd = (up - down) / (2 * eps);
        BOOST_TEST_CONTEXT(task_name(t) << " " << p->name << "[" << i << "]: analytic " << grad[i] << ", numeric "
                                        << fd) {
          BOOST_TEST(std::fabs(fd - grad[i]) <= 2e-3 + 0.05 * std::fabs(fd));
        }
        ++checked;
      }
    }
    BOOST_TEST(checked >= 10);
  }
}

BOOST_AUTO_TEST_CASE(train_loss_updates_gradients_of_its_task_only) {
  Model m(cpu_backend(), tiny(kAll, Layers{}), 5);
  const Data d(3, 5, 7, 9);
  auto all = m.parameters();
  nn::zero_grad(all);
  m.train_loss(Task::TI, d.batch({0, 1, 2}, 7), 0.2f);
  for (auto* p : all) {
    double s = 0;
    for (float g : p->grad.to_host()) s += std::fabs(g);
    const bool ti_param = p->name.rfind("text.", 0) == 0 || p->name.rfind("t2i.", 0) == 0 ||
                          p->name.rfind("i2t.", 0) == 0;
    if (!ti_param) BOOST_TEST(s == 0.0, p->name);
  }
}

BOOST_AUTO_TEST_CASE(archive_round_trip_gives_the_same_model) {
  Backend& be = cpu_backend();
  const ModelOptions o = tiny(kAll, Layers{});
  Model m(be, o, 11);
  const std::string path = "test_model." + std::to_string(::getpid()) + ".sbt";
  {
    ArchiveWriter w(path);
    m.save(w, "note 1\n");
    w.close();
  }
  const auto recs = read_archive(path);
  std::remove(path.c_str());
  BOOST_TEST(recs.front().key == "options");
  auto back = Model::load(be, recs, path);
  BOOST_TEST(back->options().to_text() == o.to_text());
  const Data d(3, o.feat_dim, o.image_dim, 2);
  const auto in = d.batch({0, 1, 2}, o.image_dim);
  for (Encoder e : {Encoder::S2I, Encoder::S2T, Encoder::T2S, Encoder::T2I, Encoder::I2S, Encoder::I2T})
    BOOST_TEST((m.embed(e, in) == back->embed(e, in)), encoder_name(e));

  // A missing parameter is an error naming the archive and the parameter.
  std::vector<Record> less;
  for (const auto& r : recs)
    if (r.key != "t2i.attn.U.bias") less.push_back(r);
  try {
    Model::load(be, less, "x.sbt");
    BOOST_FAIL("missing parameter accepted");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("x.sbt: ") == 0);
    BOOST_TEST(std::string(e.what()).find("t2i.attn.U.bias") != std::string::npos);
  }
  BOOST_CHECK_THROW(Model::load(be, std::vector<Record>(recs.begin() + 1, recs.end()), "y.sbt"), Error);
}

// On the row-stable backend an input's embedding is the same bits alone and
// in any batch (padding is masked; products do not depend on the row count).
// Checked on the adapter always, and on the plain backend where it claims
// row-independent products.
static void check_batch_independence(Backend& be) {
  const ModelOptions o = tiny(kAll, Layers{});
  Model m(be, o, 3);
  const Data d(6, o.feat_dim, o.image_dim, 4);
  const std::size_t H = static_cast<std::size_t>(o.hidden);
  for (Encoder e : {Encoder::S2I, Encoder::S2T, Encoder::T2S, Encoder::T2I, Encoder::I2S, Encoder::I2T}) {
    const std::vector<int> order{5, 0, 3, 1, 4, 2};
    const auto all = m.embed(e, d.batch(order, o.image_dim));
    for (int i = 0; i < 6; ++i) {
      const auto alone = m.embed(e, d.batch({i}, o.image_dim));
      const auto pos = static_cast<std::size_t>(std::find(order.begin(), order.end(), i) - order.begin());
      BOOST_TEST(std::memcmp(alone.data(), all.data() + pos * H, H * sizeof(float)) == 0,
                 encoder_name(e) << " input " << i);
    }
    double norm = 0;
    for (std::size_t k = 0; k < H; ++k) norm += all[k] * all[k];
    BOOST_TEST(std::fabs(norm - 1.0) < 1e-5);
  }
  // Per-frame activations likewise, with the convolution's output length.
  int dim = 0;
  const auto frames_all = m.layer_frames("speech", 2, d.batch({0, 1, 2}, o.image_dim), dim);
  const auto frames_one = m.layer_frames("speech", 2, d.batch({1}, o.image_dim), dim);
  BOOST_TEST(dim == o.hidden);
  BOOST_TEST((frames_all[1] == frames_one[0]));
  BOOST_TEST(frames_one[0].size() == static_cast<std::size_t>(m.speech_output_length(d.frames[1]) * dim));
  BOOST_TEST(m.speech_output_length(300) == 154);  // the paper's conv: 300 frames -> 154
}

BOOST_AUTO_TEST_CASE(embeddings_do_not_depend_on_the_batch) {
  RowStableBackend stable(cpu_backend());
  check_batch_independence(stable);
  if (cpu_backend().row_independent_products()) check_batch_independence(cpu_backend());
}

BOOST_AUTO_TEST_CASE(row_stable_products_equal_plain_ones_closely) {
  RowStableBackend stable(cpu_backend());
  std::mt19937 g(1);
  std::normal_distribution<float> d;
  const std::size_t m = 37, n = 19, k = 23;
  std::vector<float> a(m * k), b(n * k), c1(m * n, 1.0f), c2(m * n, 1.0f);
  for (auto& v : a) v = d(g);
  for (auto& v : b) v = d(g);
  cpu_backend().gemm(Trans::No, Trans::Yes, m, n, k, 0.5f, a.data(), k, b.data(), k, 2.0f, c1.data(), n);
  stable.gemm(Trans::No, Trans::Yes, m, n, k, 0.5f, a.data(), k, b.data(), k, 2.0f, c2.data(), n);
  for (std::size_t i = 0; i < c1.size(); ++i) BOOST_TEST(std::fabs(c1[i] - c2[i]) < 1e-4f);
  BOOST_TEST(stable.chunk_rows(Trans::Yes, n, k) >= 1u);
}

// ---- embed_batches: the one batching loop of sb-embed and validation ------

namespace {

// A backend that does not promise row-independent products (as the CPU
// backend on OpenBLAS without AVX-512): everything else is the adapter's.
class UnstableClaim : public RowStableBackend {
 public:
  using RowStableBackend::RowStableBackend;
  bool row_independent_products() const override { return false; }
};

EncoderInputs inputs_of(const Data& d, Encoder e, int image_dim) {
  EncoderInputs in;
  for (std::size_t i = 0; i < d.feats.size(); ++i) {
    if (e == Encoder::S2I || e == Encoder::S2T) in.add_speech(d.feats[i].data(), d.frames[i]);
    else if (e == Encoder::T2I || e == Encoder::T2S) in.add_text(&d.text[i]);
    else in.add_image(d.images.data() + i * static_cast<std::size_t>(image_dim));
  }
  return in;
}

std::vector<float> embed_all(Model& m, Encoder e, const EncoderInputs& in, int batch) {
  const auto H = static_cast<std::size_t>(m.embedding_size());
  std::vector<float> out(in.size() * H, std::nanf(""));
  std::vector<int> seen(in.size(), 0);
  embed_batches(m, e, in, batch, [&](std::size_t i, const float* row) {
    ++seen[i];
    std::copy_n(row, H, out.data() + i * H);
  });
  for (int c : seen) BOOST_TEST(c == 1);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(length_sorted_batches_are_stable_and_cover_all) {
  const auto b = length_sorted_batches({5, 1, 3, 1, 5, 2}, 4);
  BOOST_TEST(b.size() == 2u);
  BOOST_TEST((b[0] == std::vector<std::size_t>{1, 3, 5, 2}));
  BOOST_TEST((b[1] == std::vector<std::size_t>{0, 4}));
  BOOST_TEST(length_sorted_batches({}, 3).empty());
  BOOST_CHECK_THROW(length_sorted_batches({1}, 0), Error);
}

BOOST_AUTO_TEST_CASE(embed_batches_gives_each_row_its_own_result) {
  RowStableBackend stable(cpu_backend());
  const ModelOptions o = tiny(kAll, Layers{});
  Model m(stable, o, 5);
  const Data d(7, o.feat_dim, o.image_dim, 8);
  const auto H = static_cast<std::size_t>(o.hidden);
  for (Encoder e : {Encoder::S2I, Encoder::S2T, Encoder::T2S, Encoder::T2I, Encoder::I2S, Encoder::I2T}) {
    const auto in = inputs_of(d, e, o.image_dim);
    const auto one = embed_all(m, e, in, 1);
    for (int batch : {2, 3, 7, 100})
      BOOST_TEST(std::memcmp(one.data(), embed_all(m, e, in, batch).data(), one.size() * sizeof(float)) == 0,
                 encoder_name(e) << " batch " << batch);
    // Row i is what Model::embed gives input i alone.
    for (std::size_t i = 0; i < in.size(); ++i) {
      const auto alone = m.embed(e, d.batch({static_cast<int>(i)}, o.image_dim));
      BOOST_TEST(std::memcmp(alone.data(), one.data() + i * H, H * sizeof(float)) == 0,
                 encoder_name(e) << " input " << i);
    }
  }
  // Layer activations through the same loop.
  const auto in = inputs_of(d, Encoder::S2I, o.image_dim);
  std::vector<std::vector<float>> a1(in.size()), a3(in.size());
  layer_batches(m, "speech", 1, in, 1, [&](std::size_t i, const std::vector<float>& f, int) { a1[i] = f; });
  layer_batches(m, "speech", 1, in, 3, [&](std::size_t i, const std::vector<float>& f, int) { a3[i] = f; });
  BOOST_TEST((a1 == a3));
  BOOST_TEST(a1[2].size() == static_cast<std::size_t>(m.speech_output_length(d.frames[2]) * o.hidden));
}

BOOST_AUTO_TEST_CASE(embed_batches_refuses_what_it_cannot_keep) {
  RowStableBackend stable(cpu_backend());
  const ModelOptions o = tiny(kAll, Layers{});
  Model m(stable, o, 5);
  const Data d(3, o.feat_dim, o.image_dim, 8);
  const auto speech = inputs_of(d, Encoder::S2I, o.image_dim);
  const auto noop = [](std::size_t, const float*) {};
  BOOST_CHECK_THROW(embed_batches(m, Encoder::I2S, speech, 2, noop), Error);  // wrong modality
  BOOST_CHECK_THROW(embed_batches(m, Encoder::S2I, speech, 0, noop), Error);
  UnstableClaim unstable(cpu_backend());
  Model u(unstable, o, 5);
  try {
    embed_batches(u, Encoder::S2I, speech, 2, noop);
    BOOST_FAIL("a batch-dependent backend was accepted");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("RowStableModel") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(row_stable_model_copies_only_when_needed) {
  const ModelOptions o = tiny(kAll, Layers{});
  const Data d(5, o.feat_dim, o.image_dim, 9);
  RowStableBackend stable(cpu_backend());
  Model m(stable, o, 11);
  RowStableModel same(m);
  BOOST_TEST(!same.copied());
  BOOST_TEST(&same.get() == &m);

  UnstableClaim unstable(cpu_backend());
  Model u(unstable, o, 11);  // same seed, same parameters as m
  RowStableModel run(u);
  BOOST_TEST(run.copied());
  BOOST_TEST(run.get().backend().row_independent_products());
  for (Encoder e : {Encoder::S2I, Encoder::T2I, Encoder::I2S}) {
    const auto in = inputs_of(d, e, o.image_dim);
    const auto want = embed_all(m, e, in, 2);
    const auto got = embed_all(run.get(), e, in, 4);
    BOOST_TEST(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0, encoder_name(e));
  }
}
