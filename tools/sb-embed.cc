// sb-embed: run one encoder of a trained model over features, captions or
// image vectors, writing an archive of unit vectors (or per-frame layer
// activations) keyed and ordered as the input.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <unordered_map>

#include "backend/backend.h"
#include "backend/device.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/strings.h"
#include "io/archive.h"
#include "model/embed_batches.h"
#include "model/model.h"
#include "model/row_stable.h"
#include "model/vocab.h"

namespace {

using namespace sb;
using model::Encoder;

const char* kEpilog =
    "\n"
    "Encoders: s2i, s2t read a feature archive (MFCC, frames x dims); t2i, t2s read a\n"
    "text table (key caption); i2s, i2t read an image-vector archive. INPUT defaults\n"
    "to stdin. Output: one record per input record, same key, same order: a unit\n"
    "vector of the joint space, or with --layer the activations of one layer, mean-\n"
    "pooled over frames or, with --frames, one frames x dims matrix per input.\n"
    "\n"
    "Layers: speech:K (K = 0 the convolution, 1..s the shared GRU layers), text:K\n"
    "(0 the character embedding, 1..t), s2i:K, s2t:K, t2s:K, t2i:K (K = 1.. the task\n"
    "encoder's GRU layers; 0 its input). Inputs are batched for speed; results never\n"
    "depend on the batch size or on which inputs share a batch.\n"
    "\n"
    "Examples:\n"
    "  sb-embed -m model.sbt -e s2i data/val/feats.sbt > val.s2i.sbt\n"
    "  sb-embed -m model.sbt -e i2s data/val/images.sbt > val.i2s.sbt\n"
    "  sb-embed -m model.sbt -e t2i data/val/text > val.t2i.sbt\n"
    "  sb-embed -m model.sbt -e s2i --layer speech:1 --frames feats.sbt > layer1.sbt\n"
    "  sb-embed -m model.sbt -e s2i feats.sbt | sb-tensor to-npy -o s2i.npz\n"
    "\n"
    "See also: sb-train(1), sb-rank(1), sb-rsa(1), sb-probe(1), sb(7)\n";

enum class Input { Speech, Text, Image };

// Reads "key caption" lines one at a time, so a large table is never held.
class TextReader {
 public:
  explicit TextReader(const std::string& path) : path_(path == "-" ? "stdin" : path) {
    if (path == "-") {
      in_ = &std::cin;
    } else {
      file_.open(path);
      if (!file_) fail(path, ": cannot open: ", std::strerror(errno));
      in_ = &file_;
    }
  }
  std::size_t line() const { return line_; }
  bool next(std::string& key, std::string& text) {
    std::string line;
    while (std::getline(*in_, line)) {
      ++line_;
      std::string_view k, rest;
      if (!split_key(line, k, rest)) continue;
      if (!valid_utf8(line)) fail(path_, ": line ", line_, ": not valid UTF-8");
      if (rest.empty()) fail(path_, ": line ", line_, " (", k, "): no caption after the key");
      // A key the output archive could not hold is the input's fault: say so here.
      if (const std::string why = key_problem(k); !why.empty()) fail(path_, ": line ", line_, ": ", why);
      key.assign(k);
      text.assign(rest);
      return true;
    }
    if (in_->bad()) fail(path_, ": read error");
    return false;
  }

 private:
  std::string path_;
  std::ifstream file_;
  std::istream* in_ = nullptr;
  std::size_t line_ = 0;
};

int embed_main(int argc, char** argv) {
  std::string model_path, encoder, layer_spec, output = "-", device = "cpu", input = "-";
  int batch = 32, threads = 0;
  bool frames = false, force = false, quiet = false;
  auto opts = cli::make_options("embed speech, text or images with a trained model's encoder", "[INPUT]");
  cli::OptionRegistry reg(opts, "");
  reg.add_text("m,model", &model_path, "the model (or a checkpoint) written by sb-train (required)", "MODEL");
  reg.add("e,encoder", &encoder, "the encoder (required)", {"s2i", "s2t", "t2i", "t2s", "i2s", "i2t"});
  reg.add_text("layer", &layer_spec, "PART:K, a layer's activations instead of the embedding", "PART:K");
  reg.add("frames", &frames, "with --layer: one frames x dims matrix per input, not the mean");
  reg.add_text("o,output", &output, "output archive ('-' = stdout)", "FILE");
  reg.add("batch", &batch, "inputs per batch (speed only)", 1, 4096);
  reg.add_text("device", &device, std::string("where to compute: ") + device_words(), "DEVICE",
               [](const std::string& word) { parse_device(word); });
  reg.add("threads", &threads, "CPU threads (0 = all cores)", 0, 4096);
  reg.add("f,force", &force, "write binary data even to a terminal");
  reg.add("q,quiet", &quiet, "no progress line and no summary on stderr");
  opts.add_options(cli::kPositional)("input", "", cxxopts::value<std::string>());
  opts.parse_positional({"input"});
  auto r = cli::parse(opts, argc, argv, kEpilog);
  reg.apply(r);
  if (!r.unmatched().empty()) usage_fail("unexpected argument '", r.unmatched().front(), "'");
  if (r.count("input")) input = r["input"].as<std::string>();
  if (model_path.empty()) usage_fail("-m MODEL is required");
  if (encoder.empty()) usage_fail("-e ENCODER is required (s2i, s2t, t2i, t2s, i2s, i2t)");
  const Encoder enc = model::parse_encoder(encoder);
  std::string part;
  int layer = -1;
  if (!layer_spec.empty()) {
    const auto& spec = layer_spec;
    const auto colon = spec.find(':');
    if (colon == std::string::npos) usage_fail("--layer: '", spec, "' is not PART:K (e.g. speech:1)");
    part = spec.substr(0, colon);
    layer = static_cast<int>(cli::to_integer(spec.substr(colon + 1), "--layer K", 0, 1000));
    const bool speech_part = part == "speech" || part == "s2i" || part == "s2t";
    const bool text_part = part == "text" || part == "t2s" || part == "t2i";
    if (!speech_part && !text_part) usage_fail("--layer: unknown part '", part, "' (speech, text, s2i, s2t, t2s, t2i)");
    const bool speech_enc = enc == Encoder::S2I || enc == Encoder::S2T;
    const bool text_enc = enc == Encoder::T2I || enc == Encoder::T2S;
    if ((speech_part && !speech_enc) || (text_part && !text_enc))
      usage_fail("--layer ", part, ": needs ", speech_part ? "a speech encoder (-e s2i or s2t)" : "a text encoder (-e t2i or t2s)");
  } else if (frames) {
    usage_fail("--frames needs --layer PART:K");
  }
  const Device dev = parse_device(device);  // a usage error before any work
  Backend& base = open_device(dev, threads);

  // No input's result may depend on its batch: where the backend's products
  // do not guarantee that, compute them in fixed row chunks.
  model::RowStableBackend stable(base);
  Backend& backend = base.row_independent_products() ? base : stable;
  auto m = model::Model::load(backend, read_archive(model_path), model_path);
  const auto& mo = m->options();
  if (!mo.tasks.has(model::encoder_task(enc)))
    fail(model_path, ": the model has no ", model::encoder_name(enc), " encoder (tasks ", mo.tasks.str(), ")");
  const model::Vocabulary vocab(mo.vocab);
  const Input kind = (enc == Encoder::S2I || enc == Encoder::S2T)   ? Input::Speech
                     : (enc == Encoder::T2I || enc == Encoder::T2S) ? Input::Text
                                                                    : Input::Image;
  WriterOptions wo;
  wo.force_terminal = force;
  ArchiveWriter out(output, wo);
  cli::Progress meter("records", 0, quiet);

  std::unique_ptr<ArchiveReader> archive;
  std::unique_ptr<TextReader> table;
  if (kind == Input::Text) table = std::make_unique<TextReader>(input);
  else archive = std::make_unique<ArchiveReader>(input);
  const std::string in_name = input == "-" ? "stdin" : input;

  std::vector<std::string> keys;
  std::vector<std::vector<float>> feats;
  std::vector<std::vector<std::int32_t>> texts;
  std::vector<float> images;
  std::size_t total = 0;

  // Up to 8 batches (at least one, at most 1024 inputs otherwise) are read
  // ahead, so that embed_batches can group inputs of similar length (less
  // padding); the output keeps the input order.
  const auto B = static_cast<std::size_t>(batch);
  const std::size_t window = std::max(B, std::min<std::size_t>(8 * B, 1024));
  std::vector<std::vector<float>> results;
  auto flush = [&]() {
    if (keys.empty()) return;
    model::EncoderInputs in;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (kind == Input::Speech)
        in.add_speech(feats[i].data(), static_cast<int>(feats[i].size() / static_cast<std::size_t>(mo.feat_dim)));
      else if (kind == Input::Text)
        in.add_text(&texts[i]);
      else
        in.add_image(images.data() + i * static_cast<std::size_t>(mo.image_dim));
    }
    results.assign(keys.size(), {});
    if (layer >= 0) {
      int dim = 0;
      model::layer_batches(*m, part, layer, in, batch, [&](std::size_t i, const std::vector<float>& a, int d) {
        dim = d;
        results[i] = a;
      });
      for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto& a = results[i];
        const std::int64_t T = static_cast<std::int64_t>(a.size()) / dim;
        if (frames) {
          out.write_f32(keys[i], {T, dim}, a.data());
        } else {
          std::vector<float> mean(static_cast<std::size_t>(dim), 0.0f);
          for (std::int64_t t = 0; t < T; ++t)
            for (int d = 0; d < dim; ++d) mean[static_cast<std::size_t>(d)] += a[static_cast<std::size_t>(t * dim + d)];
          for (float& v : mean) v /= static_cast<float>(T);
          out.write_f32(keys[i], {dim}, mean.data());
        }
      }
    } else {
      const std::int64_t H = m->embedding_size();
      model::embed_batches(*m, enc, in, batch, [&](std::size_t i, const float* row) {
        results[i].assign(row, row + H);
      });
      for (std::size_t i = 0; i < keys.size(); ++i) out.write_f32(keys[i], {H}, results[i].data());
    }
    total += keys.size();
    meter.add(keys.size());
    keys.clear();
    feats.clear();
    texts.clear();
    images.clear();
  };

  // Where each key was first seen: a second record of one key is the
  // input's error (it would otherwise reach the output as a duplicate).
  std::unordered_map<std::string, std::size_t> first_seen;
  auto claim = [&](const std::string& k, std::size_t at, const char* unit) {
    const auto [it, fresh] = first_seen.emplace(k, at);
    if (!fresh) fail(in_name, ": ", unit, " ", at, " (", k, "): duplicate key (first at ", unit, " ", it->second, ")");
  };
  Record rec;
  std::string key, text;
  while (true) {
    if (kind == Input::Text) {
      if (!table->next(key, text)) break;
      claim(key, table->line(), "line");
      keys.push_back(key);
      texts.push_back(vocab.encode(text));
    } else {
      if (!archive->next(rec)) break;
      const auto n = archive->records_read();
      const Tensor& t = rec.tensor;
      if (t.dtype() == DType::Text) fail(in_name, ": record ", n, " (", rec.key, "): text record, expected numbers");
      claim(rec.key, n, "record");
      // NaN or infinite inputs would become NaN embeddings with exit 0.
      const auto finite = [&](const std::vector<float>& v) {
        for (std::size_t i = 0; i < v.size(); ++i)
          if (!std::isfinite(v[i])) fail(in_name, ": record ", n, " (", rec.key, "): element ", i, " is ", v[i]);
      };
      if (kind == Input::Speech) {
        if (t.rank() != 2 || t.dim(1) != mo.feat_dim)
          fail(in_name, ": record ", n, " (", rec.key, "): shape ", t.shape_string(), ", the model wants frames x ",
               mo.feat_dim);
        if (t.dim(0) < 1 || m->speech_output_length(static_cast<int>(t.dim(0))) < 1)
          fail(in_name, ": record ", n, " (", rec.key, "): ", t.dim(0), " frames, too short for the model's convolution");
        feats.push_back(t.to_f32());
        finite(feats.back());
      } else {
        const bool vec = t.rank() == 1 || (t.rank() == 2 && t.dim(0) == 1);
        if (!vec || static_cast<std::int64_t>(t.numel()) != mo.image_dim)
          fail(in_name, ": record ", n, " (", rec.key, "): shape ", t.shape_string(), ", the model wants a vector of ",
               mo.image_dim);
        const auto v = t.to_f32();
        finite(v);
        images.insert(images.end(), v.begin(), v.end());
      }
      keys.push_back(rec.key);
    }
    if (keys.size() == window) flush();
  }
  flush();
  out.close();
  if (total == 0) cli::warn(cat(in_name, ": no input records"));
  else meter.finish();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-embed", argc, argv, embed_main); }
