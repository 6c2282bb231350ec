#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include "core/error.h"
#include "io/quantize.h"
#include "io/archive.h"

namespace sb::model {

using nn::Parameter;
using nn::SeqShape;

// "3072x128", as Tensor::shape_string() writes a tensor's shape.
static std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

static void append(std::vector<Parameter*>& to, std::vector<Parameter*> from) {
  to.insert(to.end(), from.begin(), from.end());
}

int BatchInput::size() const {
  if (!speech.empty()) return static_cast<int>(speech.size());
  return static_cast<int>(text.size());
}

// ---- S ------------------------------------------------------------------

static nn::Conv1dOptions conv_options(const ModelOptions& o) {
  nn::Conv1dOptions c;
  c.in_channels = o.feat_dim;
  c.out_channels = o.conv_channels;
  c.kernel = o.conv_kernel;
  c.stride = o.conv_stride;
  c.padding = o.conv_padding;
  c.bias = false;  // the paper's (and the peer's) convolution has no bias
  return c;
}

SpeechEncoder::SpeechEncoder(Backend& be, const ModelOptions& o, nn::Rng& rng)
    : be_(be),
      conv_(be, "speech.conv", conv_options(o), rng),
      gru_(be, "speech.gru", o.conv_channels, o.hidden, o.layers.s, rng) {}

const float* SpeechEncoder::forward(const float* x, const SeqShape& s) {
  in_ = s;
  out_ = conv_.output_shape(s);
  conv_out_ = conv_.forward(x, s);
  return gru_.forward(conv_out_, out_);
}

void SpeechEncoder::backward(const float* dy) {
  dconv_.resize(be_, out_.rows() * static_cast<std::size_t>(conv_.options().out_channels));
  gru_.backward(dy, dconv_.data());
  conv_.backward(dconv_.data(), nullptr);
}

const float* SpeechEncoder::layer(int k) const {
  return k == 0 ? conv_out_ : gru_.layer_output(k - 1);
}

int SpeechEncoder::layer_size(int k) const {
  return k == 0 ? conv_.options().out_channels : gru_.hidden_size();
}

std::vector<Parameter*> SpeechEncoder::parameters() {
  auto ps = conv_.parameters();
  append(ps, gru_.parameters());
  return ps;
}

// ---- T ------------------------------------------------------------------

TextEncoder::TextEncoder(Backend& be, const ModelOptions& o, nn::Rng& rng)
    : be_(be),
      embed_(be, "text.embed", o.vocab_size(), o.embed_size, rng),
      gru_(be, "text.gru", o.embed_size, o.hidden, o.layers.t, rng) {}

const float* TextEncoder::forward(const std::int32_t* ids, const SeqShape& s) {
  shape_ = s;
  embed_out_ = embed_.forward(ids, s);
  return gru_.forward(embed_out_, s);
}

void TextEncoder::backward(const float* dy) {
  dembed_.resize(be_, shape_.rows() * static_cast<std::size_t>(embed_.dim()));
  gru_.backward(dy, dembed_.data());
  embed_.backward(dembed_.data());
}

const float* TextEncoder::layer(int k) const {
  return k == 0 ? embed_out_ : gru_.layer_output(k - 1);
}

int TextEncoder::layer_size(int k) const { return k == 0 ? embed_.dim() : gru_.hidden_size(); }

std::vector<Parameter*> TextEncoder::parameters() {
  auto ps = embed_.parameters();
  append(ps, gru_.parameters());
  return ps;
}

// ---- S2I, S2T, T2S, T2I --------------------------------------------------

PoolingEncoder::PoolingEncoder(Backend& be, const std::string& name, int input, int hidden,
                               int layers, int attn, nn::Rng& rng)
    : be_(be),
      gru_(be, name + ".gru", input, hidden, layers, rng),
      attn_(be, name + ".attn", layers > 0 ? hidden : input, attn, rng),
      norm_(be) {}

const float* PoolingEncoder::forward(const float* x, const SeqShape& s) {
  shape_ = s;
  const float* h = gru_.forward(x, s);
  const float* pooled = attn_.forward(h, s);
  return norm_.forward(pooled, static_cast<std::size_t>(s.batch),
                       static_cast<std::size_t>(gru_.output_size()));
}

void PoolingEncoder::backward(const float* dy, float* dx) {
  const auto out = static_cast<std::size_t>(gru_.output_size());
  dpool_.resize(be_, static_cast<std::size_t>(shape_.batch) * out);
  norm_.backward(dy, dpool_.data());
  dgru_.resize(be_, shape_.rows() * out);
  attn_.backward(dpool_.data(), dgru_.data());
  gru_.backward(dgru_.data(), dx);
}

std::vector<Parameter*> PoolingEncoder::parameters() {
  auto ps = gru_.parameters();
  append(ps, attn_.parameters());
  return ps;
}

// ---- I2S, I2T --------------------------------------------------------------

ImageEncoder::ImageEncoder(Backend& be, const std::string& name, int input, int output,
                           nn::Rng& rng)
    : be_(be), linear_(be, name, input, output, true, rng), norm_(be) {}

const float* ImageEncoder::forward(const float* x, std::size_t rows) {
  rows_ = rows;
  return norm_.forward(linear_.forward(x, rows), rows,
                       static_cast<std::size_t>(linear_.out_features()));
}

void ImageEncoder::backward(const float* dy) {
  dlin_.resize(be_, rows_ * static_cast<std::size_t>(linear_.out_features()));
  norm_.backward(dy, dlin_.data());
  linear_.backward(dlin_.data(), nullptr);
}

std::vector<Parameter*> ImageEncoder::parameters() { return linear_.parameters(); }

// ---- the model -------------------------------------------------------------

void check_layout(const ModelOptions& o) {
  const int speech_out = o.layers.s > 0 ? o.hidden : o.conv_channels;
  const int text_out = o.layers.t > 0 ? o.hidden : o.embed_size;
  auto check = [&](bool present, const char* name, int layers, int input, const char* below) {
    if (!present) return;
    const int out = layers > 0 ? o.hidden : input;
    if (out != o.hidden)
      usage_fail("--layers: ", name, "=0 on ", below, " gives ", out,
                 "-dimensional embeddings, but the joint space has --hidden ", o.hidden,
                 " dimensions; give ", name, " or ", below, " a GRU layer");
  };
  check(o.tasks.si, "s2i", o.layers.s2i, speech_out, "s");
  check(o.tasks.st, "s2t", o.layers.s2t, speech_out, "s");
  check(o.tasks.st, "t2s", o.layers.t2s, text_out, "t");
  check(o.tasks.ti, "t2i", o.layers.t2i, text_out, "t");
}

std::vector<ParameterShape> parameter_shapes(const ModelOptions& o) {
  std::vector<ParameterShape> out;
  const std::int64_t H = o.hidden;
  auto gru = [&](const std::string& prefix, std::int64_t input, int layers) {
    for (int k = 0; k < layers; ++k) {
      const std::string sfx = "_l" + std::to_string(k);
      const std::int64_t in = k == 0 ? input : H;
      out.push_back({prefix + ".weight_ih" + sfx, {3 * H, in}});
      out.push_back({prefix + ".weight_hh" + sfx, {3 * H, H}});
      out.push_back({prefix + ".bias_ih" + sfx, {3 * H}});
      out.push_back({prefix + ".bias_hh" + sfx, {3 * H}});
    }
    return layers > 0 ? H : input;
  };
  auto pooling = [&](const std::string& name, std::int64_t input, int layers) {
    const std::int64_t width = gru(name + ".gru", input, layers);
    out.push_back({name + ".attn.W.weight", {o.attn_size, width}});
    out.push_back({name + ".attn.W.bias", {o.attn_size}});
    out.push_back({name + ".attn.U.weight", {1, o.attn_size}});
    out.push_back({name + ".attn.U.bias", {1}});
  };
  auto image = [&](const std::string& name) {
    out.push_back({name + ".weight", {H, o.image_dim}});
    out.push_back({name + ".bias", {H}});
  };
  // The order of Model::parameters(): speech, text, s2i, s2t, t2s, t2i, i2s, i2t.
  out.push_back({"speech.conv.weight", {o.conv_channels, o.feat_dim, o.conv_kernel}});
  const std::int64_t sw = gru("speech.gru", o.conv_channels, o.layers.s);
  const bool text = o.tasks.st || o.tasks.ti;
  std::int64_t tw = 0;
  if (text) {
    out.push_back({"text.embed.weight", {o.vocab_size(), o.embed_size}});
    tw = gru("text.gru", o.embed_size, o.layers.t);
  }
  pooling("s2i", sw, o.layers.s2i);
  if (o.tasks.st) {
    pooling("s2t", sw, o.layers.s2t);
    pooling("t2s", tw, o.layers.t2s);
  }
  if (o.tasks.ti) pooling("t2i", tw, o.layers.t2i);
  image("i2s");
  if (o.tasks.ti) image("i2t");
  return out;
}

Model::Model(Backend& be, ModelOptions opts, std::uint64_t seed) : be_(be), opts_(std::move(opts)) {
  opts_.validate();
  check_layout(opts_);
  const auto& o = opts_;
  // Construction order fixes which random numbers each parameter gets.
  nn::Rng rng(seed);
  const bool text = o.tasks.st || o.tasks.ti;
  speech_ = std::make_unique<SpeechEncoder>(be, o, rng);
  if (text) text_ = std::make_unique<TextEncoder>(be, o, rng);
  const int sw = speech_->output_size();
  const int tw = text ? text_->output_size() : 0;
  s2i_ = std::make_unique<PoolingEncoder>(be, "s2i", sw, o.hidden, o.layers.s2i, o.attn_size, rng);
  if (o.tasks.st) {
    s2t_ = std::make_unique<PoolingEncoder>(be, "s2t", sw, o.hidden, o.layers.s2t, o.attn_size, rng);
    t2s_ = std::make_unique<PoolingEncoder>(be, "t2s", tw, o.hidden, o.layers.t2s, o.attn_size, rng);
  }
  if (o.tasks.ti)
    t2i_ = std::make_unique<PoolingEncoder>(be, "t2i", tw, o.hidden, o.layers.t2i, o.attn_size, rng);
  i2s_ = std::make_unique<ImageEncoder>(be, "i2s", o.image_dim, o.hidden, rng);
  if (o.tasks.ti) i2t_ = std::make_unique<ImageEncoder>(be, "i2t", o.image_dim, o.hidden, rng);
}

Model::~Model() = default;

std::vector<Parameter*> Model::parameters() {
  std::vector<Parameter*> ps;
  append(ps, speech_->parameters());
  if (text_) append(ps, text_->parameters());
  for (auto* e : {s2i_.get(), s2t_.get(), t2s_.get(), t2i_.get()})
    if (e) append(ps, e->parameters());
  for (auto* e : {i2s_.get(), i2t_.get()})
    if (e) append(ps, e->parameters());
  return ps;
}

std::vector<Parameter*> Model::parameters(Task t) {
  if (!opts_.tasks.has(t)) fail("model has no ", task_name(t), " task");
  std::vector<Parameter*> ps;
  switch (t) {
    case Task::SI:
      append(ps, speech_->parameters());
      append(ps, s2i_->parameters());
      append(ps, i2s_->parameters());
      break;
    case Task::ST:
      append(ps, speech_->parameters());
      append(ps, s2t_->parameters());
      append(ps, text_->parameters());
      append(ps, t2s_->parameters());
      break;
    case Task::TI:
      append(ps, text_->parameters());
      append(ps, t2i_->parameters());
      append(ps, i2t_->parameters());
      break;
  }
  return ps;
}

int Model::speech_output_length(int frames) const {
  return nn::Conv1d::output_length(frames, conv_options(opts_));
}

const float* Model::encode_speech(const BatchInput& in, PoolingEncoder& head) {
  if (in.speech.empty() || in.speech.size() != in.frames.size())
    fail("model: speech batch without features");
  for (int f : in.frames)
    if (speech_output_length(f) < 1)
      fail("model: an utterance of ", f, " frames is too short for the convolution (kernel ",
           opts_.conv_kernel, ", padding ", opts_.conv_padding, ")");
  const SeqShape s0 = SeqShape::from_lengths(in.frames);
  nn::pack_sequences(be_, in.speech, s0, static_cast<std::size_t>(opts_.feat_dim), x_);
  const float* h = speech_->forward(x_.data(), s0);
  return head.forward(h, speech_->output_shape());
}

const float* Model::encode_text(const BatchInput& in, PoolingEncoder& head) {
  if (!text_) fail("model: no text encoder (the model has neither st nor ti)");
  if (in.text.empty()) fail("model: text batch without captions");
  std::vector<int> lengths;
  for (const auto* t : in.text) {
    if (t->empty()) fail("model: empty caption");
    lengths.push_back(static_cast<int>(t->size()));
  }
  const SeqShape s = SeqShape::from_lengths(lengths);
  const auto B = static_cast<std::size_t>(s.batch);
  ids_.assign(s.rows(), 0);
  for (std::size_t b = 0; b < B; ++b) {
    const auto& t = *in.text[b];
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i] < 0 || t[i] >= opts_.vocab_size()) fail("model: character id ", t[i], " outside the vocabulary");
      ids_[i * B + b] = t[i];
    }
  }
  const float* h = text_->forward(ids_.data(), s);
  return head.forward(h, s);
}

const float* Model::encode_images(const BatchInput& in, ImageEncoder& head) {
  const auto D = static_cast<std::size_t>(opts_.image_dim);
  if (in.images.empty() || in.images.size() % D != 0)
    fail("model: image batch of ", in.images.size(), " values is not a multiple of ", D);
  img_.resize(be_, in.images.size());
  img_.upload(in.images.data(), in.images.size());
  return head.forward(img_.data(), in.images.size() / D);
}

float Model::pair_loss(Task t, const BatchInput& in, float margin, bool backward) {
  if (!opts_.tasks.has(t)) fail("model has no ", task_name(t), " task");
  if (!loss_ || loss_->margin() != margin) loss_ = std::make_unique<nn::ContrastiveLoss>(be_, margin);
  const auto H = static_cast<std::size_t>(opts_.hidden);
  const float* u = nullptr;
  const float* v = nullptr;
  switch (t) {
    case Task::SI:
      u = encode_speech(in, *s2i_);
      v = encode_images(in, *i2s_);
      break;
    case Task::ST:
      u = encode_speech(in, *s2t_);
      v = encode_text(in, *t2s_);
      break;
    case Task::TI:
      u = encode_text(in, *t2i_);
      v = encode_images(in, *i2t_);
      break;
  }
  const auto n = static_cast<std::size_t>(in.size());
  const float loss = loss_->forward(u, v, n, H);
  if (!backward) return loss;
  du_.resize(be_, n * H);
  dv_.resize(be_, n * H);
  loss_->backward(du_.data(), dv_.data());
  // Each side's head writes the gradient w.r.t. the shared encoder's
  // output into a buffer of that encoder's output shape.
  // (Kept between steps: reallocating them each step costs page faults.)
  auto speech_back = [&](PoolingEncoder& head) {
    dspeech_.resize(be_, speech_->output_shape().rows() * static_cast<std::size_t>(speech_->output_size()));
    head.backward(du_.data(), dspeech_.data());
    speech_->backward(dspeech_.data());
  };
  auto text_back = [&](PoolingEncoder& head, const float* dy) {
    dtext_.resize(be_, ids_.size() * static_cast<std::size_t>(text_->output_size()));
    head.backward(dy, dtext_.data());
    text_->backward(dtext_.data());
  };
  switch (t) {
    case Task::SI:
      i2s_->backward(dv_.data());
      speech_back(*s2i_);
      break;
    case Task::ST:
      text_back(*t2s_, dv_.data());
      speech_back(*s2t_);
      break;
    case Task::TI:
      i2t_->backward(dv_.data());
      text_back(*t2i_, du_.data());
      break;
  }
  return loss;
}

float Model::train_loss(Task t, const BatchInput& in, float margin) {
  return pair_loss(t, in, margin, true);
}

float Model::eval_loss(Task t, const BatchInput& in, float margin) {
  return pair_loss(t, in, margin, false);
}

std::vector<float> Model::embed(Encoder e, const BatchInput& in) {
  const Task t = encoder_task(e);
  if (!opts_.tasks.has(t))
    fail("model has no ", encoder_name(e), " encoder (it was trained with tasks ", opts_.tasks.str(), ")");
  const float* y = nullptr;
  std::size_t n = 0;
  switch (e) {
    case Encoder::S2I: y = encode_speech(in, *s2i_); n = in.speech.size(); break;
    case Encoder::S2T: y = encode_speech(in, *s2t_); n = in.speech.size(); break;
    case Encoder::T2S: y = encode_text(in, *t2s_); n = in.text.size(); break;
    case Encoder::T2I: y = encode_text(in, *t2i_); n = in.text.size(); break;
    case Encoder::I2S: y = encode_images(in, *i2s_); n = in.images.size() / opts_.image_dim; break;
    case Encoder::I2T: y = encode_images(in, *i2t_); n = in.images.size() / opts_.image_dim; break;
  }
  std::vector<float> out(n * static_cast<std::size_t>(opts_.hidden));
  be_.download(out.data(), y, out.size());
  return out;
}

std::vector<std::vector<float>> Model::layer_frames(const std::string& part, int k,
                                                    const BatchInput& in, int& dim) {
  const float* y = nullptr;
  SeqShape s;
  auto range = [&](int max) {
    if (k < 0 || k > max) fail("--layer ", part, ":", k, ": this model has layers 0..", max, " there");
  };
  if (part == "speech" || part == "s2i" || part == "s2t") {
    PoolingEncoder* head = part == "s2i" ? s2i_.get() : part == "s2t" ? s2t_.get() : nullptr;
    if (part != "speech" && !head) fail("--layer ", part, ": the model has no ", part, " encoder");
    range(head ? head->layers() : speech_->layers());
    encode_speech(in, head ? *head : *s2i_);
    s = speech_->output_shape();
    if (!head || k == 0) {
      const int kk = head ? speech_->layers() : k;
      y = speech_->layer(kk);
      dim = speech_->layer_size(kk);
    } else {
      y = head->layer(k);
      dim = opts_.hidden;
    }
  } else if (part == "text" || part == "t2s" || part == "t2i") {
    if (!text_) fail("--layer ", part, ": the model has no text encoder");
    PoolingEncoder* head = part == "t2s" ? t2s_.get() : part == "t2i" ? t2i_.get() : nullptr;
    if (part != "text" && !head) fail("--layer ", part, ": the model has no ", part, " encoder");
    range(head ? head->layers() : text_->layers());
    encode_text(in, head ? *head : (t2s_ ? *t2s_ : *t2i_));
    std::vector<int> lengths;
    for (const auto* t : in.text) lengths.push_back(static_cast<int>(t->size()));
    s = SeqShape::from_lengths(lengths);
    if (!head || k == 0) {
      const int kk = head ? text_->layers() : k;
      y = text_->layer(kk);
      dim = text_->layer_size(kk);
    } else {
      y = head->layer(k);
      dim = opts_.hidden;
    }
  } else {
    fail("--layer: unknown part '", part, "' (speech, text, s2i, s2t, t2s, t2i)");
  }
  return nn::unpack_sequences(be_, y, s, static_cast<std::size_t>(dim));
}

void Model::save(ArchiveWriter& out, const std::string& extra_options) {
  out.write_text("options", opts_.to_text() + extra_options);
  nn::save_parameters(out, parameters());
}

std::unique_ptr<Model> Model::load(Backend& be, const std::vector<Record>& stored,
                                   const std::string& where) {
  // A quantized model (sb-tensor quantize; io/quantize.h) is made f32 here,
  // once: everything after this sees the parameters as sb-train wrote them.
  std::vector<Record> dequantized;
  if (has_quantized_records(stored)) dequantized = dequantize_records(stored, where);
  const std::vector<Record>& records = dequantized.empty() ? stored : dequantized;
  const Record* opt = nullptr;
  for (const auto& r : records)
    if (r.key == "options") opt = &r;
  if (!opt) fail(where, ": not an sb model (no 'options' record)");
  if (opt->tensor.dtype() != DType::Text) fail(where, ": record 'options' is not text");
  auto o = ModelOptions::from_text(opt->tensor.as_text(), where);
  try {
    o.validate();
    check_layout(o);
  } catch (const UsageError& e) {
    fail(where, ": options record: ", e.what());
  }
  // Every parameter record is checked against the options before anything
  // is allocated: the memory a file makes us use is bounded by its bytes.
  std::map<std::string_view, const Record*> by_key;
  for (const auto& r : records) by_key[r.key] = &r;
  const auto expected = parameter_shapes(o);
  std::set<std::string_view> names;
  for (const auto& p : expected) {
    names.insert(p.name);
    const auto it = by_key.find(p.name);
    if (it == by_key.end()) fail(where, ": parameter ", p.name, " is missing");
    const Tensor& t = it->second->tensor;
    if (t.dtype() != DType::F32) fail(where, ": parameter ", p.name, ": expected f32, got ", dtype_name(t.dtype()));
    if (t.shape() != p.shape)
      fail(where, ": parameter ", p.name, ": shape ", t.shape_string(), ", but the options record implies ",
           shape_text(p.shape));
    const float* v = t.f32();
    for (std::size_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(v[i])) fail(where, ": parameter ", p.name, ": element ", i, " is ", v[i]);
  }
  // A record named like a parameter that this model does not have means the
  // file and its options disagree (checkpoints add optimiser and generator
  // records, under other names).
  static constexpr std::string_view kParts[] = {"speech.", "text.", "s2i.", "s2t.", "t2s.", "t2i.", "i2s.", "i2t."};
  for (const auto& r : records)
    for (std::string_view part : kParts)
      if (std::string_view(r.key).substr(0, part.size()) == part && !names.count(r.key))
        fail(where, ": record '", r.key, "' is not a parameter of this model (tasks ", o.tasks.str(),
             ", layers ", o.layers.str(), ")");
  std::unique_ptr<Model> m;
  try {
    m = std::make_unique<Model>(be, o, 0);
  } catch (const UsageError& e) {
    fail(where, ": options record: ", e.what());
  }
  try {
    nn::load_parameters(records, m->parameters());
  } catch (const Error& e) {
    fail(where, ": ", e.what());
  }
  return m;
}

}  // namespace sb::model
