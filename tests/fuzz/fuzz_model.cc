// libFuzzer target: what a model or checkpoint archive holds, read the way
// sb-embed and sb-train --resume read it, on the CPU backend:
//   ModelOptions::from_text, TrainOptions::restore_from_text (the options
//   record), read_run_record ("train.run"), Model::load (options + one f32
//   record per parameter) and restore_state ("train.state", Adam, generator
//   and batch-order records).
// The input is text parts split at NUL bytes: options, train.run,
// train.state, then control bytes. Parameter and optimiser records are made
// to the shapes the options imply (random tensors would never match), and
// each control byte damages one of them: dropped, wrong dtype, wrong shape,
// a NaN, a stray record, a negative step, a batch order out of range. The
// archive layer under these records is fuzz_archive's. Models are capped at
// kMaxParams floats so that a run stays fast and small.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "fuzz_input.h"
#include "model/model.h"
#include "nn/optim.h"
#include "train/checkpoint.h"
#include "train/options.h"

namespace {

using sb::DType;
using sb::Record;
using sb::Tensor;

constexpr std::size_t kMaxParams = std::size_t{1} << 16;

// Control bytes, cycled; 0 (leave intact) when there are none.
struct Control {
  std::string_view bytes;
  std::size_t at = 0;
  std::uint8_t next() { return bytes.empty() ? 0 : static_cast<std::uint8_t>(bytes[at++ % bytes.size()]); }
};

Tensor values(std::vector<std::int64_t> shape, float scale) {
  Tensor t(DType::F32, std::move(shape));
  float* v = t.f32();
  for (std::size_t i = 0; i < t.numel(); ++i) v[i] = scale * static_cast<float>(i % 17) / 17.0f;
  return t;
}

// An f32 record of `shape`, damaged as the control byte says (mostly intact).
void add_f32(std::vector<Record>& recs, const std::string& key, std::vector<std::int64_t> shape, float scale,
             Control& c) {
  const std::uint8_t k = c.next();
  switch (k % 32) {
    case 27: return;                                                          // missing
    case 28: recs.push_back({key, Tensor(DType::I32, shape)}); return;        // wrong dtype
    case 29: if (!shape.empty()) ++shape.back(); break;                       // wrong shape
    case 30: shape.push_back(1); break;                                       // wrong rank
    case 31: recs.push_back({key, Tensor::text(key)}); return;                // text
    default: break;
  }
  Tensor t = values(std::move(shape), scale);
  if (k % 32 == 26 && t.numel()) t.f32()[k % t.numel()] = (k & 32) ? NAN : INFINITY;
  recs.push_back({key, std::move(t)});
}

Tensor i64(std::vector<std::int64_t> words) {
  return Tensor(DType::I64, {static_cast<std::int64_t>(words.size())}, words.data());
}

void read_checkpoint(sb::model::Model& m, const std::vector<Record>& model_recs, std::string_view state,
                     Control& c) {
  namespace train = sb::train;
  namespace model = sb::model;
  train::Checkpoint ck;
  ck.path = "fuzz.sbt";
  ck.records = model_recs;
  ck.model = m.options();
  ck.records.push_back({"train.state", Tensor::text(state)});
  train::Optimisers opt;
  std::array<std::size_t, 3> examples{};
  for (model::Task t : model::kTaskOrder) {
    if (!m.options().tasks.has(t)) continue;
    const int i = static_cast<int>(t);
    const std::string name = model::task_name(t);
    examples[i] = c.next() % 64;
    opt.adam[i] = std::make_unique<sb::nn::Adam>(m.parameters(t));
    const std::uint8_t k = c.next();
    if (k % 16 != 15) ck.records.push_back({"adam." + name + ".step", i64({k % 16 == 14 ? -1 : k})});
    for (const sb::nn::Parameter* p : m.parameters(t)) {
      add_f32(ck.records, "adam." + name + "." + p->name + ".exp_avg", p->shape, 0.1f, c);
      add_f32(ck.records, "adam." + name + "." + p->name + ".exp_avg_sq", p->shape, 0.01f, c);
    }
    const std::uint8_t r = c.next();
    if (r % 16 != 15) ck.records.push_back({"rng." + name, i64(r % 16 == 14 ? std::vector<std::int64_t>{1, 2} :
                                                               std::vector<std::int64_t>{1, 2, 3, r})});
    // The batch order: sizes and example ids straight from control bytes.
    std::vector<std::int32_t> flat, sizes;
    for (int b = c.next() % 8; b > 0; --b) {
      const std::int32_t len = static_cast<std::int8_t>(c.next()) % 5;
      sizes.push_back(len);
      for (int j = 0; j < len; ++j) flat.push_back(static_cast<std::int8_t>(c.next()));
    }
    if (c.next() % 2) flat.push_back(static_cast<std::int8_t>(c.next()));  // left over, or one short
    const std::int64_t nf = static_cast<std::int64_t>(flat.size()), ns = static_cast<std::int64_t>(sizes.size());
    ck.records.push_back({"order." + name, Tensor(DType::I32, {nf}, flat.data())});
    ck.records.push_back({"order." + name + ".sizes", Tensor(DType::I32, {ns}, sizes.data())});
  }
  // The run the state is checked against (its epochs and batch size).
  train::TrainOptions run;
  run.epochs = 1 + c.next() % 30;
  run.batch = 2 + c.next() % 15;
  train::State st;
  train::restore_state(ck, m.options().tasks, run, opt, st, examples);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sb::fuzz::MemFile quiet("model-fuzz");  // only for the warning sink
  (void)quiet;
  namespace model = sb::model;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view part[4];
  {
    std::size_t b = 0;
    for (int i = 0; i < 3; ++i) {
      const std::size_t e = std::min(in.find('\0', b), in.size());
      part[i] = in.substr(std::min(b, in.size()), e - std::min(b, in.size()));
      b = e + 1;
    }
    if (b < in.size()) part[3] = in.substr(b);
  }
  try {
    sb::train::TrainOptions t;
    t.restore_from_text(part[0], "fuzz.sbt");
  } catch (const sb::Error& e) {
    sb::fuzz::report(e);
  }
  try {
    sb::train::TrainOptions t;
    sb::train::DataSpec d;
    sb::train::read_run_record(part[1], "fuzz.sbt", t, d);
  } catch (const sb::Error& e) {
    sb::fuzz::report(e);
  }
  model::ModelOptions o;
  try {
    o = model::ModelOptions::from_text(part[0], "fuzz.sbt");
    model::check_layout(o);
  } catch (const sb::Error& e) {
    sb::fuzz::report(e);
    return 0;
  }
  const auto shapes = model::parameter_shapes(o);
  std::size_t total = 0;
  for (const auto& p : shapes) {
    std::size_t n = 1;
    for (auto d : p.shape) n = d > 0 && n <= kMaxParams ? n * static_cast<std::size_t>(d) : kMaxParams + 1;
    total += std::min(n, kMaxParams + 1);
  }
  if (total > kMaxParams) return 0;
  Control c{part[3]};
  std::vector<Record> recs;
  recs.push_back({"options", Tensor::text(part[0])});
  for (const auto& p : shapes) add_f32(recs, p.name, p.shape, 0.5f, c);
  if (c.next() % 8 == 7) recs.push_back({"s2i.stray.weight", values({2}, 1)});
  try {
    auto m = model::Model::load(sb::cpu_backend(), recs, "fuzz.sbt");
    read_checkpoint(*m, recs, part[2], c);
  } catch (const sb::Error& e) {
    sb::fuzz::report(e);
  }
  return 0;
}
